-- The person's language (en, es) for pages and notices sent later, and their time zone (IANA name)
-- as their browser last reported it; NULL until known.
ALTER TABLE users ADD COLUMN locale TEXT;
ALTER TABLE users ADD COLUMN time_zone TEXT;
