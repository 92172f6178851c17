DROP INDEX referee_agents_user;
ALTER TABLE referee_agents DROP COLUMN user_id;
