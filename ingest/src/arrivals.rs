//! What the receivers tell the processor of this process: that deliveries arrived (wake up)
//! and whether they are arriving right now (yield). Accepting has priority over processing:
//! during a burst the processor works narrowly, so the receivers keep their latency, and the
//! log absorbs the burst until it passes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// How recent an arrival makes the receivers count as busy.
const BUSY_WINDOW: Duration = Duration::from_millis(50);

/// Arrival signals between the receivers and the processor.
pub struct Arrivals {
    started: Instant,
    last_ms: AtomicU64,
    notify: Notify,
}

impl Default for Arrivals {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }
}

impl Arrivals {
    /// A delivery was logged.
    pub fn arrived(&self) {
        let now = self.started.elapsed().as_millis() as u64;
        self.last_ms.store(now.max(1), Ordering::Relaxed);
        self.notify.notify_one();
    }

    /// Waits for the next arrival.
    pub async fn next(&self) {
        self.notify.notified().await;
    }

    /// Whether deliveries are arriving right now.
    pub fn busy(&self) -> bool {
        let last = self.last_ms.load(Ordering::Relaxed);
        last > 0 && self.started.elapsed().as_millis() as u64 <= last + BUSY_WINDOW.as_millis() as u64
    }
}
