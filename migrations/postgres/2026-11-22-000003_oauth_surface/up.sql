ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT 'authorization_code';
ALTER TABLE clients ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;

-- What a refresh needs to mint a new ID token without the original code.
ALTER TABLE grants ADD COLUMN offline_access BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE grants ADD COLUMN auth_time TIMESTAMP;
ALTER TABLE grants ADD COLUMN acr TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN amr TEXT NOT NULL DEFAULT '';
CREATE INDEX grants_session ON grants(session_id);

-- A refresh-token family is a grant; each rotation adds a row and marks the old one used.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);

-- Back-channel logout tokens waiting for delivery; survives restarts.
CREATE TABLE logout_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL,
    uri TEXT NOT NULL,
    logout_token TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX logout_deliveries_due ON logout_deliveries(delivered_at, next_attempt_at);
