DROP TABLE ssf_events;
DROP TABLE ssf_stream_subjects;
DROP TABLE ssf_streams;
