-- A job rescheduled while a worker runs it (an SLA evaluation asked for again by a new event)
-- must run once more: each reschedule bumps the revision, and a worker only completes or
-- postpones the revision it claimed.
ALTER TABLE jobs ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
