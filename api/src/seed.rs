//! `omnistream seed`: fills a demo organization with contacts, conversations and messages
//! through the event store (batched appends, personal fields sealed like any write), for
//! demos and load tests. The service's projections then build the read models.

use std::sync::Arc;

use chrono::{Duration, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use omnistream_commands::registration::{self, Registration};
use omnistream_commands::{claims, CommandBus};
use omnistream_domain::claim::{ClaimEvent, ValueClaimed};
use omnistream_domain::contact::{ContactCreated, ContactEvent, ContactProfile};
use omnistream_domain::conversation::{
    Channel, ConversationAssigned, ConversationEvent, ConversationStarted, ConversationStatus,
    ConversationStatusChanged, ConversationTagsChanged, MessageBody, MessageQueued, MessageReceived, MessageType,
};
use omnistream_domain::{Actor, Aggregate, DomainEvent, Metadata};
use omnistream_store::{AppendRequest, EventStore, ExpectedVersion, NewEvent};
use sqlx::PgPool;
use uuid::Uuid;

/// What to seed.
#[derive(Debug, Clone)]
pub struct SeedPlan {
    /// The organization's name; its admin is `admin@<name>.seed.omnistream.test`.
    pub tenant: String,
    /// Conversations (each with its own contact).
    pub conversations: u64,
    /// Messages per conversation, alternating customer and agent.
    pub messages_per_conversation: u64,
    /// The admin's password.
    pub password: String,
}

/// What seeding did.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The organization.
    pub tenant_id: Uuid,
    /// The admin's login.
    pub admin_email: String,
    /// Events appended.
    pub events: u64,
}

const WORDS: &[&str] = &[
    "invoice", "refund", "delivery", "order", "payment", "address", "tracking", "package", "discount", "warranty",
    "password", "account", "upgrade", "cancel", "schedule", "pickup", "receipt", "promo", "return", "exchange",
];

fn text(i: u64, j: u64) -> String {
    let a = WORDS[((i * 7 + j * 3) % WORDS.len() as u64) as usize];
    let b = WORDS[((i * 13 + j * 5 + 1) % WORDS.len() as u64) as usize];
    format!("about my {a} and the {b}, reference {i}-{j}")
}

fn event<E: DomainEvent>(event: &E, metadata: &Metadata) -> NewEvent {
    NewEvent::from_domain(event, metadata.clone())
}

/// The organization to seed and its admin (id, login): found by the admin's login, or
/// registered.
async fn tenant(bus: &CommandBus, pool: &PgPool, plan: &SeedPlan) -> anyhow::Result<(Uuid, Uuid, String)> {
    let slug: String = plan
        .tenant
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let email = format!("admin@{slug}.seed.omnistream.test");
    let existing: Option<(Uuid, Uuid)> =
        sqlx::query_as("SELECT tenant_id, id FROM rm.agents WHERE email = $1 AND NOT deleted")
            .bind(&email)
            .fetch_optional(pool)
            .await?;
    if let Some((tenant_id, agent_id)) = existing {
        return Ok((tenant_id, agent_id, email));
    }
    let registration = Registration {
        organization_name: plan.tenant.clone(),
        name: "Seed Admin".into(),
        email: email.clone(),
        password: plan.password.clone(),
    };
    let registered = registration::register(bus, pool, None, registration).await?;
    Ok((registered.organization_id, registered.agent_id, email))
}

/// Where conversation `n` stands, so the inbox's tabs and filters have something to tell
/// apart: two in three assigned to the admin, half resolved, one in ten pending, one in
/// four tagged `vip`.
fn inbox_state(n: u64, agent_id: Uuid) -> Vec<ConversationEvent> {
    let mut events = Vec::new();
    if !n.is_multiple_of(3) {
        events.push(ConversationEvent::ConversationAssigned(ConversationAssigned {
            agent_id: Some(agent_id),
            previous_agent_id: None,
        }));
    }
    let status = match n % 10 {
        0..=4 => Some(ConversationStatus::Resolved),
        5 => Some(ConversationStatus::Pending),
        _ => None,
    };
    if let Some(status) = status {
        events.push(ConversationEvent::ConversationStatusChanged(
            ConversationStatusChanged {
                status,
                previous: ConversationStatus::Open,
                snoozed_until: None,
            },
        ));
    }
    if n.is_multiple_of(4) {
        events.push(ConversationEvent::ConversationTagsChanged(ConversationTagsChanged {
            tags: vec!["vip".into()],
        }));
    }
    events
}

/// One conversation's streams: its contact, the contact's phone claim, the conversation.
fn conversation_requests(
    tenant_id: Uuid,
    agent_id: Uuid,
    n: u64,
    messages: u64,
    metadata: &Metadata,
) -> Vec<AppendRequest> {
    let contact_id = Uuid::now_v7();
    let conversation_id = Uuid::now_v7();
    let phone = format!("+62{:010}", n);
    let profile = ContactProfile {
        name: Some(format!("Customer {n}")),
        phone: Some(phone.clone()),
        ..Default::default()
    };
    let contact = ContactEvent::ContactCreated(ContactCreated {
        contact_id,
        tenant_id,
        profile,
    });
    let claim = ClaimEvent::ValueClaimed(ValueClaimed { owner_id: contact_id });
    let mut events = vec![event(
        &ConversationEvent::ConversationStarted(ConversationStarted {
            conversation_id,
            tenant_id,
            contact_id,
            channel: Channel::Api,
            channel_account_id: None,
            division_id: None,
            subject: None,
        }),
        metadata,
    )];
    let start = Utc::now() - Duration::days((n % 365) as i64);
    let mut awaiting = None;
    for j in 0..messages {
        let message_id = Uuid::now_v7();
        let body = MessageBody {
            message_type: MessageType::Text,
            text: Some(text(n, j)),
            ..MessageBody::default()
        };
        let at = start + Duration::minutes(j as i64);
        let domain_event = if j % 2 == 0 {
            awaiting.get_or_insert((message_id, at));
            ConversationEvent::MessageReceived(MessageReceived {
                message_id,
                contact_id,
                body,
                provider_message_id: None,
                received_at: at,
                channel: Some(Channel::Api),
            })
        } else {
            let answered = awaiting.take();
            ConversationEvent::MessageQueued(MessageQueued {
                message_id,
                contact_id,
                body,
                author_agent_id: Some(agent_id),
                quick_reply_id: None,
                responds_to_message_id: answered.map(|(id, _)| id),
                awaited_since: answered.map(|(_, at)| at),
                first_response: j == 1,
                channel: Some(Channel::Api),
                human_agent_tag: false,
            })
        };
        events.push(event(&domain_event, metadata));
    }
    events.extend(inbox_state(n, agent_id).iter().map(|e| event(e, metadata)));
    vec![
        AppendRequest {
            stream_id: omnistream_domain::contact::Contact::stream_id(contact_id),
            tenant_id: Some(tenant_id),
            expected: ExpectedVersion::NoStream,
            events: vec![event(&contact, metadata)],
        },
        AppendRequest {
            stream_id: claims::tenant_value_stream(tenant_id, "phone", &phone),
            tenant_id: Some(tenant_id),
            expected: ExpectedVersion::NoStream,
            events: vec![event(&claim, metadata)],
        },
        AppendRequest {
            stream_id: omnistream_domain::conversation::Conversation::stream_id(conversation_id),
            tenant_id: Some(tenant_id),
            expected: ExpectedVersion::NoStream,
            events,
        },
    ]
}

/// Seeds the plan; shows a progress bar on the terminal.
pub async fn seed(events: Arc<dyn EventStore>, pool: &PgPool, plan: SeedPlan) -> anyhow::Result<Seeded> {
    let bus = CommandBus::new(events.clone());
    let (tenant_id, agent_id, admin_email) = tenant(&bus, pool, &plan).await?;
    // Phone numbers continue after what earlier runs seeded.
    let offset: i64 =
        sqlx::query_scalar("SELECT count(*) FROM streams WHERE tenant_id = $1 AND stream_id LIKE 'conversation-%'")
            .bind(tenant_id)
            .fetch_one(pool)
            .await?;
    let metadata = Metadata {
        actor: Actor::system(),
        causation_id: None,
        correlation_id: None,
        request_id: Some("seed".into()),
    };
    let bar = ProgressBar::new(plan.conversations);
    bar.set_style(
        ProgressStyle::with_template("seeding [{bar:40}] {pos}/{len} conversations ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    const BATCH: u64 = 100;
    const PARALLEL: usize = 4;
    let mut appended = 0u64;
    let mut next = 0u64;
    while next < plan.conversations {
        let mut tasks = Vec::new();
        for _ in 0..PARALLEL {
            if next >= plan.conversations {
                break;
            }
            let count = BATCH.min(plan.conversations - next);
            let mut requests = Vec::new();
            for n in next..next + count {
                requests.extend(conversation_requests(
                    tenant_id,
                    agent_id,
                    offset as u64 + n,
                    plan.messages_per_conversation,
                    &metadata,
                ));
            }
            next += count;
            let store = events.clone();
            tasks.push(tokio::spawn(async move {
                let written: usize = requests.iter().map(|r| r.events.len()).sum();
                store.append(requests).await.map(|_| (written as u64, count))
            }));
        }
        for task in tasks {
            let (written, count) = task.await??;
            appended += written;
            bar.inc(count);
        }
    }
    bar.finish();
    // A bulk load outdates the planner's statistics, and autovacuum may be off.
    for table in ["events", "streams", "personal_keys"] {
        sqlx::query(&format!("ANALYZE {table}")).execute(pool).await?;
    }
    Ok(Seeded {
        tenant_id,
        admin_email,
        events: appended,
    })
}
