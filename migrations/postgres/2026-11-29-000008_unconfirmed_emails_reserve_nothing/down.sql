DELETE FROM user_emails WHERE NOT verified;
DROP INDEX user_emails_user_email;
DROP INDEX user_emails_confirmed_email;
ALTER TABLE user_emails ADD CONSTRAINT user_emails_email_key UNIQUE (email);
