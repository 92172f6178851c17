-- Verified data only the person can unlock. A finished verification's personal data is sealed
-- under a vault key of its own, which is kept only wrapped: under a key derived from the
-- person's password, and under one derived from their personal key (each Argon2id with its
-- own salt). The server never holds it in the clear at rest. A password reset drops the
-- password wrap (`password_wrapped` NULL): the verification is suspended until the personal
-- key re-wraps it, or the person verifies again.
CREATE TABLE identity_vaults (
    verification_id TEXT PRIMARY KEY REFERENCES identity_verifications(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    -- the Argon2id parameters both wraps were derived with: argon2id;m=..,t=..,p=..
    kdf TEXT NOT NULL,
    password_salt TEXT,
    password_wrapped TEXT,
    personal_salt TEXT,
    personal_wrapped TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    -- when a password reset suspended it (NULL: not suspended)
    suspended_at TIMESTAMP,
    -- a personal key just made, until the person says they saved it: sealed under a key
    -- derived from the cookie of the session that made it (which the server doesn't keep), so
    -- only that browser can show it again
    shown_key TEXT
);
CREATE INDEX identity_vaults_user ON identity_vaults (user_id);
