-- SQLite can't drop a column that is a foreign key: the table is rebuilt without it.
DROP INDEX referee_agents_user;
CREATE TABLE referee_agents_before (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    certified_until TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    disabled BOOLEAN NOT NULL DEFAULT 0
);
INSERT INTO referee_agents_before
    SELECT id, name, email, certified_until, created_at, created_by, disabled FROM referee_agents;
DROP TABLE referee_agents;
ALTER TABLE referee_agents_before RENAME TO referee_agents;
