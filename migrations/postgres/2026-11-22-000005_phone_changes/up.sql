-- When the number was last replaced (SIM-swap cooldown) and last confirmed as still current.
ALTER TABLE phones ADD COLUMN changed_at TIMESTAMP;
ALTER TABLE phones ADD COLUMN reviewed_at TIMESTAMP;
