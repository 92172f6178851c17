-- Only a confirmed extra address is unique; unconfirmed claims on one address may coexist
-- (the first to confirm voids the others). SQLite can't drop a column's UNIQUE: rebuild.
CREATE TABLE user_emails_new (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    verified BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO user_emails_new (id, user_id, email, verified, created_at)
    SELECT id, user_id, email, verified, created_at FROM user_emails;
DROP TABLE user_emails;
ALTER TABLE user_emails_new RENAME TO user_emails;
CREATE INDEX user_emails_user ON user_emails(user_id);
CREATE UNIQUE INDEX user_emails_confirmed_email ON user_emails(email) WHERE verified;
CREATE UNIQUE INDEX user_emails_user_email ON user_emails(user_id, email);
