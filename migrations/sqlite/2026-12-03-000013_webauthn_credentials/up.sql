-- Security keys and passkeys. `credential` is webauthn-rs's credential record (JSON): the public
-- key, the signature counter and the backup flags; no secret. A credential id belongs to one
-- account only.
CREATE TABLE webauthn_credentials (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    aaguid TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials(user_id);
