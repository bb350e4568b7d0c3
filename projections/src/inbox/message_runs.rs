//! Batched message writes: the message events of a batch are written with one insert and one
//! conversation update, instead of two statements per message. Events that must see those
//! writes first (a read, an erasure, any other change of the same conversation) flush the run.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use omnistream_domain::conversation::{ConversationEvent, MessageBody};
use omnistream_store::RecordedEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use super::conversations::{preview, type_name};
use super::{entity_id, tenant};
use crate::ProjectionError;

/// What the run's messages change in one conversation row.
struct Delta {
    last_id: Uuid,
    preview: String,
    direction: &'static str,
    at: DateTime<Utc>,
    count: i32,
    inbound: i32,
    last_inbound_at: Option<DateTime<Utc>>,
    version: i64,
}

/// Message rows waiting to be written, column by column, and their conversations' deltas.
#[derive(Default)]
pub(crate) struct MessageRun {
    id: Vec<Uuid>,
    tenant_id: Vec<Uuid>,
    conversation_id: Vec<Uuid>,
    position: Vec<i64>,
    direction: Vec<&'static str>,
    message_type: Vec<&'static str>,
    text: Vec<Option<String>>,
    media_ids: Vec<String>,
    attachments: Vec<serde_json::Value>,
    reply_to: Vec<Option<Uuid>>,
    status: Vec<&'static str>,
    author: Vec<Option<Uuid>>,
    quick_reply: Vec<Option<Uuid>>,
    provider: Vec<Option<String>>,
    first_response: Vec<bool>,
    created_at: Vec<DateTime<Utc>>,
    deltas: HashMap<Uuid, Delta>,
}

/// A message event's fields that differ by direction.
struct Side<'a> {
    id: Uuid,
    /// When the customer wrote it (inbound only): the window runs from there.
    received_at: Option<DateTime<Utc>>,
    body: &'a MessageBody,
    direction: &'static str,
    status: &'static str,
    author: Option<Uuid>,
    quick_reply: Option<Uuid>,
    provider: Option<String>,
    first_response: bool,
}

impl MessageRun {
    /// Whether the run holds messages of this conversation.
    pub(crate) fn touches(&self, conversation_id: Uuid) -> bool {
        self.deltas.contains_key(&conversation_id)
    }

    /// Takes a message event into the run; answers false for any other event.
    pub(crate) fn take(&mut self, event: &RecordedEvent, e: &ConversationEvent) -> Result<bool, ProjectionError> {
        let side = match e {
            ConversationEvent::MessageReceived(m) => Side {
                id: m.message_id,
                received_at: Some(m.received_at),
                body: &m.body,
                direction: "inbound",
                status: "received",
                author: None,
                quick_reply: None,
                provider: m.provider_message_id.clone(),
                first_response: false,
            },
            ConversationEvent::MessageQueued(m) => Side {
                id: m.message_id,
                received_at: None,
                body: &m.body,
                direction: "outbound",
                status: "queued",
                author: m.author_agent_id,
                quick_reply: m.quick_reply_id,
                provider: None,
                first_response: m.first_response,
            },
            ConversationEvent::MessageEchoed(m) => Side {
                id: m.message_id,
                received_at: None,
                body: &m.body,
                direction: "outbound",
                status: "sent",
                author: None,
                quick_reply: None,
                provider: Some(m.provider_message_id.clone()),
                first_response: false,
            },
            _ => return Ok(false),
        };
        let conversation_id = entity_id(event)?;
        self.id.push(side.id);
        self.tenant_id.push(tenant(event)?);
        self.conversation_id.push(conversation_id);
        self.position.push(event.position);
        self.direction.push(side.direction);
        self.message_type.push(type_name(side.body.message_type));
        self.text.push(side.body.text.clone());
        let media: Vec<String> = side.body.media_ids.iter().map(Uuid::to_string).collect();
        self.media_ids.push(format!("{{{}}}", media.join(",")));
        self.attachments
            .push(serde_json::to_value(&side.body.attachments).unwrap_or_default());
        self.reply_to.push(side.body.reply_to_message_id);
        self.status.push(side.status);
        self.author.push(side.author);
        self.quick_reply.push(side.quick_reply);
        self.provider.push(side.provider);
        self.first_response.push(side.first_response);
        self.created_at.push(event.recorded_at);
        let delta = self.deltas.entry(conversation_id).or_insert(Delta {
            last_id: side.id,
            preview: String::new(),
            direction: side.direction,
            at: event.recorded_at,
            count: 0,
            inbound: 0,
            last_inbound_at: None,
            version: event.version,
        });
        delta.last_id = side.id;
        delta.preview = preview(side.body);
        delta.direction = side.direction;
        delta.at = event.recorded_at;
        delta.count += 1;
        delta.version = event.version;
        if let Some(received_at) = side.received_at {
            delta.inbound += 1;
            delta.last_inbound_at = Some(delta.last_inbound_at.map_or(received_at, |at| at.max(received_at)));
        }
        Ok(true)
    }

    /// Writes the run: one insert of its messages, one update of their conversations.
    pub(crate) async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if self.id.is_empty() {
            return Ok(());
        }
        let run = std::mem::take(self);
        sqlx::query(
            "INSERT INTO messages (id, tenant_id, conversation_id, position, direction, message_type, text, media_ids, \
             reply_to_message_id, status, author_agent_id, quick_reply_id, provider_message_id, first_response, created_at, \
             attachments) \
             SELECT id, tenant_id, conversation_id, position, direction, message_type, text, media::uuid[], reply_to, \
                    status, author, quick_reply, provider, first_response, created_at, attachments \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int8[], $5::text[], $6::text[], $7::text[], $8::text[], \
                         $9::uuid[], $10::text[], $11::uuid[], $12::uuid[], $13::text[], $14::bool[], $15::timestamptz[], \
                         $16::jsonb[]) \
               AS t(id, tenant_id, conversation_id, position, direction, message_type, text, media, reply_to, status, \
                    author, quick_reply, provider, first_response, created_at, attachments) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&run.id)
        .bind(&run.tenant_id)
        .bind(&run.conversation_id)
        .bind(&run.position)
        .bind(&run.direction)
        .bind(&run.message_type)
        .bind(&run.text)
        .bind(&run.media_ids)
        .bind(&run.reply_to)
        .bind(&run.status)
        .bind(&run.author)
        .bind(&run.quick_reply)
        .bind(&run.provider)
        .bind(&run.first_response)
        .bind(&run.created_at)
        .bind(&run.attachments)
        .execute(&mut *conn)
        .await?;
        let mut ids = Vec::with_capacity(run.deltas.len());
        let (mut last, mut previews, mut directions, mut ats) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut counts, mut inbounds, mut inbound_ats, mut versions) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (id, d) in run.deltas {
            ids.push(id);
            last.push(d.last_id);
            previews.push(d.preview);
            directions.push(d.direction);
            ats.push(d.at);
            counts.push(d.count);
            inbounds.push(d.inbound);
            inbound_ats.push(d.last_inbound_at);
            versions.push(d.version);
        }
        sqlx::query(
            "UPDATE conversations c SET last_message_id = d.last_id, last_message_preview = d.preview, \
             last_message_direction = d.direction, last_message_at = d.at, last_activity_at = d.at, \
             messages_count = c.messages_count + d.count, unread_count = c.unread_count + d.inbound, \
             last_inbound_at = greatest(d.last_inbound_at, c.last_inbound_at), updated_at = d.at, version = d.version, \
             window_expired_at = CASE WHEN d.inbound > 0 THEN NULL ELSE c.window_expired_at END \
             FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::int4[], $7::int4[], \
                         $8::timestamptz[], $9::int8[]) \
               AS d(id, last_id, preview, direction, at, count, inbound, last_inbound_at, version) \
             WHERE c.id = d.id",
        )
        .bind(&ids)
        .bind(&last)
        .bind(&previews)
        .bind(&directions)
        .bind(&ats)
        .bind(&counts)
        .bind(&inbounds)
        .bind(&inbound_ats)
        .bind(&versions)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
