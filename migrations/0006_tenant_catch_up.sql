-- Per-tenant catch-up (the realtime stream) walks a tenant's events in (tx_id, position) order.
CREATE INDEX events_tenant_tx_order ON events (tenant_id, tx_id, position);
