-- Credentials and request bookkeeping: secrets and operational state that must not live in
-- the immutable event log (password hashes, session tokens), and the idempotency cache.

-- Argon2 password hashes of agents and super-admins, by principal id.
CREATE TABLE credentials (
    principal_id    UUID PRIMARY KEY,
    password_hash   TEXT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Login sessions; only the SHA-256 of each token is stored.
CREATE TABLE sessions (
    id              UUID PRIMARY KEY,
    token_sha256    BYTEA NOT NULL UNIQUE,
    principal_id    UUID NOT NULL,
    tenant_id       UUID,
    super_admin     BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at      TIMESTAMPTZ NOT NULL,
    revoked_at      TIMESTAMPTZ
);
CREATE INDEX sessions_principal ON sessions (principal_id);

-- Failed logins per e-mail, for rate limiting.
CREATE TABLE login_failures (
    email           TEXT NOT NULL,
    failed_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_email ON login_failures (email, failed_at);

-- When each API key was last used: operational telemetry, not an event per request.
CREATE TABLE api_key_usage (
    api_key_id      UUID PRIMARY KEY,
    last_used_at    TIMESTAMPTZ NOT NULL
);

-- The first answer to each Idempotency-Key, per tenant (or per anonymous caller), for 24 h.
CREATE TABLE idempotency_keys (
    scope           TEXT NOT NULL,
    key             TEXT NOT NULL,
    fingerprint     BYTEA NOT NULL,
    status          INT,
    headers         JSONB,
    body            BYTEA,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
