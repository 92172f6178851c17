ALTER TABLE grants DROP COLUMN claims_request;
