//! Each conversation's applied policy and SLA clocks: applying the SLA events of
//! conversation streams, and a conversation's SLA status.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use omnistream_domain::conversation::ConversationEvent;
use omnistream_store::RecordedEvent;
use sqlx::{FromRow, PgConnection, PgPool};
use uuid::Uuid;

use crate::inbox::{entity_id, tenant};
use crate::{ProjectionError, TenantScope};

/// Which of these conversations ever had a policy (their clocks may need stopping).
pub(crate) async fn tracked(conn: &mut PgConnection, conversations: &[Uuid]) -> Result<HashSet<Uuid>, ProjectionError> {
    if conversations.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<Uuid> =
        sqlx::query_scalar("SELECT conversation_id FROM conversation_sla WHERE conversation_id = ANY($1)")
            .bind(conversations)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Applies one SLA event of a conversation.
pub(crate) async fn apply(
    conn: &mut PgConnection,
    event: &RecordedEvent,
    e: ConversationEvent,
) -> Result<(), ProjectionError> {
    let conversation_id = entity_id(event)?;
    let tenant_id = tenant(event)?;
    let at = event.recorded_at;
    match e {
        ConversationEvent::SlaPolicyApplied(applied) => {
            sqlx::query(
                "INSERT INTO conversation_sla (conversation_id, tenant_id, policy_id, policy_name, applied_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (conversation_id) DO UPDATE SET policy_id = $3, \
                 policy_name = $4, applied_at = CASE WHEN conversation_sla.policy_id = $3 \
                 THEN conversation_sla.applied_at ELSE $5 END, updated_at = $5",
            )
            .bind(conversation_id)
            .bind(tenant_id)
            .bind(applied.policy.policy_id)
            .bind(&applied.policy.name)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::SlaPolicyRemoved(_) => {
            sqlx::query(
                "UPDATE conversation_sla SET policy_id = NULL, policy_name = NULL, applied_at = NULL, updated_at = $2 \
                 WHERE conversation_id = $1",
            )
            .bind(conversation_id)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::SlaTargetStarted(started) => {
            sqlx::query(
                "INSERT INTO sla_clocks (conversation_id, clock, tenant_id, target, policy_id, started_at, due_at, warn_at, \
                 status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active') ON CONFLICT (conversation_id, clock) \
                 DO UPDATE SET policy_id = $5, due_at = $7, warn_at = $8",
            )
            .bind(conversation_id)
            .bind(&started.clock)
            .bind(tenant_id)
            .bind(started.target.as_str())
            .bind(started.policy_id)
            .bind(started.started_at)
            .bind(started.due_at)
            .bind(started.warn_at)
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::SlaWarningIssued(warned) => {
            sqlx::query("UPDATE sla_clocks SET warned_at = $3 WHERE conversation_id = $1 AND clock = $2")
                .bind(conversation_id)
                .bind(&warned.clock)
                .bind(at)
                .execute(&mut *conn)
                .await?;
        }
        ConversationEvent::SlaBreached(breach) => {
            sqlx::query(
                "UPDATE sla_clocks SET status = 'breached', breached_at = $3 WHERE conversation_id = $1 AND clock = $2",
            )
            .bind(conversation_id)
            .bind(&breach.clock)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO sla_breaches (id, tenant_id, conversation_id, policy_id, target, clock, started_at, due_at, \
                 breached_at, agent_id, division_id, channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(event.event_id)
            .bind(tenant_id)
            .bind(conversation_id)
            .bind(breach.policy_id)
            .bind(breach.target.as_str())
            .bind(&breach.clock)
            .bind(breach.started_at)
            .bind(breach.due_at)
            .bind(at)
            .bind(breach.agent_id)
            .bind(breach.division_id)
            .bind(breach.channel.map(|c| c.as_str()))
            .execute(&mut *conn)
            .await?;
        }
        ConversationEvent::SlaTargetStopped(stopped) => {
            sqlx::query("UPDATE sla_clocks SET status = $3, stopped_at = $4 WHERE conversation_id = $1 AND clock = $2")
                .bind(conversation_id)
                .bind(&stopped.clock)
                .bind(stopped.outcome.as_str())
                .bind(stopped.at)
                .execute(&mut *conn)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// The policy applied to a conversation.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct AppliedRow {
    /// The policy (none: removed).
    pub policy_id: Option<Uuid>,
    /// Its name when applied.
    pub policy_name: Option<String>,
    /// Since when.
    pub applied_at: Option<DateTime<Utc>>,
}

/// One clock.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct ClockRow {
    /// The clock's key.
    pub clock: String,
    /// `first_response`, `next_response` or `resolution`.
    pub target: String,
    /// The policy.
    pub policy_id: Uuid,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Due (none: never).
    pub due_at: Option<DateTime<Utc>>,
    /// Warning time.
    pub warn_at: Option<DateTime<Utc>>,
    /// `active`, `breached`, `met`, `late` or `cancelled`.
    pub status: String,
    /// When the warning fired.
    pub warned_at: Option<DateTime<Utc>>,
    /// When the breach was recorded.
    pub breached_at: Option<DateTime<Utc>>,
    /// When it stopped.
    pub stopped_at: Option<DateTime<Utc>>,
}

/// A conversation's applied policy and clocks, oldest first, as of one moment: both are read
/// in one snapshot, so a batch the projection commits in between cannot show a clock without
/// its policy.
pub async fn status(
    pool: &PgPool,
    scope: TenantScope,
    conversation_id: Uuid,
) -> Result<(Option<AppliedRow>, Vec<ClockRow>), ProjectionError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let applied = sqlx::query_as(
        "SELECT policy_id, policy_name, applied_at FROM rm.conversation_sla WHERE tenant_id = $1 AND conversation_id = $2",
    )
    .bind(scope.tenant_id())
    .bind(conversation_id)
    .fetch_optional(&mut *tx)
    .await?;
    let clocks = sqlx::query_as(
        "SELECT clock, target, policy_id, started_at, due_at, warn_at, status, warned_at, breached_at, stopped_at \
         FROM rm.sla_clocks WHERE tenant_id = $1 AND conversation_id = $2 ORDER BY started_at, clock",
    )
    .bind(scope.tenant_id())
    .bind(conversation_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((applied, clocks))
}
