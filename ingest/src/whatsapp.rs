//! WhatsApp Cloud API webhook payloads: every entry, change, message and status of a
//! delivery, read into what the ingestor acts on. Types we do not handle yet are kept as
//! unsupported items (never dropped); a payload that is not a WhatsApp delivery is refused.

use serde::Deserialize;
use serde_json::Value;

use crate::payload::{meta_entries, PayloadError};

/// One thing a delivery reports, on a phone number or business account of ours.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A customer wrote.
    Message(InboundMessage),
    /// One of our messages moved on (sent, delivered, read, failed).
    Status(StatusUpdate),
    /// Meta reviewed one of the business account's templates.
    TemplateReview(TemplateReview),
    /// Another change of the business account (quality, account updates, ...): kept in the
    /// delivery log, not acted on.
    AccountChange {
        /// The WhatsApp business account id (the entry's id).
        business_account_id: String,
        /// The change's `field`.
        field: String,
    },
}

/// Meta's review of a message template (`message_template_status_update`).
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateReview {
    /// The WhatsApp business account id (the entry's id).
    pub business_account_id: String,
    /// The template's name.
    pub name: String,
    /// Its language code.
    pub language: String,
    /// `APPROVED`, `REJECTED`, `PENDING`, `PAUSED`, `DISABLED`, ...
    pub event: String,
    /// Meta's reason.
    pub reason: Option<String>,
}

/// A customer's message.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// Our number's id: the channel account.
    pub phone_number_id: String,
    /// The customer's WhatsApp id (their phone number).
    pub wa_id: String,
    /// The customer's profile name, when sent.
    pub profile_name: Option<String>,
    /// The provider's message id (`wamid...`): the dedupe key.
    pub provider_message_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// What it holds.
    pub content: Content,
}

/// A message's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Text.
    Text(String),
    /// Image, audio, video, document or sticker, fetched later by its media id.
    Media {
        /// `image`, `audio`, ...
        kind: String,
        /// Meta's media id.
        media_id: String,
        /// Its type.
        mime_type: Option<String>,
        /// Its caption.
        caption: Option<String>,
    },
    /// A type we do not handle yet (reaction, location, ...), kept whole.
    Unsupported {
        /// The `type` field.
        kind: String,
        /// The message as delivered.
        raw: Value,
    },
}

/// A delivery receipt for a message we sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// Our number's id.
    pub phone_number_id: String,
    /// The provider's id of our message.
    pub provider_message_id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The provider's errors, for `failed`.
    pub errors: Vec<Value>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    id: String,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: Option<String>,
    value: Value,
}

#[derive(Deserialize)]
struct TemplateStatusValue {
    event: String,
    message_template_name: String,
    message_template_language: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct ChangeValue {
    metadata: Metadata,
    #[serde(default)]
    contacts: Vec<ContactCard>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<RawStatus>,
}

#[derive(Deserialize)]
struct Metadata {
    phone_number_id: String,
}

#[derive(Deserialize)]
struct ContactCard {
    wa_id: String,
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawMessage {
    from: String,
    id: String,
    timestamp: String,
    #[serde(rename = "type")]
    kind: String,
    text: Option<TextBody>,
}

#[derive(Deserialize)]
struct TextBody {
    body: String,
}

#[derive(Deserialize)]
struct MediaBody {
    id: String,
    mime_type: Option<String>,
    caption: Option<String>,
}

#[derive(Deserialize)]
struct RawStatus {
    id: String,
    status: String,
    timestamp: String,
    #[serde(default)]
    errors: Vec<Value>,
}

fn seconds(raw: &str) -> Result<i64, PayloadError> {
    raw.parse()
        .map_err(|_| PayloadError::Malformed(format!("timestamp {raw:?} is not Unix seconds")))
}

const MEDIA_KINDS: &[&str] = &["image", "audio", "video", "document", "sticker"];

fn content(message: &RawMessage, raw: &Value) -> Result<Content, PayloadError> {
    if message.kind == "text" {
        let text = message
            .text
            .as_ref()
            .ok_or_else(|| PayloadError::Malformed("a text message without text".into()))?;
        return Ok(Content::Text(text.body.clone()));
    }
    if MEDIA_KINDS.contains(&message.kind.as_str()) {
        let body = raw
            .get(&message.kind)
            .cloned()
            .ok_or_else(|| PayloadError::Malformed(format!("a {} message without its media", message.kind)))?;
        let media: MediaBody = serde_json::from_value(body)?;
        return Ok(Content::Media {
            kind: message.kind.clone(),
            media_id: media.id,
            mime_type: media.mime_type,
            caption: media.caption,
        });
    }
    Ok(Content::Unsupported {
        kind: message.kind.clone(),
        raw: raw.clone(),
    })
}

/// Reads a delivery's raw body (already verified) into its items, in delivery order.
pub fn parse(raw_body: &[u8]) -> Result<Vec<Item>, PayloadError> {
    let entries: Vec<Entry> = meta_entries(raw_body, "whatsapp_business_account")?;
    let mut items = Vec::new();
    for (entry_id, change) in entries
        .into_iter()
        .flat_map(|e| e.changes.into_iter().map(move |c| (e.id.clone(), c)))
    {
        match change.field.as_deref().unwrap_or("messages") {
            "messages" => {}
            "message_template_status_update" => {
                let review: TemplateStatusValue = serde_json::from_value(change.value)?;
                items.push(Item::TemplateReview(TemplateReview {
                    business_account_id: entry_id,
                    name: review.message_template_name,
                    language: review.message_template_language,
                    event: review.event,
                    reason: review.reason.filter(|r| !r.is_empty() && r != "NONE"),
                }));
                continue;
            }
            other => {
                items.push(Item::AccountChange {
                    business_account_id: entry_id,
                    field: other.to_owned(),
                });
                continue;
            }
        }
        let value: ChangeValue = serde_json::from_value(change.value)?;
        let phone_number_id = value.metadata.phone_number_id;
        for raw in &value.messages {
            let message: RawMessage = serde_json::from_value(raw.clone())?;
            let profile_name = value
                .contacts
                .iter()
                .find(|c| c.wa_id == message.from)
                .and_then(|c| c.profile.as_ref())
                .and_then(|p| p.name.clone());
            items.push(Item::Message(InboundMessage {
                phone_number_id: phone_number_id.clone(),
                wa_id: message.from.clone(),
                profile_name,
                provider_message_id: message.id.clone(),
                timestamp: seconds(&message.timestamp)?,
                content: content(&message, raw)?,
            }));
        }
        for status in value.statuses {
            items.push(Item::Status(StatusUpdate {
                phone_number_id: phone_number_id.clone(),
                provider_message_id: status.id,
                status: status.status,
                timestamp: seconds(&status.timestamp)?,
                errors: status.errors,
            }));
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shapes of ../shared/reference/WEBHOOK-FORMATS.md.
    const MESSAGE: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
 "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
 "messages":[{"from":"16505551234","id":"wamid.HBgLMTY1","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}},
             {"from":"16505551234","id":"wamid.IMG","timestamp":"1749416390","type":"image","image":{"id":"1234","mime_type":"image/jpeg","sha256":"abc","caption":"this one"}},
             {"from":"16505551234","id":"wamid.REACT","timestamp":"1749416395","type":"reaction","reaction":{"message_id":"wamid.X","emoji":"👍"}}]}}]}]}"#;

    #[test]
    fn every_message_of_a_delivery_is_read() {
        let items = parse(MESSAGE.as_bytes()).unwrap();
        assert_eq!(items.len(), 3);
        let Item::Message(text) = &items[0] else {
            panic!("a message")
        };
        assert_eq!(text.phone_number_id, "106540352242922");
        assert_eq!(text.wa_id, "16505551234");
        assert_eq!(text.profile_name.as_deref(), Some("Sheena Nelson"));
        assert_eq!(text.provider_message_id, "wamid.HBgLMTY1");
        assert_eq!(text.timestamp, 1_749_416_383);
        assert_eq!(text.content, Content::Text("Does it come in another color?".into()));
        let Item::Message(image) = &items[1] else {
            panic!("a message")
        };
        assert_eq!(
            image.content,
            Content::Media {
                kind: "image".into(),
                media_id: "1234".into(),
                mime_type: Some("image/jpeg".into()),
                caption: Some("this one".into()),
            }
        );
        let Item::Message(reaction) = &items[2] else {
            panic!("a message")
        };
        assert!(
            matches!(&reaction.content, Content::Unsupported { kind, raw } if kind == "reaction" && raw["reaction"]["emoji"] == "👍")
        );
    }

    #[test]
    fn statuses_of_several_entries_are_read_in_order() {
        let body = r#"{"object":"whatsapp_business_account","entry":[
          {"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P1"},
            "statuses":[{"id":"wamid.A","status":"read","timestamp":"1750857390","recipient_id":"1"},
                        {"id":"wamid.A","status":"delivered","timestamp":"1750857384","recipient_id":"1"}]}}]},
          {"id":"2","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"P2"},
            "statuses":[{"id":"wamid.B","status":"failed","timestamp":"1750857400","recipient_id":"2",
                         "errors":[{"code":131047,"title":"Re-engagement message"}]}]}}]}]}"#;
        let items = parse(body.as_bytes()).unwrap();
        let statuses: Vec<(&str, &str, &str)> = items
            .iter()
            .map(|i| match i {
                Item::Status(s) => (
                    s.phone_number_id.as_str(),
                    s.provider_message_id.as_str(),
                    s.status.as_str(),
                ),
                other => panic!("a status, not {other:?}"),
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("P1", "wamid.A", "read"),
                ("P1", "wamid.A", "delivered"),
                ("P2", "wamid.B", "failed")
            ]
        );
        let Item::Status(failed) = &items[2] else {
            panic!("a status")
        };
        assert_eq!(failed.errors[0]["code"], 131047);
    }

    #[test]
    fn template_reviews_and_other_account_changes_are_read() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1750000000,"changes":[
          {"field":"message_template_status_update","value":{"event":"REJECTED","message_template_id":594425479261596,
           "message_template_name":"order_update","message_template_language":"en_US","reason":"INVALID_FORMAT"}},
          {"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED"}}]}]}"#;
        let items = parse(body).unwrap();
        assert_eq!(
            items[0],
            Item::TemplateReview(TemplateReview {
                business_account_id: "102290129340398".into(),
                name: "order_update".into(),
                language: "en_US".into(),
                event: "REJECTED".into(),
                reason: Some("INVALID_FORMAT".into()),
            })
        );
        assert_eq!(
            items[1],
            Item::AccountChange {
                business_account_id: "102290129340398".into(),
                field: "phone_number_quality_update".into()
            }
        );
    }

    #[test]
    fn what_is_not_a_whatsapp_delivery_is_refused() {
        assert!(matches!(parse(b"{not json"), Err(PayloadError::Malformed(_))));
        assert_eq!(
            parse(br#"{"object":"instagram","entry":[]}"#),
            Err(PayloadError::UnknownObject("instagram".into()))
        );
        let no_metadata =
            br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[]}}]}]}"#;
        assert!(matches!(parse(no_metadata), Err(PayloadError::Malformed(_))));
        let bad_time = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"P"},
            "messages":[{"from":"1","id":"w","timestamp":"yesterday","type":"text","text":{"body":"hi"}}]}}]}]}"#;
        assert!(matches!(parse(bad_time), Err(PayloadError::Malformed(_))));
        let text_without_body = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"metadata":{"phone_number_id":"P"},
            "messages":[{"from":"1","id":"w","timestamp":"1","type":"text"}]}}]}]}"#;
        assert!(matches!(parse(text_without_body), Err(PayloadError::Malformed(_))));
    }
}
