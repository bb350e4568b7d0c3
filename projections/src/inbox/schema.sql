CREATE TABLE contacts (
    id                 UUID PRIMARY KEY,
    tenant_id          UUID NOT NULL,
    name               TEXT,
    phone              TEXT,
    email              TEXT,
    instagram_id       TEXT,
    custom_attributes  JSONB NOT NULL DEFAULT '{}',
    tags               TEXT[] NOT NULL DEFAULT '{}',
    merged_into        UUID,
    deleted            BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    version            BIGINT NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, id) WHERE NOT deleted AND merged_into IS NULL;
CREATE INDEX contacts_search ON contacts USING gin ((coalesce(name, '') || ' ' || coalesce(phone, '') || ' ' || coalesce(email, '') || ' ' || coalesce(instagram_id, '')) gin_trgm_ops);
CREATE INDEX contacts_tags ON contacts USING gin (tags);

CREATE TABLE conversations (
    id                     UUID PRIMARY KEY,
    tenant_id              UUID NOT NULL,
    contact_id             UUID NOT NULL,
    contact_name           TEXT,
    contact_phone          TEXT,
    contact_email          TEXT,
    channel                TEXT NOT NULL,
    channel_account_id     UUID,
    division_id            UUID,
    assignee_id            UUID,
    status                 TEXT NOT NULL,
    snoozed_until          TIMESTAMPTZ,
    tags                   TEXT[] NOT NULL DEFAULT '{}',
    subject                TEXT,
    last_message_id        UUID,
    last_message_preview   TEXT,
    last_message_direction TEXT,
    last_message_at        TIMESTAMPTZ,
    last_inbound_at        TIMESTAMPTZ,
    unread_count           INT NOT NULL DEFAULT 0,
    messages_count         INT NOT NULL DEFAULT 0,
    last_activity_at       TIMESTAMPTZ NOT NULL,
    created_at             TIMESTAMPTZ NOT NULL,
    updated_at             TIMESTAMPTZ NOT NULL,
    version                BIGINT NOT NULL
);
CREATE INDEX conversations_activity ON conversations (tenant_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_status ON conversations (tenant_id, status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_assignee ON conversations (tenant_id, assignee_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_division ON conversations (tenant_id, division_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations (contact_id);
CREATE INDEX conversations_tags ON conversations USING gin (tags);
CREATE INDEX conversations_search ON conversations USING gin ((coalesce(contact_name, '') || ' ' || coalesce(contact_phone, '') || ' ' || coalesce(contact_email, '')) gin_trgm_ops);

CREATE TABLE messages (
    id                   UUID PRIMARY KEY,
    tenant_id            UUID NOT NULL,
    conversation_id      UUID NOT NULL,
    position             BIGINT NOT NULL,
    direction            TEXT NOT NULL,
    message_type         TEXT NOT NULL,
    text                 TEXT,
    media_ids            UUID[] NOT NULL DEFAULT '{}',
    reply_to_message_id  UUID,
    status               TEXT NOT NULL,
    author_agent_id      UUID,
    quick_reply_id       UUID,
    provider_message_id  TEXT,
    first_response       BOOLEAN NOT NULL DEFAULT false,
    created_at           TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, position);
CREATE INDEX messages_text ON messages USING gin (to_tsvector('simple', coalesce(text, '')));

CREATE TABLE transfers (
    id                UUID PRIMARY KEY,
    tenant_id         UUID NOT NULL,
    conversation_id   UUID NOT NULL,
    from_agent_id     UUID,
    to_agent_id       UUID,
    from_division_id  UUID,
    to_division_id    UUID,
    reason            TEXT NOT NULL,
    actor_id          UUID,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX transfers_tenant ON transfers (tenant_id, created_at DESC, id DESC);
CREATE INDEX transfers_conversation ON transfers (conversation_id, created_at DESC);

CREATE TABLE notes (
    id               UUID PRIMARY KEY,
    tenant_id        UUID NOT NULL,
    conversation_id  UUID NOT NULL,
    author_agent_id  UUID,
    content          TEXT NOT NULL,
    deleted          BOOLEAN NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL
);
CREATE INDEX notes_conversation ON notes (conversation_id, created_at) WHERE NOT deleted;

CREATE TABLE quick_replies (
    id              UUID PRIMARY KEY,
    tenant_id       UUID NOT NULL,
    shortcut        TEXT NOT NULL,
    content         TEXT NOT NULL,
    owner_agent_id  UUID,
    deleted         BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX quick_replies_tenant ON quick_replies (tenant_id, shortcut) WHERE NOT deleted;

CREATE TABLE divisions (
    id           UUID PRIMARY KEY,
    tenant_id    UUID NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    deleted      BOOLEAN NOT NULL DEFAULT false,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    version      BIGINT NOT NULL
);
CREATE INDEX divisions_tenant ON divisions (tenant_id, name) WHERE NOT deleted;

CREATE TABLE division_members (
    division_id  UUID NOT NULL,
    agent_id     UUID NOT NULL,
    tenant_id    UUID NOT NULL,
    PRIMARY KEY (division_id, agent_id)
);
CREATE INDEX division_members_agent ON division_members (agent_id);

CREATE TABLE media (
    id            UUID PRIMARY KEY,
    tenant_id     UUID NOT NULL,
    file_name     TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    uploaded_by   UUID,
    created_at    TIMESTAMPTZ NOT NULL
);
