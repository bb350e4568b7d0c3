//! `omnistream seed`: fills a demo organization with agents, contacts, conversations,
//! messages and CSAT surveys through the event store (batched appends, personal fields
//! sealed like any write), for demos and load tests. The conversations are spread over the
//! past year: each event carries the time it happened as imported history does, so reports
//! have a year of days. The service's projections then build the read models.

use std::io::IsTerminal;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use omnistream_commands::agents::NewAgent;
use omnistream_commands::registration::{self, Registration};
use omnistream_commands::{claims, CommandBus, CommandContext, Scope};
use omnistream_domain::agent::RoleRef;
use omnistream_domain::claim::{ClaimEvent, ValueClaimed};
use omnistream_domain::contact::{ContactCreated, ContactEvent, ContactProfile};
use omnistream_domain::conversation::{
    Channel, ConversationAssigned, ConversationEvent, ConversationStarted, ConversationStatus,
    ConversationStatusChanged, ConversationTagsChanged, MessageBody, MessageQueued, MessageReceived, MessageType,
};
use omnistream_domain::csat::{CsatSurvey, CsatSurveyAnswered, CsatSurveyEvent, CsatSurveySent};
use omnistream_domain::permission::SystemRole;
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

/// Agents besides the admin that seeded conversations are assigned to.
const AGENTS: usize = 20;

fn event<E: DomainEvent>(event: &E, metadata: &Metadata, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        recorded_at: Some(at),
        ..NewEvent::from_domain(event, metadata.clone())
    }
}

/// The seeded organization's agents: found by their logins, or created.
async fn agents(
    bus: &CommandBus,
    pool: &PgPool,
    tenant_id: Uuid,
    slug: &str,
    password: &str,
) -> anyhow::Result<Vec<Uuid>> {
    let ctx = CommandContext::new(Scope::Tenant(tenant_id), Actor::system(), Some("seed".into()));
    let mut ids = Vec::with_capacity(AGENTS);
    for i in 0..AGENTS {
        let email = format!("agent{i}@{slug}.seed.omnistream.test");
        let existing: Option<Uuid> = sqlx::query_scalar("SELECT id FROM rm.agents WHERE email = $1 AND NOT deleted")
            .bind(&email)
            .fetch_optional(pool)
            .await?;
        let id = match existing {
            Some(id) => id,
            None => {
                let agent = NewAgent {
                    name: format!("Seed Agent {i}"),
                    email,
                    password: password.to_owned(),
                    role: RoleRef::System {
                        role: SystemRole::Agent,
                    },
                };
                omnistream_commands::agents::create(bus, pool, &ctx, agent).await?.id
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

fn slug(tenant: &str) -> String {
    tenant
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The organization to seed and its admin (id, login): found by the admin's login, or
/// registered.
async fn tenant(bus: &CommandBus, pool: &PgPool, plan: &SeedPlan) -> anyhow::Result<(Uuid, Uuid, String)> {
    let email = format!("admin@{}.seed.omnistream.test", slug(&plan.tenant));
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

/// Where conversation `n` stands once its messages are exchanged, so the inbox's tabs,
/// filters and reports have something to tell apart: half resolved (a CSAT survey on one in
/// five of those, answered half the time), one in ten pending, one in four tagged `vip`.
fn outcome(n: u64) -> (Option<ConversationStatus>, bool) {
    let status = match n % 10 {
        0..=4 => Some(ConversationStatus::Resolved),
        5 => Some(ConversationStatus::Pending),
        _ => None,
    };
    (status, n.is_multiple_of(4))
}

/// One conversation's streams: its contact, the contact's phone claim, the conversation and,
/// for some, a survey. Conversation `n` starts `n % 365` days ago; two in three are assigned
/// to one of `agents` (who answers), the rest answered by the admin.
fn conversation_requests(
    tenant_id: Uuid,
    admin_id: Uuid,
    agents: &[Uuid],
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
    // Six hours back leaves room for the messages, the resolution and the survey's answer, so
    // that nothing is recorded in the future.
    let start =
        Utc::now() - Duration::days((n % 365) as i64) - Duration::hours(6) - Duration::minutes((n % 600) as i64);
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
        start,
    )];
    let assignee = (!n.is_multiple_of(3)).then(|| agents[(n as usize) % agents.len()]);
    if let Some(agent_id) = assignee {
        let assigned = ConversationEvent::ConversationAssigned(ConversationAssigned {
            agent_id: Some(agent_id),
            previous_agent_id: None,
        });
        events.push(event(&assigned, metadata, start));
    }
    let author = assignee.unwrap_or(admin_id);
    let mut awaiting = None;
    let mut at = start;
    for j in 0..messages {
        let message_id = Uuid::now_v7();
        let body = MessageBody {
            message_type: MessageType::Text,
            text: Some(text(n, j)),
            ..MessageBody::default()
        };
        // Customers write a minute apart; agents answer after 2 to 40 minutes.
        at += Duration::minutes(if j % 2 == 0 { 1 } else { 2 + ((n + j) % 39) as i64 });
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
                author_agent_id: Some(author),
                quick_reply_id: None,
                responds_to_message_id: answered.map(|(id, _)| id),
                awaited_since: answered.map(|(_, at)| at),
                first_response: j == 1,
                channel: Some(Channel::Api),
                human_agent_tag: false,
            })
        };
        events.push(event(&domain_event, metadata, at));
    }
    let (status, vip) = outcome(n);
    at += Duration::minutes(30);
    if let Some(status) = status {
        let changed = ConversationEvent::ConversationStatusChanged(ConversationStatusChanged {
            status,
            previous: ConversationStatus::Open,
            snoozed_until: None,
        });
        events.push(event(&changed, metadata, at));
    }
    if vip {
        let tagged = ConversationEvent::ConversationTagsChanged(ConversationTagsChanged {
            tags: vec!["vip".into()],
        });
        events.push(event(&tagged, metadata, at));
    }
    let mut requests = vec![
        AppendRequest {
            stream_id: omnistream_domain::contact::Contact::stream_id(contact_id),
            tenant_id: Some(tenant_id),
            expected: ExpectedVersion::NoStream,
            events: vec![event(&contact, metadata, start)],
        },
        AppendRequest {
            stream_id: claims::tenant_value_stream(tenant_id, "phone", &phone),
            tenant_id: Some(tenant_id),
            expected: ExpectedVersion::NoStream,
            events: vec![event(&claim, metadata, start)],
        },
    ];
    if status == Some(ConversationStatus::Resolved) && n.is_multiple_of(10) {
        let resolved_version = events.len() as i64;
        let survey_id = CsatSurvey::id_for(conversation_id, resolved_version);
        let message_id = Uuid::now_v7();
        let sent_at = at + Duration::minutes(1);
        let link = ConversationEvent::MessageQueued(MessageQueued {
            message_id,
            contact_id,
            body: MessageBody {
                text: Some(format!(
                    "How did we do? http://127.0.0.1:8080/csat/{}.seed",
                    survey_id.simple()
                )),
                ..MessageBody::default()
            },
            author_agent_id: None,
            quick_reply_id: None,
            responds_to_message_id: None,
            awaited_since: None,
            first_response: false,
            channel: Some(Channel::Api),
            human_agent_tag: false,
        });
        events.push(event(&link, metadata, sent_at));
        let mut survey = vec![event(
            &CsatSurveyEvent::CsatSurveySent(CsatSurveySent {
                survey_id,
                tenant_id,
                conversation_id,
                contact_id,
                channel: Channel::Api,
                agent_id: assignee,
                division_id: None,
                message_id,
                token_sha256: String::new(),
                sent_at,
                expires_at: CsatSurvey::expiry(sent_at, 72),
            }),
            metadata,
            sent_at,
        )];
        if n.is_multiple_of(20) {
            let answered_at = sent_at + Duration::hours(1);
            let answered = CsatSurveyEvent::CsatSurveyAnswered(CsatSurveyAnswered {
                contact_id,
                rating: ((n / 20) % 5 + 1) as u8,
                comment: None,
                answered_at,
            });
            survey.push(event(&answered, metadata, answered_at));
        }
        requests.push(AppendRequest {
            stream_id: CsatSurvey::stream_id(survey_id),
            tenant_id: Some(tenant_id),
            expected: ExpectedVersion::NoStream,
            events: survey,
        });
    }
    requests.push(AppendRequest {
        stream_id: omnistream_domain::conversation::Conversation::stream_id(conversation_id),
        tenant_id: Some(tenant_id),
        expected: ExpectedVersion::NoStream,
        events,
    });
    requests
}

/// Seeds the plan; shows a progress bar on the terminal.
pub async fn seed(events: Arc<dyn EventStore>, pool: &PgPool, plan: SeedPlan) -> anyhow::Result<Seeded> {
    let bus = CommandBus::new(events.clone());
    let (tenant_id, admin_id, admin_email) = tenant(&bus, pool, &plan).await?;
    let agents = Arc::new(agents(&bus, pool, tenant_id, &slug(&plan.tenant), &plan.password).await?);
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
    // Without a terminal the bar draws nothing: a line per tenth of the way instead.
    let interactive = std::io::stderr().is_terminal();
    let tenth = plan.conversations.div_ceil(10).max(1);
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
                    admin_id,
                    &agents,
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
            let done = bar.position();
            if !interactive && done / tenth != (done - count) / tenth {
                eprintln!(
                    "seeding: {done}/{} conversations ({:.0}/s)",
                    plan.conversations,
                    bar.per_sec()
                );
            }
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
