-- The networks each account signed in from (a /24 for IPv4, a /48 for IPv6 by default) and
-- when it last did: a known browser from a network not seen lately still gets a new-sign-in
-- alert. In the database, so every node agrees.
CREATE TABLE sign_in_networks (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    network TEXT NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, network)
);

-- The language a support ticket was written in, for the replies (en, es); NULL for tickets
-- filed before it was kept.
ALTER TABLE support_tickets ADD COLUMN locale TEXT;
