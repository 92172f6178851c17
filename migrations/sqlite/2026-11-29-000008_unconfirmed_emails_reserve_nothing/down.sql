DELETE FROM user_emails WHERE NOT verified;
CREATE TABLE user_emails_old (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    verified BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO user_emails_old (id, user_id, email, verified, created_at)
    SELECT id, user_id, email, verified, created_at FROM user_emails;
DROP TABLE user_emails;
ALTER TABLE user_emails_old RENAME TO user_emails;
CREATE INDEX user_emails_user ON user_emails(user_id);
