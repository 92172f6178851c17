-- Only confirmed phones live here; a number being enrolled waits in the store until its code is entered.
CREATE TABLE phones (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    number_enc TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    masked TEXT NOT NULL,
    channel TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    confirmed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX phones_user ON phones(user_id);
CREATE INDEX phones_fingerprint ON phones(fingerprint);

CREATE TABLE totp_credentials (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_enc TEXT NOT NULL,
    last_step BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX totp_credentials_user ON totp_credentials(user_id);

CREATE TABLE backup_codes (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX backup_codes_user ON backup_codes(user_id);

-- The browser-id cookie of the device a session was created on (new-device alerts).
ALTER TABLE browser_sessions ADD COLUMN device_id TEXT NOT NULL DEFAULT '';
