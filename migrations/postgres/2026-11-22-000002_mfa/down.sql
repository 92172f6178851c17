ALTER TABLE browser_sessions DROP COLUMN device_id;
DROP TABLE backup_codes;
DROP TABLE totp_credentials;
DROP TABLE phones;
