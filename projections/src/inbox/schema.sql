CREATE TABLE contacts (
    id                 UUID PRIMARY KEY,
    tenant_id          UUID NOT NULL,
    name               TEXT,
    phone              TEXT,
    email              TEXT,
    instagram_id       TEXT,
    custom_attributes  JSONB NOT NULL DEFAULT '{}',
    tags               TEXT[] NOT NULL DEFAULT '{}',
    -- The lexemes a search finds the contact by (contact_search.rs).
    search             TSVECTOR NOT NULL DEFAULT '',
    merged_into        UUID,
    deleted            BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    version            BIGINT NOT NULL
);
CREATE INDEX contacts_tenant ON contacts (tenant_id, id) WHERE NOT deleted AND merged_into IS NULL;
-- Contacts change rarely: straight into the index, so no search reads a pending list.
CREATE INDEX contacts_search ON contacts USING gin (search) WITH (fastupdate = off);
CREATE INDEX contacts_tags ON contacts USING gin (tags);

-- The same lexemes as `contacts.search`, one row each, in a B-tree: a rare search's prefix
-- lookup reads them in order and stops at the row it needs no more of, where the GIN index
-- collects every lexeme the prefix starts first (100,000 phone tails: a tenth of a second).
-- Byte order ("C"), so that a prefix's lexemes are one range of the index.
CREATE TABLE contact_terms (
    tenant_id   UUID NOT NULL,
    term        TEXT COLLATE "C" NOT NULL,
    contact_id  UUID NOT NULL,
    PRIMARY KEY (tenant_id, term, contact_id)
);

CREATE FUNCTION index_contact_terms() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM contact_terms
         WHERE tenant_id = OLD.tenant_id AND term = ANY(tsvector_to_array(OLD.search)) AND contact_id = OLD.id;
    END IF;
    INSERT INTO contact_terms (tenant_id, term, contact_id)
    SELECT NEW.tenant_id, term, NEW.id FROM unnest(tsvector_to_array(NEW.search)) AS term;
    RETURN NULL;
END
$$;

CREATE TRIGGER contact_terms_insert AFTER INSERT ON contacts
    FOR EACH ROW EXECUTE FUNCTION index_contact_terms();
CREATE TRIGGER contact_terms_update AFTER UPDATE ON contacts
    FOR EACH ROW WHEN (OLD.search IS DISTINCT FROM NEW.search) EXECUTE FUNCTION index_contact_terms();

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
    priority               TEXT NOT NULL DEFAULT 'normal',
    snoozed_until          TIMESTAMPTZ,
    tags                   TEXT[] NOT NULL DEFAULT '{}',
    subject                TEXT,
    last_message_id        UUID,
    last_message_preview   TEXT,
    last_message_direction TEXT,
    last_message_at        TIMESTAMPTZ,
    last_inbound_at        TIMESTAMPTZ,
    window_expired_at      TIMESTAMPTZ,
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
-- No GIN index on conversations: every message rewrites the row (its last activity is in
-- the btree indexes above), and GIN inserts would cost more than the rest of the update.
-- Tags have their own table; text search goes through contacts and messages.

CREATE TABLE conversation_tags (
    conversation_id  UUID NOT NULL,
    tenant_id        UUID NOT NULL,
    tag              TEXT NOT NULL,
    PRIMARY KEY (conversation_id, tag)
);
CREATE INDEX conversation_tags_tag ON conversation_tags (tenant_id, tag);

-- Conversations per status, channel, assignee, division and unread flag, kept by triggers:
-- the inbox's tab counts and totals are sums over a few rows, not counts over every
-- conversation of the tenant.
CREATE TABLE conversation_counts (
    tenant_id      UUID NOT NULL,
    status         TEXT NOT NULL,
    channel        TEXT NOT NULL,
    assignee_id    UUID,
    division_id    UUID,
    unread         BOOLEAN NOT NULL,
    conversations  BIGINT NOT NULL,
    UNIQUE NULLS NOT DISTINCT (tenant_id, status, channel, assignee_id, division_id, unread)
);

-- Names resolve in the generation the function was created in, whoever writes.
CREATE FUNCTION count_conversation() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    -- Upserts both ways: they find the row through the unique index (a plain UPDATE with
    -- IS NOT DISTINCT FROM would scan the table, and a batch leaves many row versions).
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO conversation_counts AS k
               (tenant_id, status, channel, assignee_id, division_id, unread, conversations)
        VALUES (OLD.tenant_id, OLD.status, OLD.channel, OLD.assignee_id, OLD.division_id, OLD.unread_count > 0, -1)
        ON CONFLICT (tenant_id, status, channel, assignee_id, division_id, unread)
        DO UPDATE SET conversations = k.conversations - 1;
    END IF;
    INSERT INTO conversation_counts AS k
           (tenant_id, status, channel, assignee_id, division_id, unread, conversations)
    VALUES (NEW.tenant_id, NEW.status, NEW.channel, NEW.assignee_id, NEW.division_id, NEW.unread_count > 0, 1)
    ON CONFLICT (tenant_id, status, channel, assignee_id, division_id, unread)
    DO UPDATE SET conversations = k.conversations + 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER conversations_counted_insert AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION count_conversation();
CREATE TRIGGER conversations_counted_update AFTER UPDATE ON conversations
    FOR EACH ROW WHEN (
        OLD.status IS DISTINCT FROM NEW.status OR OLD.channel IS DISTINCT FROM NEW.channel
        OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id OR OLD.division_id IS DISTINCT FROM NEW.division_id
        OR (OLD.unread_count > 0) IS DISTINCT FROM (NEW.unread_count > 0)
    ) EXECUTE FUNCTION count_conversation();

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
    attachments          JSONB NOT NULL DEFAULT '[]',
    error                TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    search               TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', coalesce(text, ''))) STORED
);
CREATE INDEX messages_conversation ON messages (conversation_id, position);
-- Messages arrive all the time: batched through a pending list, which every search reads
-- through, so it is kept to the shortest allowed (64 kB instead of 4 MB: with 17 pages
-- pending, a rare word's search cost half as much again).
CREATE INDEX messages_search ON messages USING gin (search) WITH (gin_pending_list_limit = 64);

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
