ALTER TABLE phones DROP COLUMN reviewed_at;
ALTER TABLE phones DROP COLUMN changed_at;
