-- The event store: one append-only table of events, a row per stream for optimistic
-- concurrency and the head of each stream's hash chain.
CREATE TABLE events (
    position        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tx_id           XID8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       TEXT NOT NULL,
    version         BIGINT NOT NULL CHECK (version >= 1),
    event_id        UUID NOT NULL UNIQUE,
    event_type      TEXT NOT NULL,
    schema_version  INT NOT NULL,
    tenant_id       UUID,
    payload         JSONB NOT NULL,
    metadata        JSONB NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    prev_hash       BYTEA,
    hash            BYTEA NOT NULL,
    UNIQUE (stream_id, version)
);

-- Catch-up readers walk (tx_id, position) below the snapshot's xmin: see store/src/postgres/read.rs.
CREATE INDEX events_tx_order ON events (tx_id, position);
CREATE INDEX events_tenant_position ON events (tenant_id, position);

CREATE TABLE streams (
    stream_id   TEXT PRIMARY KEY,
    tenant_id   UUID,
    version     BIGINT NOT NULL,
    last_hash   BYTEA NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Events are immutable: the hash chain proves it, this trigger keeps honest code from trying.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END;
$$;

CREATE TRIGGER events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
