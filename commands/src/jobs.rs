//! Running due jobs: claimed with `FOR UPDATE SKIP LOCKED` (any number of workers), each
//! turned into a command by the system actor; failures are retried with backoff.

use std::time::Duration;

use chrono::{DateTime, Utc};
use omnistream_domain::conversation::{Conversation, ConversationCommand};
use omnistream_domain::{Actor, DomainError};
use sqlx::{FromRow, PgPool};
use uuid::Uuid;

use crate::{chat_expiration, csat, sla, CommandBus, CommandContext, CommandError, Scope};

/// How long a claimed job stays locked before another worker may retry it.
const LEASE_SECONDS: i32 = 60;

/// A due job.
#[derive(Debug, Clone, FromRow)]
pub struct Job {
    /// Id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Option<Uuid>,
    /// What to do.
    pub kind: String,
    /// With what.
    pub payload: serde_json::Value,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// Bumped whenever the job is scheduled again; the outcome of a run counts only for
    /// the revision it claimed.
    pub revision: i64,
}

/// The job kinds [`work`] runs; other kinds have workers of their own (message delivery).
pub const KINDS: &[&str] = &[
    "conversation.wake_up",
    "conversation.window_expiry",
    "sla.evaluate",
    "csat.send",
];

/// What jobs need from the configuration.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// The survey page customers open (a survey's link is this followed by `/<token>`).
    pub csat_link_base: String,
}

/// Claims up to `limit` due jobs of these kinds.
pub async fn claim_due(pool: &PgPool, limit: i64, kinds: &[&str]) -> Result<Vec<Job>, CommandError> {
    Ok(sqlx::query_as(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => $2), attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND due_at <= now() \
                      AND (locked_until IS NULL OR locked_until < now()) AND kind = ANY($3) \
                      ORDER BY due_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, tenant_id, kind, payload, attempts, revision",
    )
    .bind(limit)
    .bind(f64::from(LEASE_SECONDS))
    .bind(kinds)
    .fetch_all(pool)
    .await?)
}

/// The conversation a job is about; `what` names the job in the error.
fn conversation_of(job: &Job, what: &str) -> Result<Uuid, DomainError> {
    job.payload["conversation_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| DomainError::Rule(format!("{what} without a conversation")))
}

/// Runs one job's command; answers when to run it again, if ever.
pub async fn run(bus: &CommandBus, settings: &JobSettings, job: &Job) -> Result<Option<DateTime<Utc>>, CommandError> {
    let Some(tenant_id) = job.tenant_id else {
        return Err(DomainError::Rule(format!("job {} has no tenant", job.id)).into());
    };
    let ctx = CommandContext::new(Scope::Tenant(tenant_id), Actor::system(), None);
    match job.kind.as_str() {
        "conversation.wake_up" => {
            let conversation_id = conversation_of(job, "wake-up job")?;
            let until: DateTime<Utc> = serde_json::from_value(job.payload["snoozed_until"].clone())
                .map_err(|e| DomainError::Rule(format!("wake-up job without a time: {e}")))?;
            bus.execute::<Conversation>(
                &ctx,
                conversation_id,
                ConversationCommand::WakeUp { snoozed_until: until },
            )
            .await?;
            Ok(None)
        }
        "conversation.window_expiry" => {
            let conversation_id = conversation_of(job, "expiry job")?;
            chat_expiration::expire(bus, &ctx, conversation_id, Utc::now()).await
        }
        "sla.evaluate" => {
            let conversation_id = conversation_of(job, "SLA job")?;
            sla::evaluate(bus, &ctx, conversation_id, Utc::now()).await
        }
        "csat.send" => {
            let conversation_id = conversation_of(job, "CSAT job")?;
            let resolved_version = job.payload["resolved_version"]
                .as_i64()
                .ok_or_else(|| DomainError::Rule("CSAT job without a version".into()))?;
            csat::send(
                bus,
                &ctx,
                conversation_id,
                resolved_version,
                &settings.csat_link_base,
                Utc::now(),
            )
            .await?;
            Ok(None)
        }
        other => Err(DomainError::Rule(format!("unknown job kind {other}")).into()),
    }
}

/// Marks a job done, unless it was scheduled again while it ran: then it is only unlocked,
/// to run again when due.
pub async fn complete(pool: &PgPool, job: &Job) -> Result<(), CommandError> {
    sqlx::query(
        "UPDATE jobs SET done_at = CASE WHEN revision = $2 THEN now() END, locked_until = NULL, \
         last_error = NULL WHERE id = $1",
    )
    .bind(job.id)
    .bind(job.revision)
    .execute(pool)
    .await?;
    Ok(())
}

/// Runs the job again at `at` (a fresh run, not a retry: its attempts start over), unless it
/// was scheduled again while it ran: then it keeps that due time.
pub async fn postpone(pool: &PgPool, job: &Job, at: DateTime<Utc>) -> Result<(), CommandError> {
    sqlx::query(
        "UPDATE jobs SET due_at = CASE WHEN revision = $3 THEN $2 ELSE least(due_at, $2) END, \
         locked_until = NULL, attempts = 0, last_error = NULL WHERE id = $1",
    )
    .bind(job.id)
    .bind(at)
    .bind(job.revision)
    .execute(pool)
    .await?;
    Ok(())
}

/// Runs the job again after `delay`, noting why.
pub async fn reschedule(pool: &PgPool, id: Uuid, delay: Duration, error: &str) -> Result<(), CommandError> {
    sqlx::query("UPDATE jobs SET locked_until = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1")
        .bind(id)
        .bind(delay.as_secs_f64())
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

/// Records a failure; the job runs again after an exponential backoff (at most an hour).
pub async fn fail(pool: &PgPool, job: &Job, error: &str) -> Result<(), CommandError> {
    let backoff = 2f64.powi(job.attempts.min(12)).min(3600.0);
    sqlx::query("UPDATE jobs SET locked_until = now() + make_interval(secs => $2), last_error = $3 WHERE id = $1")
        .bind(job.id)
        .bind(backoff)
        .bind(error)
        .execute(pool)
        .await?;
    Ok(())
}

/// Claims and runs due jobs until `shutdown` turns true, polling every `interval`.
pub async fn work(
    bus: CommandBus,
    pool: PgPool,
    settings: JobSettings,
    interval: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        match claim_due(&pool, 50, KINDS).await {
            Ok(jobs) => {
                for job in &jobs {
                    let outcome = match run(&bus, &settings, job).await {
                        Ok(None) => complete(&pool, job).await,
                        Ok(Some(at)) => postpone(&pool, job, at).await,
                        Err(error) => {
                            tracing::warn!(job = %job.id, kind = %job.kind, %error, "job failed; will retry");
                            fail(&pool, job, &error.to_string()).await
                        }
                    };
                    if let Err(error) = outcome {
                        tracing::error!(job = %job.id, %error, "could not record a job's outcome");
                    }
                }
                if !jobs.is_empty() {
                    continue;
                }
            }
            Err(error) => tracing::warn!(%error, "claiming jobs failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}
