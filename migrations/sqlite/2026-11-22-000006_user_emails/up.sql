-- Addresses besides the primary one (users.email, which is also the sign-in name).
CREATE TABLE user_emails (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    verified BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX user_emails_user ON user_emails(user_id);
