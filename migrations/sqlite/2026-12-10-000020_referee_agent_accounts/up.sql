-- An agent may be linked to a Verity account: that account, signed in with its second factor
-- and stepped up, works cases at the agent desk (/referee). One agent per account.
ALTER TABLE referee_agents ADD COLUMN user_id TEXT REFERENCES users(id) ON DELETE SET NULL;
CREATE UNIQUE INDEX referee_agents_user ON referee_agents (user_id);
