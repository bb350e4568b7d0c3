-- Projections: each named projection keeps its tables in a schema of its own generation
-- (`proj_<name>_<n>`); the stable views in schema `rm` point at the live generation, so a
-- rebuild fills a fresh generation and swaps the views in one transaction.
CREATE SCHEMA IF NOT EXISTS rm;

CREATE TABLE projection_state (
    name                TEXT PRIMARY KEY,
    schema_name         TEXT NOT NULL,
    definition_version  INT NOT NULL,
    tx_id               XID8 NOT NULL DEFAULT '0',
    position            BIGINT NOT NULL DEFAULT 0,
    events_applied      BIGINT NOT NULL DEFAULT 0,
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
