-- client_secret_basic / client_secret_post (either is accepted), none, or private_key_jwt.
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
-- private_key_jwt: the client's public keys, inline (JSON) or by URI.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN require_par BOOLEAN NOT NULL DEFAULT 0;
-- public or pairwise (OIDC Core §8.1); pairwise subjects are per sector identifier.
ALTER TABLE clients ADD COLUMN subject_type TEXT NOT NULL DEFAULT 'public';
ALTER TABLE clients ADD COLUMN sector_identifier TEXT;
-- Clients created through dynamic registration (RFC 7591).
ALTER TABLE clients ADD COLUMN registered_dynamically BOOLEAN NOT NULL DEFAULT 0;
