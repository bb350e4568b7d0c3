//! Answers of read-model queries kept in memory for as long as the read models they were read
//! from have not changed for their tenant: each answer is stored with the [`Stamp`] its
//! projections had before it was read, and served again only while the [`ChangeFeed`] still
//! gives that stamp. Most inbox requests repeat between two changes (every agent's client
//! polls the same tabs and reopens the same conversations), so most are answered from here.
//!
//! What that means for consistency: a change is visible here once its announcement has
//! arrived (PostgreSQL delivers it on commit, a millisecond or so later); a reader that needs
//! its own write passes `X-Min-Position`, which reads the model itself. While the feed is not
//! listening, nothing is cached.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use omnistream_projections::changes::{ChangeFeed, Stamp};
use prometheus::{IntCounterVec, Opts, Registry};
use uuid::Uuid;

/// An answer's organization and its key within it.
type Key = (Uuid, String);

/// The requests reading one key: the reader holds it for writing, the waiting ones for reading.
type Line = Arc<tokio::sync::RwLock<()>>;

/// An answer with the stamp it was read under, until when it holds whatever the read models
/// say (an answer rendered with the time, such as a messaging window's state) and when it
/// was last served (a count).
struct Entry<V> {
    stamp: Stamp,
    answer: Arc<V>,
    until: Option<DateTime<Utc>>,
    used: u64,
}

#[derive(Default)]
struct Entries<V> {
    map: HashMap<Key, Entry<V>>,
    /// Counts lookups: the `used` clock.
    clock: u64,
}

/// `omnistream_query_cache_requests_total{cache, outcome}`: `hit`, `miss` (read and kept) or
/// `bypass` (read, not kept: the feed is not listening, or the cache is off).
pub fn register_metrics(registry: &Registry) -> prometheus::Result<IntCounterVec> {
    let requests = IntCounterVec::new(
        Opts::new(
            "omnistream_query_cache_requests_total",
            "Query cache lookups by outcome",
        ),
        &["cache", "outcome"],
    )?;
    registry.register(Box::new(requests.clone()))?;
    Ok(requests)
}

/// One kind of answer, read from `projections`.
pub struct QueryCache<V> {
    name: &'static str,
    feed: ChangeFeed,
    projections: &'static [&'static str],
    capacity: usize,
    entries: Mutex<Entries<V>>,
    /// Per key being read, the line of requests waiting for it.
    readers: Mutex<HashMap<Key, Line>>,
    requests: IntCounterVec,
}

impl<V> QueryCache<V> {
    /// The cache `name` of at most `capacity` answers (0: none) read from `projections`,
    /// counting its lookups in `requests` (see [`register_metrics`]).
    pub fn new(
        name: &'static str,
        feed: ChangeFeed,
        projections: &'static [&'static str],
        capacity: usize,
        requests: IntCounterVec,
    ) -> Self {
        Self {
            name,
            feed,
            projections,
            capacity,
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                clock: 0,
            }),
            readers: Mutex::new(HashMap::new()),
            requests,
        }
    }

    /// The answer for `key` in `tenant`: the kept one while its read models are unchanged
    /// (and until the instant `load` gave with it, if any), else `load`'s, then kept.
    /// Concurrent misses of one key wait for the first one's read, so that a popular answer
    /// that went stale is read once, not once per waiting request. With `fresh`, `load` runs whatever is kept
    /// (its answer replaces the kept one): for readers that waited for their own write.
    pub async fn get_or_load<E, F, Fut>(&self, tenant: Uuid, key: String, fresh: bool, load: F) -> Result<Arc<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(V, Option<DateTime<Utc>>), E>>,
    {
        let key = (tenant, key);
        if !fresh {
            if let Some(answer) = self.kept(&key) {
                self.count("hit");
                return Ok(answer);
            }
        }
        if self.capacity == 0 || self.stamp(tenant).is_none() {
            self.count("bypass");
            return load().await.map(|(answer, _)| Arc::new(answer));
        }
        let gate = self.gate(&key);
        // The first of concurrent misses reads; the others wait for its read to end and are
        // then all let go at once (not one after another: a line of hundreds, each woken by
        // the one before, took longer than the read itself) to look again.
        let answer = loop {
            if let Some(answer) = (!fresh).then(|| self.kept(&key)).flatten() {
                self.count("hit");
                break Ok(answer);
            }
            let Ok(_reading) = gate.try_write() else {
                drop(gate.read().await);
                continue;
            };
            // Stamped before reading: a change announced during the read outdates the answer.
            let stamp = self.stamp(tenant);
            self.count("miss");
            break match load().await {
                Ok((answer, until)) => {
                    let answer = Arc::new(answer);
                    if let Some(stamp) = stamp {
                        self.keep(key.clone(), stamp, answer.clone(), until);
                    }
                    Ok(answer)
                }
                Err(e) => Err(e),
            };
        };
        self.leave(&key, gate);
        answer
    }

    fn stamp(&self, tenant: Uuid) -> Option<Stamp> {
        self.feed.stamp(self.projections, tenant)
    }

    /// The kept answer for `key`, if its read models are unchanged.
    fn kept(&self, key: &Key) -> Option<Arc<V>> {
        let stamp = self.stamp(key.0)?;
        let mut entries = self.lock();
        entries.clock += 1;
        let now = entries.clock;
        let entry = entries
            .map
            .get_mut(key)
            .filter(|e| e.stamp == stamp && e.until.is_none_or(|until| until > Utc::now()))?;
        entry.used = now;
        Some(entry.answer.clone())
    }

    fn keep(&self, key: Key, stamp: Stamp, answer: Arc<V>, until: Option<DateTime<Utc>>) {
        let mut entries = self.lock();
        if entries.map.len() >= self.capacity && !entries.map.contains_key(&key) {
            self.evict(&mut entries);
        }
        let used = entries.clock;
        entries.map.insert(
            key,
            Entry {
                stamp,
                answer,
                until,
                used,
            },
        );
    }

    /// The line of requests reading `key`.
    fn gate(&self, key: &Key) -> Line {
        let mut readers = self.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        readers.entry(key.clone()).or_default().clone()
    }

    /// Leaves `key`'s line; the last one out removes it.
    fn leave(&self, key: &Key, gate: Line) {
        let mut readers = self.readers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Lines are only joined under this lock: the map's reference and ours are all.
        if Arc::strong_count(&gate) == 2 {
            readers.remove(key);
        }
    }

    /// Makes room: drops the answers whose read models changed, then the least recently
    /// served until a quarter of the room is free (so this runs once per many misses).
    fn evict(&self, entries: &mut Entries<V>) {
        let now = Utc::now();
        entries.map.retain(|(tenant, _), entry| {
            self.feed.stamp(self.projections, *tenant) == Some(entry.stamp)
                && entry.until.is_none_or(|until| until > now)
        });
        let keep = self.capacity - self.capacity / 4 - 1;
        if keep == 0 {
            entries.map.clear();
        } else if entries.map.len() > keep {
            let mut used: Vec<u64> = entries.map.values().map(|e| e.used).collect();
            let cut = used.len() - keep;
            let (_, &mut oldest_kept, _) = used.select_nth_unstable(cut);
            entries.map.retain(|_, entry| entry.used >= oldest_kept);
        }
    }

    /// How many answers are kept.
    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn count(&self, outcome: &str) {
        self.requests.with_label_values(&[self.name, outcome]).inc();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<V>> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
