//! How many rows a text search is likely to match, from PostgreSQL's statistics of the two
//! search indexes (the most common lexemes of `contacts.search` and `messages.search`, which
//! `ANALYZE` keeps), so that a search can start the cheaper way: a word most conversations
//! have fills its first page from the most recent conversations, a rare one is looked up in
//! the indexes straight away.

use std::cmp::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::contact_search;
use crate::ProjectionError;

/// How long loaded statistics are used before they are read again.
const REFRESH_AFTER: Duration = Duration::from_secs(60);

/// Prefixes shorter than this may start any number of rare lexemes (phone tails, numbers),
/// which the most common lexemes say nothing about: they count as common.
const MIN_TELLING_PREFIX: usize = 4;

/// Below this many estimated matches a search goes to the indexes first.
const FEW_MATCHES: f64 = 2_000.0;

/// One search column's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
struct ColumnStatistics {
    /// Rows of the table.
    rows: f64,
    /// The most common lexemes with the share of rows holding each, sorted by lexeme.
    common: Vec<(String, f64)>,
}

impl ColumnStatistics {
    /// The share of rows holding a lexeme (or, for a prefix, any lexeme starting with it);
    /// a lexeme not among the most common counts as held by none.
    fn share(&self, term: &str, prefix: bool) -> f64 {
        if prefix {
            if term.chars().count() < MIN_TELLING_PREFIX {
                return 1.0;
            }
            let start = self.common.partition_point(|(lexeme, _)| lexeme.as_str() < term);
            self.common[start..]
                .iter()
                .take_while(|(lexeme, _)| lexeme.starts_with(term))
                .map(|(_, share)| share)
                .sum::<f64>()
                .min(1.0)
        } else {
            self.common
                .binary_search_by(|(lexeme, _)| lexeme.as_str().cmp(term))
                .map_or(0.0, |i| self.common[i].1)
        }
    }

    /// Rows holding every term (at most those of the rarest).
    /// No terms match nothing.
    fn matches<'a>(&self, terms: impl Iterator<Item = (&'a str, bool)>) -> f64 {
        terms
            .map(|(term, prefix)| self.share(term, prefix))
            .reduce(f64::min)
            .map_or(0.0, |share| share * self.rows)
    }

    /// The term the fewest rows hold, a whole word before a prefix when they tie (an exact
    /// lookup reads one posting list, a prefix all those it starts).
    fn rarest<'a>(&self, terms: &'a [(String, bool)]) -> Option<&'a (String, bool)> {
        terms.iter().min_by(|a, b| {
            // Not `total_cmp`: an empty sum is -0.0, which must tie with 0.0.
            self.share(&a.0, a.1)
                .partial_cmp(&self.share(&b.0, b.1))
                .unwrap_or(Ordering::Equal)
                .then(a.1.cmp(&b.1))
        })
    }
}

/// The contacts matching `terms` and the messages having the words of `text`, by the two
/// columns' statistics.
fn estimate(contacts: &ColumnStatistics, messages: &ColumnStatistics, terms: &[(String, bool)], text: &str) -> f64 {
    let words: Vec<String> = contact_search::words(text).collect();
    contacts.matches(terms.iter().map(|(term, prefix)| (term.as_str(), *prefix)))
        + messages.matches(words.iter().map(|w| (w.as_str(), false)))
}

#[derive(Debug)]
struct Loaded {
    at: Instant,
    /// Contacts' and messages' statistics; `None` while either table was never analyzed.
    columns: Option<(ColumnStatistics, ColumnStatistics)>,
}

/// The search indexes' statistics, read from PostgreSQL at most once a minute per process.
#[derive(Debug, Default)]
pub struct SearchStatistics {
    loaded: Mutex<Option<Arc<Loaded>>>,
    loading: tokio::sync::Mutex<()>,
}

impl SearchStatistics {
    /// For a search that likely matches few contacts and messages, the term its contacts are
    /// looked up by, with whether it is a prefix: the rarest of its terms. The others are
    /// checked on the contacts that one finds, since intersecting a lexeme every contact
    /// has (`customer`) in the index costs more than checking it on a few rows. `None` when
    /// the search likely matches many, or nothing is known yet (tables never analyzed, or
    /// being read by another request).
    pub async fn rare_lookup(&self, pool: &PgPool, text: &str) -> Option<(String, bool)> {
        let loaded = self.current(pool).await?;
        let (contacts, messages) = loaded.columns.as_ref()?;
        let terms = contact_search::terms(text);
        if estimate(contacts, messages, &terms, text) >= FEW_MATCHES {
            return None;
        }
        contacts.rarest(&terms).cloned()
    }

    /// The contacts and messages a search for this text likely matches, in all; `None` when
    /// nothing is known yet.
    pub async fn estimated_matches(&self, pool: &PgPool, text: &str) -> Option<f64> {
        let loaded = self.current(pool).await?;
        let (contacts, messages) = loaded.columns.as_ref()?;
        Some(estimate(contacts, messages, &contact_search::terms(text), text))
    }

    async fn current(&self, pool: &PgPool) -> Option<Arc<Loaded>> {
        let held = self.loaded.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if held.as_ref().is_some_and(|l| l.at.elapsed() < REFRESH_AFTER) {
            return held;
        }
        // One request reads them again; the others go on with what there is. Before the first
        // read there is nothing to go on with, and without statistics every search takes the
        // slow way: a freshly started service's first burst of searches (hundreds at once)
        // waits for that read (milliseconds) instead.
        let _loading = match self.loading.try_lock() {
            Ok(loading) => loading,
            Err(_) if held.is_some() => return held,
            Err(_) => {
                let _waited = self.loading.lock().await;
                return self.loaded.lock().unwrap_or_else(PoisonError::into_inner).clone();
            }
        };
        match load(pool).await {
            Ok(columns) => {
                let loaded = Arc::new(Loaded {
                    at: Instant::now(),
                    columns,
                });
                *self.loaded.lock().unwrap_or_else(PoisonError::into_inner) = Some(loaded.clone());
                Some(loaded)
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading the search indexes' statistics failed");
                held
            }
        }
    }
}

/// A search column's statistics as `pg_stats` and `pg_class` hold them.
#[derive(sqlx::FromRow)]
struct StatisticsRow {
    relation: String,
    rows: f64,
    /// `most_common_elems`.
    lexemes: Option<Vec<String>>,
    /// `most_common_elem_freqs` (one per lexeme, then three summary figures).
    shares: Option<Vec<f32>>,
}

/// Both columns' statistics, or `None` while either table has never been analyzed.
async fn load(pool: &PgPool) -> Result<Option<(ColumnStatistics, ColumnStatistics)>, ProjectionError> {
    let rows: Vec<StatisticsRow> = sqlx::query_as(
        "SELECT t.relname::text AS relation, t.reltuples::float8 AS rows, s.most_common_elems::text::text[] AS lexemes, \
         s.most_common_elem_freqs AS shares \
         FROM projection_state p \
         JOIN pg_namespace n ON n.nspname = p.schema_name \
         JOIN pg_class t ON t.relnamespace = n.oid AND t.relname IN ('contacts', 'messages') \
         JOIN pg_stats s ON s.schemaname = p.schema_name AND s.tablename = t.relname AND s.attname = 'search' \
         WHERE p.name = 'inbox'",
    )
    .fetch_all(pool)
    .await?;
    let column = |table: &str| {
        rows.iter().find(|row| row.relation == table).map(|row| {
            let shares = row.shares.iter().flatten().map(|&s| f64::from(s));
            let mut common: Vec<(String, f64)> = row.lexemes.iter().flatten().cloned().zip(shares).collect();
            common.sort_by(|a, b| a.0.cmp(&b.0));
            ColumnStatistics {
                rows: row.rows.max(0.0),
                common,
            }
        })
    };
    Ok(column("contacts").zip(column("messages")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column() -> ColumnStatistics {
        ColumnStatistics {
            rows: 1_000_000.0,
            common: vec![
                ("customer".into(), 1.0),
                ("invoice".into(), 0.2),
                ("invoices".into(), 0.1),
            ],
        }
    }

    #[test]
    fn a_common_lexeme_is_as_common_as_the_statistics_say() {
        let column = column();
        assert_eq!(column.share("customer", false), 1.0);
        assert_eq!(column.share("invoice", false), 0.2);
        assert_eq!(column.share("unlisted", false), 0.0);
    }

    #[test]
    fn a_prefix_sums_the_lexemes_it_starts_and_short_ones_count_as_common() {
        let column = column();
        assert!((column.share("invo", true) - 0.3).abs() < 1e-9);
        assert_eq!(column.share("4213", true), 0.0);
        assert_eq!(column.share("42", true), 1.0);
    }

    #[test]
    fn every_term_must_match_so_the_rarest_bounds_the_estimate() {
        let column = column();
        assert_eq!(column.matches([("customer", false), ("4213", true)].into_iter()), 0.0);
        assert_eq!(
            column.matches([("customer", false), ("inv", true)].into_iter()),
            1_000_000.0
        );
        assert_eq!(column.matches([("invoice", false)].into_iter()), 200_000.0);
    }

    #[test]
    fn the_rarest_term_is_looked_up_and_a_whole_word_wins_a_tie() {
        let column = column();
        let terms = |list: &[(&str, bool)]| -> Vec<(String, bool)> {
            list.iter()
                .map(|(term, prefix)| ((*term).to_owned(), *prefix))
                .collect()
        };
        let rarest = |list: &[(&str, bool)]| column.rarest(&terms(list)).cloned();
        assert_eq!(
            rarest(&[("customer", false), ("12345", true)]),
            Some(("12345".to_owned(), true))
        );
        assert_eq!(
            rarest(&[("customer", false), ("invoice", false), ("invo", true)]),
            Some(("invoice".to_owned(), false))
        );
        assert_eq!(
            rarest(&[("budi", false), ("san", true)]),
            Some(("budi".to_owned(), false))
        );
        assert_eq!(
            rarest(&[("4213", true), ("budi", false)]),
            Some(("budi".to_owned(), false))
        );
        assert_eq!(rarest(&[]), None);
    }
}
