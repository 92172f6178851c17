ALTER TABLE clients DROP COLUMN verified_claims;
ALTER TABLE clients DROP COLUMN ial2_allowed;
DROP TABLE proofing_flags;
DROP TABLE proofing_attempts;
DROP TABLE proofing_images;
DROP TABLE identity_verifications;
DROP TABLE identity_data_keys;
