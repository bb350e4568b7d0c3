-- Durable jobs for time-driven work (snooze wake-ups; later SLA deadlines, scheduled sends).
-- Projections schedule them from events; workers claim due ones with FOR UPDATE SKIP LOCKED
-- and run a command, so a job's effect is an event too.
CREATE TABLE jobs (
    id            UUID PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,
    tenant_id     UUID,
    kind          TEXT NOT NULL,
    payload       JSONB NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    attempts      INT NOT NULL DEFAULT 0,
    locked_until  TIMESTAMPTZ,
    last_error    TEXT,
    done_at       TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX jobs_due ON jobs (due_at) WHERE done_at IS NULL;
