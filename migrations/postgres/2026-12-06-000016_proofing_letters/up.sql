-- Verify by mail: a letter with a one-time code to the verified address. The code is kept as
-- a keyed hash; the name, address and code for the printer are sealed under the person's data
-- key (`mailing`) only until an operator marks the letter sent, then wiped.
CREATE TABLE proofing_letters (
    id TEXT PRIMARY KEY,
    verification_id TEXT NOT NULL REFERENCES identity_verifications(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    mailing TEXT,
    -- queued, sent, used, void (too many wrong codes), cancelled
    status TEXT NOT NULL,
    -- wrong codes entered while this letter was waiting
    tries INTEGER NOT NULL DEFAULT 0,
    requested_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    -- the admin client's id that marked it sent
    sent_by TEXT,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
CREATE INDEX proofing_letters_user ON proofing_letters (user_id, requested_at);
CREATE INDEX proofing_letters_status ON proofing_letters (status, requested_at);
CREATE INDEX proofing_letters_verification ON proofing_letters (verification_id);
