-- Issue 6: account recovery, support tickets, and the management API.

-- A deleted account keeps its row as a tombstone (personal data scrubbed) so the audit trail
-- still points somewhere.
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMP;
-- Set when an account reset removed every sign-in method: identity proofing (when it exists)
-- must verify the person again before trusting earlier results.
ALTER TABLE users ADD COLUMN identity_reverify_at TIMESTAMP;

-- Time-delayed account reset for someone who lost every second factor.
CREATE TABLE account_resets (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- pending | cancelled | completed
    status TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    ready_at TIMESTAMP NOT NULL,
    -- When the "you can now reset" link was mailed (the wait is over).
    link_sent_at TIMESTAMP,
    finished_at TIMESTAMP
);
CREATE INDEX account_resets_user ON account_resets(user_id);
CREATE INDEX account_resets_due ON account_resets(status, ready_at);

-- "Contact support": the id is the ticket number people see.
CREATE TABLE support_tickets (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    contact_email TEXT NOT NULL,
    category TEXT NOT NULL,
    message TEXT NOT NULL,
    -- open | closed
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE INDEX support_tickets_status ON support_tickets(status, created_at);

CREATE TABLE support_replies (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES support_tickets(id) ON DELETE CASCADE,
    -- The agent: the management-API client that sent it.
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX support_replies_ticket ON support_replies(ticket_id, created_at);

-- Management API: a mutation repeated with the same Idempotency-Key gets the first answer.
CREATE TABLE idempotency_keys (
    client_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, idem_key)
);

-- Broadcast notices (terms of service, maintenance), sent in batches by a resumable worker.
CREATE TABLE service_notices (
    id TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    -- JSON filter of the audience ({} = every active account).
    audience TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- The last user id handled (users are walked in id order), so a restart resumes.
    cursor_user_id TEXT,
    sent_count INTEGER NOT NULL,
    completed_at TIMESTAMP
);

-- One row per (notice, user): the primary key is what makes "never twice" hold.
CREATE TABLE notice_deliveries (
    notice_id TEXT NOT NULL REFERENCES service_notices(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (notice_id, user_id)
);

CREATE INDEX audit_events_kind_time ON audit_events(kind, created_at);
CREATE INDEX audit_events_time ON audit_events(created_at);
