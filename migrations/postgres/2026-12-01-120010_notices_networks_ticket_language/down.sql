ALTER TABLE support_tickets DROP COLUMN locale;
DROP TABLE sign_in_networks;
