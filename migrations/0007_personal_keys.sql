-- One data key per data subject (a contact). Personal fields of events are sealed with it;
-- erasing a subject deletes its key, which leaves those fields unreadable for good while
-- the events and their hash chains stay intact (crypto-shredding).
CREATE TABLE personal_keys (
    subject_id  UUID PRIMARY KEY,
    tenant_id   UUID,
    key         BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
