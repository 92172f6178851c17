-- Verification with an agent (trusted referee, NIST 800-63A): the operator's registered agents
-- with their training/certification expiry, and the people's cases (a video call in the
-- operator's own tool). The continuation code is kept as a keyed hash only; the case never
-- holds personal data (the evidence stays in the verification, sealed under the person's key).
CREATE TABLE referee_agents (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    certified_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- the admin client that registered the agent
    created_by TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE referee_cases (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    verification_id TEXT NOT NULL REFERENCES identity_verifications(id) ON DELETE CASCADE,
    -- scheduled, queued, claimed, verified, not_verified, fraud_suspected, expired, cancelled
    status TEXT NOT NULL,
    -- the step the verification was on when the person asked (it goes back there on expiry)
    from_step TEXT NOT NULL,
    continuation_code_hash TEXT NOT NULL,
    code_used_at TIMESTAMP,
    consent_at TIMESTAMP NOT NULL,
    consent_version TEXT NOT NULL,
    -- NULL: the next-available queue
    slot_start TIMESTAMP,
    meeting_link TEXT NOT NULL,
    claimed_by TEXT,
    claimed_at TIMESTAMP,
    -- what the agent recorded in the call (JSON object)
    checks TEXT NOT NULL DEFAULT '{}',
    decision TEXT,
    rationale TEXT,
    decided_by TEXT,
    decided_at TIMESTAMP,
    reminded_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX referee_cases_user ON referee_cases (user_id, status);
CREATE INDEX referee_cases_slot ON referee_cases (slot_start, status);
CREATE INDEX referee_cases_status ON referee_cases (status, created_at);
