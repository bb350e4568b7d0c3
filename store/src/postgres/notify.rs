//! Wake-ups: LISTEN on the events channel, with a timer as the fallback when a
//! notification is lost (a dropped connection, a pooler that strips LISTEN).

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::StoreError;

/// The channel every append notifies, with the last position written as payload.
pub const EVENTS_CHANNEL: &str = "omnistream_events";

/// The channel of read-model change announcements, `"<read model> <tenant>,<tenant>…"` or
/// `"<read model> *"`: projections announce their batches there (`omnistream_projections::changes`),
/// and session revocations announce the `sessions` of their tenant.
pub const READ_MODELS_CHANNEL: &str = "omnistream_read_models";

pub(super) async fn spawn(pool: PgPool, poll_interval: Duration) -> Result<watch::Receiver<u64>, StoreError> {
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    let (sender, receiver) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut ticks = 0u64;
        loop {
            // A notification, or the poll interval passing without one: either way, wake.
            tokio::select! {
                notification = listener.try_recv() => {
                    if let Err(error) = notification {
                        tracing::warn!(%error, "event notifications interrupted; polling until they return");
                        tokio::time::sleep(poll_interval).await;
                    }
                }
                _ = tokio::time::sleep(poll_interval) => {}
            }
            ticks = ticks.wrapping_add(1);
            if sender.send(ticks).is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}
