-- Keys of this instance. `secrets` seals integration secrets when OMNISTREAM_SECRETS_KEY is
-- not set (local use: the key then sits beside the data it protects; set the variable in
-- production so that a copy of the database alone does not reveal the secrets).
CREATE TABLE instance_keys (
    name        TEXT PRIMARY KEY,
    key         BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Provider webhook deliveries as they arrived, once authenticated and routed to an account:
-- the ingestor answers 200 only after the row is committed, and a processor turns pending
-- rows into events (every event it appends names the delivery as its causation). Kept for
-- tracing until the retention purge; erasing a contact deletes the deliveries that carried
-- its messages (subject_ids).
CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL,
    account_id       UUID NOT NULL,
    provider         TEXT NOT NULL,
    verification     TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    body             BYTEA NOT NULL,
    received_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    state            TEXT NOT NULL DEFAULT 'pending',
    attempts         INT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at     TIMESTAMPTZ,
    outcome          JSONB,
    subject_ids      UUID[] NOT NULL DEFAULT '{}'
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_tenant ON webhook_deliveries (tenant_id, received_at DESC);
CREATE INDEX webhook_deliveries_subjects ON webhook_deliveries USING gin (subject_ids);
