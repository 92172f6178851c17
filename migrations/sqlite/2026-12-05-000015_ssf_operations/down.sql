DROP TABLE ssf_delivery_counts;
ALTER TABLE ssf_streams DROP COLUMN status_changed_at;
ALTER TABLE ssf_streams DROP COLUMN status_agent;
ALTER TABLE ssf_streams DROP COLUMN status_set_by;
