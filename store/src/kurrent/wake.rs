//! Wake-ups: a subscription to `$all` from its end bumps a counter for every new event, with
//! a timer as the fallback (a dropped subscription is resubscribed, and readers are woken
//! meanwhile so they poll).

use std::time::Duration;

use kurrentdb::{Client, StreamPosition, SubscribeToAllOptions, SubscriptionEvent, SubscriptionFilter};
use tokio::sync::watch;

/// How long readers go without a wake-up when no event arrives.
const FALLBACK: Duration = Duration::from_secs(2);
/// The pause before subscribing again after the subscription failed.
const RESUBSCRIBE_DELAY: Duration = Duration::from_secs(1);

/// Starts the subscription task; it ends when every receiver is gone.
pub(super) fn spawn(client: Client) -> watch::Receiver<u64> {
    let (sender, receiver) = watch::channel(0u64);
    tokio::spawn(async move {
        let mut ticks = 0u64;
        let mut wake = |sender: &watch::Sender<u64>| {
            ticks = ticks.wrapping_add(1);
            sender.send(ticks).is_ok()
        };
        loop {
            let options = SubscribeToAllOptions::default()
                .position(StreamPosition::End)
                .filter(SubscriptionFilter::on_event_type().exclude_system_events());
            let mut subscription = client.subscribe_to_all(&options).await;
            loop {
                tokio::select! {
                    _ = sender.closed() => return,
                    event = subscription.next_subscription_event() => match event {
                        // Confirmed: events appended while there was no subscription are
                        // readable now too.
                        Ok(SubscriptionEvent::EventAppeared(_) | SubscriptionEvent::Confirmed(_)) => {
                            if !wake(&sender) {
                                return;
                            }
                        }
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(%error, "KurrentDB subscription dropped; polling until it is back");
                            break;
                        }
                    },
                    _ = tokio::time::sleep(FALLBACK) => {
                        if !wake(&sender) {
                            return;
                        }
                    }
                }
            }
            if !wake(&sender) {
                return;
            }
            tokio::select! {
                _ = sender.closed() => return,
                _ = tokio::time::sleep(RESUBSCRIBE_DELAY) => {}
            }
        }
    });
    receiver
}
