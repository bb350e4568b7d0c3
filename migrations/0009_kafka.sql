-- The Kafka event bus (used only when KAFKA_BROKERS is set).

-- Where the relay stands: the last event (in catch-up order) the broker acknowledged.
CREATE TABLE event_relay (
    topic       TEXT PRIMARY KEY,
    tx_id       XID8 NOT NULL DEFAULT '0',
    position    BIGINT NOT NULL DEFAULT 0,
    published   BIGINT NOT NULL DEFAULT 0,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Consumer-group offsets kept beside the writes they cover: a batch's effects and its next
-- offset commit together, and a worker seeks to them when a partition is assigned to it.
CREATE TABLE kafka_offsets (
    group_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    partition    INT NOT NULL,
    next_offset  BIGINT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, topic, partition)
);

-- Which feed a projection follows: the store directly, or the Kafka topic.
ALTER TABLE projection_state ADD COLUMN source TEXT NOT NULL DEFAULT 'store';

-- A projection fed from Kafka: per partition, the last event applied (catch-up order is
-- monotonic within a partition, so anything at or below it is a duplicate and skipped).
CREATE TABLE projection_partitions (
    projection      TEXT NOT NULL REFERENCES projection_state (name) ON DELETE CASCADE,
    partition       INT NOT NULL,
    tx_id           XID8 NOT NULL DEFAULT '0',
    position        BIGINT NOT NULL DEFAULT 0,
    events_applied  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (projection, partition)
);

-- A catch-up checkpoint as one value (status queries pick a projection's least advanced
-- partition).
CREATE TYPE checkpoint_pair AS (tx_id BIGINT, position BIGINT);
