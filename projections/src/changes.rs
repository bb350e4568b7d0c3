//! Which tenants' read models changed. Every batch a projection applies announces, in the
//! batch's own transaction, the tenants it touched (`NOTIFY omnistream_read_models`, which
//! PostgreSQL delivers on commit and only then); a [`ChangeFeed`] listens and keeps a stamp
//! per projection and tenant that moves with each announcement. An answer read from a
//! projection under one stamp is still the answer while the stamp has not moved: that is
//! what the API's query caches rely on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use omnistream_store::RecordedEvent;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::ProjectionError;

/// The channel of the announcements.
pub use omnistream_store::postgres::READ_MODELS_CHANNEL as CHANNEL;

/// What an announcement of every tenant says in place of the tenants' ids.
const EVERY_TENANT: &str = "*";

/// PostgreSQL refuses payloads of 8,000 bytes or more: past this, every tenant is announced.
const PAYLOAD_LIMIT: usize = 7_900;

/// Announces that `projection` changed the tenants of `events` (all of them when an event has
/// no tenant), delivered when `conn`'s transaction commits.
pub async fn announce(
    conn: &mut PgConnection,
    projection: &str,
    events: &[RecordedEvent],
) -> Result<(), ProjectionError> {
    let mut tenants: Vec<Uuid> = events.iter().filter_map(|e| e.tenant_id).collect();
    tenants.sort_unstable();
    tenants.dedup();
    let everyone = events.iter().any(|e| e.tenant_id.is_none());
    let payload = if everyone || projection.len() + 37 * tenants.len() >= PAYLOAD_LIMIT {
        format!("{projection} {EVERY_TENANT}")
    } else {
        let ids: Vec<String> = tenants.iter().map(Uuid::to_string).collect();
        format!("{projection} {}", ids.join(","))
    };
    notify(conn, &payload).await
}

/// Announces that `projection` changed for every tenant (a rebuild swapped its tables).
pub async fn announce_every_tenant(conn: &mut PgConnection, projection: &str) -> Result<(), ProjectionError> {
    notify(conn, &format!("{projection} {EVERY_TENANT}")).await
}

async fn notify(conn: &mut PgConnection, payload: &str) -> Result<(), ProjectionError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where the read models of one tenant stood: equal stamps, taken for the same projections
/// and tenant, mean that nothing announced a change in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The feed's connection generation.
    epoch: u64,
    /// The latest announcement that concerned the projections and the tenant.
    latest: u64,
}

/// Where the feed stood before a read whose tenant is only known once it is done (see
/// [`ChangeFeed::stamp_since`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    epoch: u64,
    sequence: u64,
}

/// The announcements of one projection.
#[derive(Default)]
struct Announced {
    /// The latest announcement for every tenant.
    every_tenant: u64,
    /// The latest announcement per tenant.
    tenants: HashMap<Uuid, u64>,
}

/// What the feed has heard.
#[derive(Default)]
struct Heard {
    /// Per projection.
    projections: HashMap<String, Announced>,
    /// Writes answered by this process, per tenant: they count for every projection.
    written: HashMap<Uuid, u64>,
}

struct Feed {
    /// Whether the LISTEN is in place: without it nothing is stamped.
    listening: AtomicBool,
    /// Moves on every (re)connection: announcements may have been missed in between.
    epoch: AtomicU64,
    /// Numbers the announcements; every stamp takes its `latest` from here.
    sequence: AtomicU64,
    heard: RwLock<Heard>,
}

/// Follows the announcements of every projection; cheap to clone.
#[derive(Clone)]
pub struct ChangeFeed(Arc<Feed>);

impl ChangeFeed {
    /// A feed that listens on `pool`'s database from a task of its own, reconnecting when the
    /// connection drops. Until it listens (and while it reconnects) [`ChangeFeed::stamp`]
    /// answers `None`.
    pub fn listen(pool: PgPool) -> Self {
        let feed = Self::idle();
        tokio::spawn(feed.clone().follow(pool));
        feed
    }

    /// A feed that never listens: every stamp is `None`.
    pub fn idle() -> Self {
        Self(Arc::new(Feed {
            listening: AtomicBool::new(false),
            epoch: AtomicU64::new(0),
            sequence: AtomicU64::new(0),
            heard: RwLock::new(Heard::default()),
        }))
    }

    /// Where `projections` stand for `tenant`; `None` while the feed is not listening.
    pub fn stamp(&self, projections: &[&str], tenant: Uuid) -> Option<Stamp> {
        let feed = &self.0;
        // The epoch is read before the flag: a reconnection in between moves the epoch, so
        // the stamp taken here cannot match one taken after it.
        let epoch = feed.epoch.load(Ordering::SeqCst);
        if !feed.listening.load(Ordering::SeqCst) {
            return None;
        }
        let heard = feed.heard.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let latest = projections
            .iter()
            .filter_map(|name| heard.projections.get(*name))
            .map(|a| a.every_tenant.max(a.tenants.get(&tenant).copied().unwrap_or(0)))
            .chain(heard.written.get(&tenant).copied())
            .max()
            .unwrap_or(0);
        Some(Stamp { epoch, latest })
    }

    /// Where the feed stands now; `None` while it is not listening.
    pub fn mark(&self) -> Option<Mark> {
        let epoch = self.0.epoch.load(Ordering::SeqCst);
        if !self.0.listening.load(Ordering::SeqCst) {
            return None;
        }
        Some(Mark {
            epoch,
            sequence: self.0.sequence.load(Ordering::SeqCst),
        })
    }

    /// The stamp of `projections` for `tenant`, if nothing concerning them was heard since
    /// `mark`: `None` otherwise, since a read begun at the mark may be older than the stamp.
    pub fn stamp_since(&self, mark: Mark, projections: &[&str], tenant: Uuid) -> Option<Stamp> {
        let stamp = self.stamp(projections, tenant)?;
        (stamp.epoch == mark.epoch && stamp.latest <= mark.sequence).then_some(stamp)
    }

    /// Counts a write of `tenant` that this process answered as a change of every projection,
    /// before its announcements arrive: a client that reads after its write's answer (which
    /// waited for the read model) never gets an answer cached before it. Other processes
    /// learn of it from the announcements (or `X-Min-Position`).
    pub fn written(&self, tenant: Uuid) {
        let n = self.0.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let mut heard = self.0.heard.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        heard.written.insert(tenant, n);
    }

    /// Records one announcement (`"<projection> <tenant>,<tenant>…"` or `"<projection> *"`).
    fn record(&self, payload: &str) {
        let feed = &self.0;
        let n = feed.sequence.fetch_add(1, Ordering::SeqCst) + 1;
        let (projection, tenants) = payload.split_once(' ').unwrap_or((payload, EVERY_TENANT));
        let mut heard = feed.heard.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = heard.projections.entry(projection.to_owned()).or_default();
        let ids: Option<Vec<Uuid>> = tenants.split(',').map(|id| Uuid::parse_str(id).ok()).collect();
        match ids {
            Some(ids) if tenants != EVERY_TENANT => {
                for id in ids {
                    entry.tenants.insert(id, n);
                }
            }
            // Every tenant, or a payload this build cannot read: then every tenant too.
            _ => entry.every_tenant = n,
        }
    }

    /// Marks the feed listening or not; either way the epoch moves.
    fn set_listening(&self, listening: bool) {
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
        self.0.listening.store(listening, Ordering::SeqCst);
    }

    async fn follow(self, pool: PgPool) {
        loop {
            match PgListener::connect_with(&pool).await {
                Ok(mut listener) => match listener.listen(CHANNEL).await {
                    Ok(()) => {
                        self.set_listening(true);
                        // `None`: the connection was lost; start over with a fresh one.
                        while let Ok(Some(notification)) = listener.try_recv().await {
                            self.record(notification.payload());
                        }
                        self.set_listening(false);
                        tracing::warn!(
                            "read-model announcements interrupted; query caches are bypassed until they return"
                        );
                    }
                    Err(error) => tracing::warn!(%error, "cannot listen for read-model announcements"),
                },
                Err(error) => tracing::warn!(%error, "cannot connect to listen for read-model announcements"),
            }
            if pool.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening() -> ChangeFeed {
        let feed = ChangeFeed::idle();
        feed.set_listening(true);
        feed
    }

    #[test]
    fn an_idle_feed_stamps_nothing() {
        assert_eq!(ChangeFeed::idle().stamp(&["inbox"], Uuid::nil()), None);
    }

    #[test]
    fn a_stamp_moves_only_with_its_own_projections_and_tenant() {
        let feed = listening();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let before = feed.stamp(&["inbox", "directory"], a);
        feed.record(&format!("inbox {b}"));
        feed.record(&format!("sla {a}"));
        assert_eq!(feed.stamp(&["inbox", "directory"], a), before);
        feed.record(&format!("directory {b},{a}"));
        let after = feed.stamp(&["inbox", "directory"], a);
        assert_ne!(after, before);
        feed.record("inbox *");
        assert_ne!(feed.stamp(&["inbox"], a), after);
        assert_ne!(feed.stamp(&["inbox"], b), feed.stamp(&["sla"], b));
    }

    #[test]
    fn a_write_answered_here_moves_every_stamp_of_its_tenant() {
        let feed = listening();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let (before_a, before_b) = (feed.stamp(&["inbox"], a), feed.stamp(&["sla"], b));
        feed.written(a);
        assert_ne!(feed.stamp(&["inbox"], a), before_a);
        assert_eq!(feed.stamp(&["sla"], b), before_b);
    }

    #[test]
    fn a_stamp_since_a_mark_needs_nothing_heard_in_between() {
        let feed = listening();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mark = feed.mark().expect("listening");
        feed.record(&format!("sessions {b}"));
        assert_eq!(feed.stamp_since(mark, &["sessions"], a), feed.stamp(&["sessions"], a));
        assert_eq!(feed.stamp_since(mark, &["sessions"], b), None);
        let mark = feed.mark().expect("listening");
        feed.set_listening(true);
        assert_eq!(feed.stamp_since(mark, &["sessions"], a), None, "reconnected in between");
    }

    #[test]
    fn an_unreadable_payload_counts_for_every_tenant() {
        let feed = listening();
        let a = Uuid::now_v7();
        let before = feed.stamp(&["inbox"], a);
        feed.record("inbox not-a-tenant");
        assert_ne!(feed.stamp(&["inbox"], a), before);
    }

    #[test]
    fn reconnecting_invalidates_every_stamp() {
        let feed = listening();
        let a = Uuid::now_v7();
        let before = feed.stamp(&["inbox"], a);
        feed.set_listening(false);
        assert_eq!(feed.stamp(&["inbox"], a), None);
        feed.set_listening(true);
        assert_ne!(feed.stamp(&["inbox"], a), before);
    }
}
