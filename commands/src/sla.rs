//! SLA commands: the policy book, and evaluating a conversation's SLA clocks (run by the
//! `sla.evaluate` job whenever something that moves them happens, and at each due time).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use omnistream_domain::conversation::{Conversation, ConversationEvent};
use omnistream_domain::sla::{self, AppliedSla, Recorded};
use omnistream_domain::sla_policy::{SlaFacts, SlaPolicyBook, SlaPolicyCommand, SlaPolicyDefinition, SlaPolicyEvent};
use omnistream_domain::{Aggregate, DomainError};
use omnistream_store::{AppendRequest, ExpectedVersion, NewEvent};
use uuid::Uuid;

use crate::bus::retry_on_conflict;
use crate::{working_hours, CommandBus, CommandContext, CommandError, Executed, Scope};

fn tenant_of(scope: Scope) -> Result<Uuid, CommandError> {
    Ok(scope.require_tenant("SLA policies")?)
}

/// Runs a command on the organization's policy book; answers the book's id and version.
pub async fn execute(
    bus: &CommandBus,
    ctx: &CommandContext,
    command: impl FnOnce(Uuid) -> SlaPolicyCommand,
) -> Result<Executed, CommandError> {
    let tenant_id = tenant_of(ctx.scope)?;
    bus.execute::<SlaPolicyBook>(ctx, SlaPolicyBook::id_for(tenant_id), command(tenant_id))
        .await
}

/// Creates a policy.
pub async fn create(
    bus: &CommandBus,
    ctx: &CommandContext,
    policy: SlaPolicyDefinition,
) -> Result<Executed, CommandError> {
    execute(bus, ctx, |tenant_id| SlaPolicyCommand::Create { tenant_id, policy }).await
}

/// The organization's policies.
pub async fn book(bus: &CommandBus, scope: Scope) -> Result<SlaPolicyBook, CommandError> {
    let tenant_id = tenant_of(scope)?;
    Ok(bus
        .load::<SlaPolicyBook>(scope, &SlaPolicyBook::id_for(tenant_id).to_string())
        .await?
        .state)
}

/// The organization's policies, with when each was created.
async fn book_with_times(
    bus: &CommandBus,
    scope: Scope,
) -> Result<(SlaPolicyBook, HashMap<Uuid, DateTime<Utc>>), CommandError> {
    let tenant_id = tenant_of(scope)?;
    let recorded = bus
        .store()
        .read_stream(&SlaPolicyBook::stream_id(SlaPolicyBook::id_for(tenant_id)), 1)
        .await?;
    let (mut book, mut created) = (SlaPolicyBook::default(), HashMap::new());
    for event in &recorded {
        let decoded: SlaPolicyEvent = event.decode()?;
        if let SlaPolicyEvent::SlaPolicyCreated(e) = &decoded {
            created.insert(e.policy.policy_id, event.recorded_at);
        }
        book = book.apply(&decoded);
    }
    Ok((book, created))
}

/// Evaluates a conversation's SLA clocks at `now`: applies the policy that matches it,
/// records started clocks, warnings, breaches and stops on its stream (at the version it
/// read, so nothing that happened meanwhile is missed), and answers when to look again.
pub async fn evaluate(
    bus: &CommandBus,
    ctx: &CommandContext,
    conversation_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, CommandError> {
    let (policies, created) = book_with_times(bus, ctx.scope).await?;
    retry_on_conflict(|| async {
        let stream_id = Conversation::stream_id(conversation_id);
        let recorded = bus.store().read_stream(&stream_id, 1).await?;
        if recorded
            .first()
            .is_some_and(|first| first.tenant_id != ctx.scope.tenant_id())
        {
            return Err(DomainError::NotFound(Conversation::NAME).into());
        }
        let events = recorded
            .iter()
            .map(|e| e.decode::<ConversationEvent>())
            .collect::<Result<Vec<_>, _>>()?;
        let state = Conversation::replay(&events);
        if !state.exists() {
            return Err(DomainError::NotFound(Conversation::NAME).into());
        }
        let history: Vec<Recorded<'_>> = recorded
            .iter()
            .zip(&events)
            .map(|(r, event)| Recorded {
                version: r.version,
                at: r.recorded_at,
                event,
            })
            .collect();
        let policy = policies
            .matching(&SlaFacts {
                channel: state.channel,
                division_id: state.division_id,
                tags: &state.tags,
                priority: state.priority,
            })
            .map(|p| AppliedSla {
                created_at: created.get(&p.policy_id).copied(),
                ..p
            });
        let calendar = match &policy {
            Some(p) if p.business_hours => working_hours::calendar(bus, ctx.scope, state.division_id).await?,
            _ => omnistream_domain::business_hours::BusinessCalendar::always_open(),
        };
        let evaluation = sla::evaluate(&history, policy, &calendar, now);
        if !evaluation.events.is_empty() {
            let metadata = ctx.metadata();
            bus.commit(vec![AppendRequest {
                stream_id,
                tenant_id: ctx.scope.tenant_id(),
                expected: ExpectedVersion::Exact(recorded.last().map_or(0, |e| e.version)),
                events: evaluation
                    .events
                    .iter()
                    .map(|e| NewEvent::from_domain(e, metadata.clone()))
                    .collect(),
            }])
            .await?;
        }
        Ok(evaluation.next_check)
    })
    .await
}
