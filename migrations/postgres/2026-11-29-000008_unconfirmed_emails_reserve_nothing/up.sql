-- Only a confirmed extra address is unique; unconfirmed claims on one address may coexist
-- (the first to confirm voids the others).
ALTER TABLE user_emails DROP CONSTRAINT user_emails_email_key;
CREATE UNIQUE INDEX user_emails_confirmed_email ON user_emails(email) WHERE verified;
CREATE UNIQUE INDEX user_emails_user_email ON user_emails(user_id, email);
