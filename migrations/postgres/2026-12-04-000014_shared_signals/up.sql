-- Shared Signals (SSF 1.0 transmitter). A relying party's event streams, the people it named
-- explicitly (add/remove subject), and the queue of events per stream. Events are stored as
-- unsigned claims and signed at delivery (like back-channel logout); `jti` is fixed at enqueue.
CREATE TABLE ssf_streams (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    audience TEXT NOT NULL,
    -- urn:ietf:rfc:8936 (poll) or urn:ietf:rfc:8935 (push)
    delivery_method TEXT NOT NULL,
    -- push: the receiver's URL; poll: NULL (the poll URL is Verity's own)
    endpoint_url TEXT,
    authorization_header TEXT,
    -- space-separated event-type URIs
    events_requested TEXT NOT NULL,
    events_delivered TEXT NOT NULL,
    description TEXT,
    -- enabled | paused | disabled
    status TEXT NOT NULL,
    status_reason TEXT,
    -- TRUE: everyone who consented to the client, minus those removed;
    -- FALSE: only those added, among those who consented
    all_subjects BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX ssf_streams_client ON ssf_streams(client_id);

CREATE TABLE ssf_stream_subjects (
    id TEXT PRIMARY KEY NOT NULL,
    stream_id TEXT NOT NULL REFERENCES ssf_streams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- TRUE: added; FALSE: removed (excluded from an all-subjects stream)
    included BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (stream_id, user_id)
);

CREATE TABLE ssf_events (
    id TEXT PRIMARY KEY NOT NULL,
    stream_id TEXT NOT NULL REFERENCES ssf_streams(id) ON DELETE CASCADE,
    jti TEXT NOT NULL UNIQUE,
    -- whom the event is about (NULL for stream events such as verification)
    user_id TEXT,
    event_type TEXT NOT NULL,
    -- JSON: the event's members (signed into a SET at delivery)
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    acked_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    -- push (slice 2): the node holding the delivery, until when
    lease_owner TEXT,
    lease_until TIMESTAMP
);
CREATE INDEX ssf_events_stream ON ssf_events(stream_id, acked_at, created_at);
CREATE INDEX ssf_events_expiry ON ssf_events(expires_at);
