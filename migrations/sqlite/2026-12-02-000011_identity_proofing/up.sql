-- Identity verification (IAL2). A verification spans days and operators read it, so it lives
-- here, not in the short-lived store. Personal data (the document's fields, the SSN, the
-- address, vendor transcripts) is sealed under the person's own data key
-- (identity_data_keys, wrapped by the master key): deleting that key erases it everywhere.
CREATE TABLE identity_data_keys (
    user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    wrapped_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE identity_verifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- in_progress, verified, held (a fraud flag waits for an operator), failed, removed, abandoned
    status TEXT NOT NULL,
    -- the page the person is on: document, selfie, ssn, review, phone, phone_code, done
    step TEXT NOT NULL,
    -- moved by every step, so two submissions of one step can't both advance it
    version INTEGER NOT NULL,
    -- the client whose IAL2 request started it; NULL from the account console
    origin_client_id TEXT,
    consent_at TIMESTAMP NOT NULL,
    consent_version TEXT NOT NULL,
    document_type TEXT,
    document_issuer TEXT,
    -- YYYY-MM-DD
    document_expiry TEXT,
    -- keyed hashes (HMAC under a master subkey): duplicates are found without keeping the numbers
    document_number_hash TEXT,
    ssn_hash TEXT,
    -- sealed JSON under the person's data key
    pii TEXT,
    -- JSON: each check that passed, with its vendor
    checks TEXT NOT NULL,
    -- the last reason a step refused, for operators
    last_failure TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    verified_at TIMESTAMP,
    expires_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP,
    removed_by TEXT,
    removed_reason TEXT
);
CREATE INDEX identity_verifications_user ON identity_verifications (user_id, created_at);
CREATE INDEX identity_verifications_ssn ON identity_verifications (ssn_hash);
CREATE INDEX identity_verifications_document ON identity_verifications (document_number_hash);
CREATE INDEX identity_verifications_status ON identity_verifications (status, updated_at);

-- Uploaded photos, sealed under the person's data key, kept only until their check has run
-- (plus proofing.image_retention_days).
CREATE TABLE proofing_images (
    id TEXT PRIMARY KEY,
    verification_id TEXT NOT NULL REFERENCES identity_verifications(id) ON DELETE CASCADE,
    -- front, back, selfie
    kind TEXT NOT NULL,
    content_type TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    discard_after TIMESTAMP
);
CREATE INDEX proofing_images_verification ON proofing_images (verification_id, kind);
CREATE INDEX proofing_images_discard ON proofing_images (discard_after);

-- Every vendor call: what was asked and answered (sealed, images as hashes), whether it was
-- charged against proofing.max_attempts.
CREATE TABLE proofing_attempts (
    id TEXT PRIMARY KEY,
    verification_id TEXT NOT NULL REFERENCES identity_verifications(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    ip TEXT,
    -- document, selfie, records, state_id, phone
    check_kind TEXT NOT NULL,
    vendor TEXT NOT NULL,
    -- running, passed, failed, unavailable
    outcome TEXT NOT NULL,
    charged BOOLEAN NOT NULL,
    -- keyed hash of the SSN or document number tried (many identities from one place is a signal)
    identity_hash TEXT,
    transcript TEXT,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX proofing_attempts_user ON proofing_attempts (user_id, created_at);
CREATE INDEX proofing_attempts_ip ON proofing_attempts (ip, created_at);
CREATE INDEX proofing_attempts_verification ON proofing_attempts (verification_id);

-- Fraud signals for operators: duplicate_ssn, duplicate_document, many_identities, sim_swap_phone.
CREATE TABLE proofing_flags (
    id TEXT PRIMARY KEY,
    verification_id TEXT NOT NULL REFERENCES identity_verifications(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    -- JSON, no personal data (e.g. the other account's id)
    detail TEXT NOT NULL,
    -- a held flag keeps the verification from counting until an operator decides
    holds BOOLEAN NOT NULL,
    -- open, cleared, confirmed
    status TEXT NOT NULL,
    resolution_reason TEXT,
    resolved_by TEXT,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP
);
CREATE INDEX proofing_flags_status ON proofing_flags (status, created_at);
CREATE INDEX proofing_flags_verification ON proofing_flags (verification_id);

-- What a relying party may receive: IAL2 at all, and which verified claims (space-separated;
-- social_security_number only when named).
ALTER TABLE clients ADD COLUMN ial2_allowed BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN verified_claims TEXT NOT NULL DEFAULT '';
