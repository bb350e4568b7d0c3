//! Instagram Messaging webhook payloads: every entry and messaging event of a delivery.
//! Echoes (`is_echo`: sent by the business from another tool) are outbound, never customer
//! messages. Events we do not handle yet (reads, reactions, postbacks, unsupported
//! messages) are kept as unsupported items.

use serde::Deserialize;
use serde_json::Value;

use crate::payload::{meta_entries, PayloadError};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The customer.
    Inbound,
    /// The business, from another tool (an echo).
    Echo,
}

/// One messaging event on an Instagram account of ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Our Instagram account id: the channel account.
    pub account_id: String,
    /// The customer's Instagram-scoped id (IGSID).
    pub customer_id: String,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// What happened.
    pub event: Event,
}

/// What a messaging event holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A message with text and/or attachments.
    Message {
        /// The provider's message id (`mid`): the dedupe key.
        mid: String,
        /// Customer or echo.
        direction: Direction,
        /// Its text.
        text: Option<String>,
        /// Attachments as (type, url).
        attachments: Vec<(String, Option<String>)>,
    },
    /// Anything else, kept whole.
    Unsupported {
        /// What it is (`read`, `reaction`, `deleted`, ...).
        kind: String,
        /// The messaging event as delivered.
        raw: Value,
    },
}

#[derive(Deserialize)]
struct Entry {
    id: String,
    #[serde(default)]
    messaging: Vec<Value>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Messaging {
    sender: Party,
    recipient: Party,
    timestamp: i64,
    message: Option<RawMessage>,
}

#[derive(Deserialize)]
struct RawMessage {
    mid: String,
    text: Option<String>,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(rename = "type")]
    kind: String,
    payload: Option<AttachmentPayload>,
}

#[derive(Deserialize)]
struct AttachmentPayload {
    url: Option<String>,
}

fn kind_of(raw: &Value) -> String {
    ["read", "reaction", "postback", "referral"]
        .into_iter()
        .find(|k| raw.get(k).is_some())
        .unwrap_or("unknown")
        .to_owned()
}

/// Reads a delivery's raw body (already verified) into its items, in delivery order.
pub fn parse(raw_body: &[u8]) -> Result<Vec<Item>, PayloadError> {
    let entries: Vec<Entry> = meta_entries(raw_body, "instagram")?;
    let mut items = Vec::new();
    for entry in entries {
        for raw in entry.messaging {
            let messaging: Messaging = serde_json::from_value(raw.clone())?;
            let echo = messaging.message.as_ref().is_some_and(|m| m.is_echo);
            // The business is the recipient of a customer's message and the sender of an echo.
            let (account_id, customer_id) = if echo {
                (messaging.sender.id, messaging.recipient.id)
            } else {
                (messaging.recipient.id, messaging.sender.id)
            };
            if account_id != entry.id {
                return Err(PayloadError::Malformed(format!(
                    "a messaging event for account {account_id} in the entry of {}",
                    entry.id
                )));
            }
            let event = match messaging.message {
                Some(message) if message.is_deleted || message.is_unsupported => Event::Unsupported {
                    kind: if message.is_deleted { "deleted" } else { "unsupported" }.to_owned(),
                    raw,
                },
                Some(message) => Event::Message {
                    mid: message.mid,
                    direction: if echo { Direction::Echo } else { Direction::Inbound },
                    text: message.text,
                    attachments: message
                        .attachments
                        .into_iter()
                        .map(|a| (a.kind, a.payload.and_then(|p| p.url)))
                        .collect(),
                },
                None => Event::Unsupported {
                    kind: kind_of(&raw),
                    raw,
                },
            };
            items.push(Item {
                account_id,
                customer_id,
                timestamp_ms: messaging.timestamp,
                event,
            });
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape of ../shared/reference/WEBHOOK-FORMATS.md, with an echo, an attachment and a
    // read receipt beside it.
    const DELIVERY: &str = r#"{"object":"instagram","entry":[{"id":"17841470026191358","time":1729604868526,"messaging":[
 {"sender":{"id":"6543219876543210"},"recipient":{"id":"17841470026191358"},"timestamp":1729604868365,
  "message":{"mid":"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDcwMDI2MTkxMzU4","text":"Is this still available?"}},
 {"sender":{"id":"17841470026191358"},"recipient":{"id":"6543219876543210"},"timestamp":1729604869000,
  "message":{"mid":"m_echo","text":"Yes it is","is_echo":true}},
 {"sender":{"id":"6543219876543210"},"recipient":{"id":"17841470026191358"},"timestamp":1729604870000,
  "message":{"mid":"m_photo","attachments":[{"type":"image","payload":{"url":"https://cdn.example/p.jpg"}}]}},
 {"sender":{"id":"6543219876543210"},"recipient":{"id":"17841470026191358"},"timestamp":1729604871000,
  "read":{"mid":"m_echo"}}]}]}"#;

    #[test]
    fn messages_echoes_and_other_events_are_all_read() {
        let items = parse(DELIVERY.as_bytes()).unwrap();
        assert_eq!(items.len(), 4);
        assert!(items
            .iter()
            .all(|i| i.account_id == "17841470026191358" && i.customer_id == "6543219876543210"));
        assert_eq!(
            items[0].event,
            Event::Message {
                mid: "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDcwMDI2MTkxMzU4".into(),
                direction: Direction::Inbound,
                text: Some("Is this still available?".into()),
                attachments: vec![],
            }
        );
        assert_eq!(items[0].timestamp_ms, 1_729_604_868_365);
        assert!(matches!(&items[1].event, Event::Message { direction: Direction::Echo, mid, .. } if mid == "m_echo"));
        assert!(matches!(&items[2].event, Event::Message { attachments, text: None, .. }
            if attachments == &vec![("image".to_owned(), Some("https://cdn.example/p.jpg".to_owned()))]));
        assert!(matches!(&items[3].event, Event::Unsupported { kind, .. } if kind == "read"));
    }

    #[test]
    fn deleted_and_unsupported_messages_are_kept_as_such() {
        let body = br#"{"object":"instagram","entry":[{"id":"A","messaging":[
          {"sender":{"id":"C"},"recipient":{"id":"A"},"timestamp":1,"message":{"mid":"m1","is_deleted":true}},
          {"sender":{"id":"C"},"recipient":{"id":"A"},"timestamp":2,"message":{"mid":"m2","is_unsupported":true}}]}]}"#;
        let kinds: Vec<String> = parse(body)
            .unwrap()
            .into_iter()
            .map(|i| match i.event {
                Event::Unsupported { kind, .. } => kind,
                Event::Message { .. } => "message".into(),
            })
            .collect();
        assert_eq!(kinds, vec!["deleted", "unsupported"]);
    }

    #[test]
    fn what_is_not_an_instagram_delivery_is_refused() {
        assert!(matches!(parse(b"[]"), Err(PayloadError::Malformed(_))));
        assert_eq!(
            parse(br#"{"object":"page","entry":[]}"#),
            Err(PayloadError::UnknownObject("page".into()))
        );
        let no_sender =
            br#"{"object":"instagram","entry":[{"id":"A","messaging":[{"recipient":{"id":"A"},"timestamp":1}]}]}"#;
        assert!(matches!(parse(no_sender), Err(PayloadError::Malformed(_))));
        let other_account = br#"{"object":"instagram","entry":[{"id":"A","messaging":[
          {"sender":{"id":"C"},"recipient":{"id":"B"},"timestamp":1,"message":{"mid":"m","text":"hi"}}]}]}"#;
        assert!(matches!(parse(other_account), Err(PayloadError::Malformed(_))));
    }
}
