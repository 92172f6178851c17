ALTER TABLE clients DROP COLUMN registered_dynamically;
ALTER TABLE clients DROP COLUMN sector_identifier;
ALTER TABLE clients DROP COLUMN subject_type;
ALTER TABLE clients DROP COLUMN require_par;
ALTER TABLE clients DROP COLUMN jwks_uri;
ALTER TABLE clients DROP COLUMN jwks;
ALTER TABLE clients DROP COLUMN token_endpoint_auth_method;
