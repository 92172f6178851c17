-- Shared Signals, the operator's side. Who set a stream's status: the receiver (its own
-- POST /ssf/status) or an operator (the management API or `verity ssf`), which the receiver
-- may then not override; and per-stream delivery outcomes, counted in the transaction that
-- records each outcome so every node's deliveries add up.
ALTER TABLE ssf_streams ADD COLUMN status_set_by TEXT NOT NULL DEFAULT 'receiver';
-- operator changes: the admin client's id, or 'cli'; NULL when the receiver set it
ALTER TABLE ssf_streams ADD COLUMN status_agent TEXT;
ALTER TABLE ssf_streams ADD COLUMN status_changed_at TIMESTAMP;

-- No foreign key: a stream's counts outlive it, so the totals never go down.
CREATE TABLE ssf_delivery_counts (
    stream_id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    -- push: a 2xx answer; poll: acknowledged
    delivered BIGINT NOT NULL DEFAULT 0,
    -- push: a 400 answer; poll: a setErrs entry
    refused BIGINT NOT NULL DEFAULT 0,
    -- push attempts that failed and will be retried (5xx, no answer)
    failed BIGINT NOT NULL DEFAULT 0,
    -- dropped unacknowledged after ssf.retention_days
    expired BIGINT NOT NULL DEFAULT 0
);
