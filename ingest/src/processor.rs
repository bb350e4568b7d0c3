//! Turning logged deliveries into events. A batch of deliveries is read into work items
//! (messages and status reports); items of one customer on one account run in delivery
//! order, different customers in parallel. Every command carries the delivery's id as its
//! causation. Reprocessing is harmless (everything is idempotent), so a delivery whose
//! processing failed for a passing reason is simply tried again later. While deliveries are
//! arriving, the processor works narrowly and rests as long as each batch took ([`Arrivals`]):
//! the receivers keep their latency, processing goes on at a lower pace, and the log absorbs
//! a burst until it passes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use futures_util::stream::{self, StreamExt};
use omnistream_commands::inbound::{self, Author, ChannelMessage, EmailThreading, Identity};
use omnistream_commands::wa_templates as template_commands;
use omnistream_commands::{claims, CommandBus, CommandContext, CommandError, Scope};
use omnistream_domain::conversation::{
    Conversation, ConversationCommand, DeliveryStatus, MessageBody, MessageType, ProviderAttachment, MAX_TEXT_CHARS,
};
use omnistream_domain::wa_template::{TemplateStatus, WaTemplateStatusChanged};
use omnistream_domain::{Actor, DomainError};
use omnistream_projections::channels::templates;
use omnistream_projections::TenantScope;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::accounts::{Accounts, RoutedAccount};
use crate::arrivals::Arrivals;
use crate::deliveries::{self, ClaimedDelivery, Finished, Outcome, Source};
use crate::postmark::InboundEmail;
use crate::{instagram, mailgun, postmark, sendgrid, whatsapp};

/// Parallel lanes while deliveries are arriving.
const BUSY_LANES: usize = 4;
/// The longest pause between batches while deliveries are arriving.
const MAX_YIELD: Duration = Duration::from_millis(250);

/// Attempts before a delivery is given up as failed.
pub const MAX_ATTEMPTS: i32 = 10;

/// A status report on one of our messages.
#[derive(Debug, Clone)]
struct StatusReport {
    provider_message_id: String,
    status: DeliveryStatus,
    error: Option<String>,
    at: DateTime<Utc>,
}

/// Work items of one customer of one account, in delivery order, each with its delivery.
type Lane = Vec<(Uuid, Arc<RoutedAccount>, Work)>;

/// One thing to do for a delivery.
#[derive(Debug, Clone)]
enum Work {
    Message(Box<ChannelMessage>),
    Status(StatusReport),
    TemplateReview(whatsapp::TemplateReview),
    /// A change we keep in the log without acting on it (its `field`).
    Noted(String),
}

/// How one item ended.
enum Done {
    Recorded(inbound::Recorded),
    Status { matched: bool, changed: bool },
    Reviewed { templates: usize },
    Noted(String),
    Refused { item: String, reason: String },
}

/// The processor of logged deliveries.
#[derive(Clone)]
pub struct Processor {
    pool: PgPool,
    bus: CommandBus,
    accounts: Accounts,
    arrivals: Arc<Arrivals>,
    batch: i64,
    parallel: usize,
    /// Outcomes not recorded yet (the database went away): recorded first when it is back,
    /// rather than leaving those deliveries to wait out their lease.
    unrecorded: Arc<tokio::sync::Mutex<VecDeque<Finished>>>,
}

fn unix_seconds(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap_or_else(Utc::now)
}

fn clipped(text: Option<String>) -> Option<String> {
    let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())?;
    if text.chars().count() <= MAX_TEXT_CHARS {
        return Some(text);
    }
    let mut clipped: String = text.chars().take(MAX_TEXT_CHARS - 1).collect();
    clipped.push('…');
    Some(clipped)
}

fn media_type(kind: &str) -> MessageType {
    match kind {
        "image" | "sticker" => MessageType::Image,
        "video" => MessageType::Video,
        "audio" | "voice" => MessageType::Audio,
        _ => MessageType::Document,
    }
}

fn unsupported(raw: Value) -> MessageBody {
    MessageBody {
        message_type: MessageType::Unsupported,
        provider_payload: Some(raw),
        ..MessageBody::default()
    }
}

fn whatsapp_work(account: &RoutedAccount, body: &[u8]) -> Result<Vec<(String, Work)>, String> {
    let items = whatsapp::parse(body).map_err(|e| e.to_string())?;
    let mut work = Vec::new();
    for item in items {
        match item {
            whatsapp::Item::Message(m) if m.phone_number_id == account.routing_id => {
                let body = match m.content {
                    whatsapp::Content::Text(text) => MessageBody {
                        text: clipped(Some(text)),
                        ..MessageBody::default()
                    },
                    whatsapp::Content::Media {
                        kind,
                        media_id,
                        mime_type,
                        caption,
                    } => MessageBody {
                        message_type: media_type(&kind),
                        text: clipped(caption),
                        attachments: vec![ProviderAttachment {
                            kind,
                            provider_media_id: Some(media_id),
                            mime_type,
                            ..ProviderAttachment::default()
                        }],
                        ..MessageBody::default()
                    },
                    whatsapp::Content::Unsupported { raw, .. } => unsupported(raw),
                };
                work.push((
                    format!("wa:{}", m.wa_id),
                    Work::Message(Box::new(ChannelMessage {
                        provider_message_id: m.provider_message_id,
                        identity: Identity::WhatsappId(m.wa_id),
                        profile_name: m.profile_name,
                        author: Author::Customer,
                        body,
                        sent_at: unix_seconds(m.timestamp),
                        email: None,
                    })),
                ));
            }
            whatsapp::Item::Status(s) if s.phone_number_id == account.routing_id => {
                let status = match s.status.as_str() {
                    "sent" => DeliveryStatus::Sent,
                    "delivered" => DeliveryStatus::Delivered,
                    "read" => DeliveryStatus::Read,
                    "failed" => DeliveryStatus::Failed,
                    other => return Err(format!("unknown status {other:?}")),
                };
                let error = (!s.errors.is_empty()).then(|| {
                    s.errors
                        .iter()
                        .map(|e| {
                            let code = e.get("code").map(Value::to_string).unwrap_or_default();
                            let title = e.get("title").and_then(Value::as_str).unwrap_or("error");
                            format!("{code} {title}").trim().to_owned()
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                });
                work.push((
                    format!("status:{}", s.provider_message_id),
                    Work::Status(StatusReport {
                        provider_message_id: s.provider_message_id,
                        status,
                        error,
                        at: unix_seconds(s.timestamp),
                    }),
                ));
            }
            whatsapp::Item::TemplateReview(review)
                if account.business_account_id.as_deref() == Some(review.business_account_id.as_str()) =>
            {
                work.push((
                    format!("template:{}:{}", review.name, review.language),
                    Work::TemplateReview(review),
                ));
            }
            whatsapp::Item::AccountChange {
                business_account_id,
                field,
            } if account.business_account_id.as_deref() == Some(business_account_id.as_str()) => {
                work.push((format!("change:{field}"), Work::Noted(field)));
            }
            // Another account's item in a shared delivery: its own logged copy handles it.
            _ => {}
        }
    }
    Ok(work)
}

fn instagram_work(account: &RoutedAccount, body: &[u8]) -> Result<Vec<(String, Work)>, String> {
    let items = instagram::parse(body).map_err(|e| e.to_string())?;
    let mut work = Vec::new();
    for item in items.into_iter().filter(|i| i.account_id == account.routing_id) {
        let at = Utc
            .timestamp_millis_opt(item.timestamp_ms)
            .single()
            .unwrap_or_else(Utc::now);
        let key = format!("ig:{}", item.customer_id);
        let (provider_message_id, author, body) = match item.event {
            instagram::Event::Message {
                mid,
                direction,
                text,
                attachments,
            } => {
                let attachments: Vec<ProviderAttachment> = attachments
                    .into_iter()
                    .map(|(kind, url)| ProviderAttachment {
                        kind,
                        url,
                        ..ProviderAttachment::default()
                    })
                    .collect();
                let message_type = match (&text, attachments.first()) {
                    (None, Some(first)) => media_type(&first.kind),
                    _ => MessageType::Text,
                };
                let author = match direction {
                    instagram::Direction::Inbound => Author::Customer,
                    instagram::Direction::Echo => Author::Business,
                };
                let body = MessageBody {
                    message_type,
                    text: clipped(text),
                    attachments,
                    ..MessageBody::default()
                };
                (mid, author, body)
            }
            instagram::Event::Unsupported { kind, raw } => {
                if let Some(mid) = raw
                    .pointer("/read/mid")
                    .and_then(Value::as_str)
                    .filter(|_| kind == "read")
                {
                    // In the customer's lane: after an echo of the same delivery it reports on.
                    work.push((
                        key.clone(),
                        Work::Status(StatusReport {
                            provider_message_id: mid.to_owned(),
                            status: DeliveryStatus::Read,
                            error: None,
                            at,
                        }),
                    ));
                    continue;
                }
                // No id of its own: the same event redelivered hashes the same.
                let digest = hex::encode(Sha256::digest(raw.to_string().as_bytes()));
                (
                    format!("ig-{kind}:{}", &digest[..32]),
                    Author::Customer,
                    unsupported(raw),
                )
            }
        };
        work.push((
            key,
            Work::Message(Box::new(ChannelMessage {
                provider_message_id,
                identity: Identity::InstagramId(item.customer_id),
                profile_name: None,
                author,
                body,
                sent_at: at,
                email: None,
            })),
        ));
    }
    Ok(work)
}

fn email_work(email: InboundEmail, received_at: DateTime<Utc>) -> Vec<(String, Work)> {
    let attachments: Vec<ProviderAttachment> = email
        .attachments
        .into_iter()
        .map(|(name, content_type, _)| ProviderAttachment {
            kind: "file".into(),
            mime_type: Some(content_type),
            name: Some(name),
            ..ProviderAttachment::default()
        })
        .collect();
    let text = clipped(Some(email.text));
    let message_type = if text.is_none() && !attachments.is_empty() {
        MessageType::Document
    } else {
        MessageType::Text
    };
    vec![(
        format!("email:{}", email.from_email),
        Work::Message(Box::new(ChannelMessage {
            provider_message_id: email.message_id,
            identity: Identity::Email(email.from_email),
            profile_name: email.from_name,
            author: Author::Customer,
            body: MessageBody {
                message_type,
                text,
                attachments,
                ..MessageBody::default()
            },
            sent_at: received_at,
            email: Some(EmailThreading {
                subject: email.subject,
                in_reply_to: email.in_reply_to,
                references: email.references,
                mailbox_hash: email.mailbox_hash,
            }),
        })),
    )]
}

/// The work items of a delivery, each with the key of the customer it concerns.
async fn work_of(account: &RoutedAccount, delivery: &ClaimedDelivery) -> Result<Vec<(String, Work)>, String> {
    match Source::parse(&delivery.provider) {
        Some(Source::Whatsapp) => whatsapp_work(account, &delivery.body),
        Some(Source::Instagram) => instagram_work(account, &delivery.body),
        Some(Source::Postmark) => postmark::parse(&delivery.body)
            .map(|email| email_work(email, delivery.received_at))
            .map_err(|e| e.to_string()),
        Some(Source::Mailgun) => mailgun::parse(&delivery.body)
            .map(|d| email_work(d.email, delivery.received_at))
            .map_err(|e| e.to_string()),
        Some(Source::Sendgrid) => sendgrid::parse(&delivery.body, &delivery.content_type)
            .await
            .map(|email| email_work(email, delivery.received_at))
            .map_err(|e| e.to_string()),
        None => Err(format!("unknown provider {:?}", delivery.provider)),
    }
}

/// Whether an error may pass if the work is tried again.
fn passing(error: &CommandError) -> bool {
    !matches!(error, CommandError::Domain(_))
}

impl Processor {
    /// A processor of the deliveries in `pool`.
    pub fn new(pool: PgPool, bus: CommandBus, accounts: Accounts, arrivals: Arc<Arrivals>) -> Self {
        Self {
            pool,
            bus,
            accounts,
            arrivals,
            batch: 256,
            parallel: 16,
            unrecorded: Arc::default(),
        }
    }

    /// Processes deliveries until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let started = std::time::Instant::now();
            let idle = match self.process_batch().await {
                Ok(0) => true,
                // Deliveries are arriving: leave the cores to the receivers as long as the
                // batch took (a duty cycle: processing slows down, it never stops).
                Ok(_) if self.arrivals.busy() => {
                    tokio::time::sleep(started.elapsed().min(MAX_YIELD)).await;
                    false
                }
                Ok(_) => false,
                Err(error) => {
                    tracing::error!(%error, "webhook processing failed; retrying");
                    true
                }
            };
            if idle {
                tokio::select! {
                    _ = self.arrivals.next() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Claims and processes one batch of pending deliveries; answers how many it claimed.
    pub async fn process_batch(&self) -> Result<usize, sqlx::Error> {
        self.record_outcomes(Vec::new()).await?;
        let claimed = deliveries::claim(&self.pool, self.batch).await?;
        let count = claimed.len();
        let mut outcomes: HashMap<Uuid, Vec<Result<Done, CommandError>>> = HashMap::new();
        // Items of one customer of one account, in delivery order.
        let mut lanes: HashMap<(Uuid, String), Lane> = HashMap::new();
        let mut lane_order = Vec::new();
        let mut finished = Vec::new();
        for delivery in &claimed {
            let account = match self.accounts.by_id(delivery.tenant_id, delivery.account_id).await {
                Ok(Some(account)) => account,
                Ok(None) => {
                    finished.push(delivery.ended(Outcome::Failed {
                        error: "the account was disconnected before the delivery was processed".into(),
                    }));
                    continue;
                }
                Err(error) => {
                    finished.push(delivery.ended(self.retry(delivery, error.to_string())));
                    continue;
                }
            };
            match work_of(&account, delivery).await {
                Ok(items) => {
                    outcomes.insert(delivery.id, Vec::new());
                    for (customer, work) in items {
                        let lane = (delivery.account_id, customer);
                        let queue = lanes.entry(lane.clone()).or_default();
                        if queue.is_empty() {
                            lane_order.push(lane);
                        }
                        queue.push((delivery.id, account.clone(), work));
                    }
                }
                Err(error) => finished.push(delivery.ended(Outcome::Failed { error })),
            }
        }
        let results: Vec<Vec<(Uuid, Result<Done, CommandError>)>> = stream::iter(lane_order)
            .map(|lane| {
                let queue = lanes.remove(&lane).unwrap_or_default();
                async move {
                    let mut done = Vec::with_capacity(queue.len());
                    let mut items = queue.into_iter().peekable();
                    while let Some((delivery_id, account, work)) = items.next() {
                        let first = match work {
                            Work::Message(first) => first,
                            Work::Status(report) => {
                                let ctx = Self::context(delivery_id, &account);
                                done.push((delivery_id, self.track(&ctx, &account, report).await));
                                continue;
                            }
                            Work::TemplateReview(review) => {
                                let ctx = Self::context(delivery_id, &account);
                                done.push((delivery_id, self.review(&ctx, &account, review).await));
                                continue;
                            }
                            Work::Noted(field) => {
                                done.push((delivery_id, Ok(Done::Noted(field))));
                                continue;
                            }
                        };
                        // A delivery's chat messages from this customer go in one commit.
                        let mut group = vec![*first];
                        while let Some((next_delivery, _, Work::Message(next))) = items.peek() {
                            if *next_delivery != delivery_id || next.email.is_some() || group[0].email.is_some() {
                                break;
                            }
                            group.push((**next).clone());
                            items.next();
                        }
                        for result in self.record(delivery_id, &account, group).await {
                            done.push((delivery_id, result));
                        }
                    }
                    done
                }
            })
            .buffer_unordered(if self.arrivals.busy() {
                BUSY_LANES
            } else {
                self.parallel
            })
            .collect()
            .await;
        for (delivery_id, result) in results.into_iter().flatten() {
            outcomes.entry(delivery_id).or_default().push(result);
        }
        for delivery in &claimed {
            let Some(results) = outcomes.remove(&delivery.id) else {
                continue;
            };
            finished.push(delivery.ended(self.outcome(delivery, results)));
        }
        self.record_outcomes(finished).await?;
        Ok(count)
    }

    /// Records the outcomes left unrecorded before, then `finished`; what cannot be recorded
    /// now is kept for the next call.
    async fn record_outcomes(&self, finished: Vec<Finished>) -> Result<(), sqlx::Error> {
        let mut unrecorded = self.unrecorded.lock().await;
        unrecorded.extend(finished);
        while let Some(next) = unrecorded.front() {
            deliveries::finish(&self.pool, next).await?;
            unrecorded.pop_front();
        }
        Ok(())
    }

    fn retry(&self, delivery: &ClaimedDelivery, error: String) -> Outcome {
        if delivery.attempts >= MAX_ATTEMPTS {
            return Outcome::Failed { error };
        }
        let delay = Duration::from_secs(2u64.saturating_pow(delivery.attempts as u32).min(600));
        Outcome::Retry { error, delay }
    }

    fn outcome(&self, delivery: &ClaimedDelivery, results: Vec<Result<Done, CommandError>>) -> Outcome {
        let (mut messages, mut duplicates, mut statuses, mut unmatched) = (0, 0, 0, 0);
        let (mut reviewed, mut noted) = (0, Vec::new());
        let mut refused = Vec::new();
        let mut subjects = Vec::new();
        for result in results {
            match result {
                Ok(Done::Recorded(recorded)) => {
                    if recorded.new {
                        messages += 1;
                    } else {
                        duplicates += 1;
                    }
                    if !subjects.contains(&recorded.contact_id) {
                        subjects.push(recorded.contact_id);
                    }
                }
                Ok(Done::Status { matched: false, .. }) => unmatched += 1,
                Ok(Done::Status { changed, .. }) => statuses += u32::from(changed),
                Ok(Done::Reviewed { templates }) => reviewed += templates,
                Ok(Done::Noted(field)) => noted.push(field),
                Ok(Done::Refused { item, reason }) => refused.push(json!({"item": item, "reason": reason})),
                Err(error) => return self.retry(delivery, error.to_string()),
            }
        }
        Outcome::Processed {
            summary: json!({
                "messages": messages,
                "duplicates": duplicates,
                "statuses": statuses,
                "unmatched_statuses": unmatched,
                "templates_reviewed": reviewed,
                "changes_not_acted_on": noted,
                "refused": refused,
            }),
            subjects,
        }
    }

    fn context(delivery_id: Uuid, account: &RoutedAccount) -> CommandContext {
        CommandContext {
            scope: Scope::Tenant(account.account.tenant_id),
            actor: Actor::provider(account.account.id),
            request_id: None,
            command_id: delivery_id,
        }
    }

    /// Records a delivery's messages of one customer together; should the domain refuse the
    /// group, each is recorded on its own so that only the bad one is refused.
    async fn record(
        &self,
        delivery_id: Uuid,
        account: &RoutedAccount,
        group: Vec<ChannelMessage>,
    ) -> Vec<Result<Done, CommandError>> {
        let ctx = Self::context(delivery_id, account);
        match inbound::record_all(&self.bus, &ctx, &account.account, &group).await {
            Ok(recorded) => return recorded.into_iter().map(|r| Ok(Done::Recorded(r))).collect(),
            Err(error) if passing(&error) => return vec![Err(error)],
            Err(_) if group.len() > 1 => {}
            Err(error) => {
                return vec![Ok(Done::Refused {
                    item: group[0].provider_message_id.clone(),
                    reason: error.to_string(),
                })]
            }
        }
        let mut results = Vec::with_capacity(group.len());
        for message in group {
            results.push(
                match inbound::record(&self.bus, &ctx, &account.account, &message).await {
                    Ok(recorded) => Ok(Done::Recorded(recorded)),
                    Err(error) if !passing(&error) => Ok(Done::Refused {
                        item: message.provider_message_id,
                        reason: error.to_string(),
                    }),
                    Err(error) => Err(error),
                },
            );
        }
        results
    }

    /// Records Meta's review on the tenant's templates of that name and language.
    async fn review(
        &self,
        ctx: &CommandContext,
        account: &RoutedAccount,
        review: whatsapp::TemplateReview,
    ) -> Result<Done, CommandError> {
        let status = match review.event.as_str() {
            "APPROVED" => TemplateStatus::Approved,
            "PENDING" | "IN_APPEAL" | "PENDING_DELETION" => TemplateStatus::Pending,
            _ => TemplateStatus::Rejected,
        };
        let reason = match (status, review.reason) {
            (TemplateStatus::Rejected, Some(reason)) => Some(format!("{}: {reason}", review.event)),
            (TemplateStatus::Rejected, None) => Some(review.event.clone()),
            (_, reason) => reason,
        };
        let scope = TenantScope::new(account.account.tenant_id);
        let ids = templates::under_review(
            &self.pool,
            scope,
            &review.business_account_id,
            &review.name,
            &review.language,
        )
        .await
        .map_err(|e| CommandError::Storage(e.to_string()))?;
        for id in &ids {
            let change = WaTemplateStatusChanged {
                status,
                reason: reason.clone(),
            };
            template_commands::set_status(&self.bus, ctx, *id, change).await?;
        }
        Ok(Done::Reviewed { templates: ids.len() })
    }

    async fn track(
        &self,
        ctx: &CommandContext,
        account: &RoutedAccount,
        report: StatusReport,
    ) -> Result<Done, CommandError> {
        let key = format!("{}:{}", account.account.id, report.provider_message_id);
        let claim = claims::tenant_value(&self.bus, account.account.tenant_id, "provider-message", &key).await?;
        let Some(conversation_id) = claim.state.owner else {
            return Ok(Done::Status {
                matched: false,
                changed: false,
            });
        };
        let command = ConversationCommand::TrackStatus {
            provider_message_id: report.provider_message_id,
            status: report.status,
            error: report.error,
            at: report.at,
        };
        match self.bus.execute::<Conversation>(ctx, conversation_id, command).await {
            Ok(executed) => Ok(Done::Status {
                matched: true,
                changed: executed.position.is_some(),
            }),
            Err(CommandError::Domain(DomainError::NotFound(_))) => Ok(Done::Status {
                matched: false,
                changed: false,
            }),
            Err(error) => Err(error),
        }
    }
}
