-- The sequencer's side tables (architecture decision 6, docs/decisions/0010): written once, after
-- commit, by the tenant's sequencer role only. `horizon` is the snapshot xmin of the batch that
-- wrote the row: every transaction below it had ended, so a restart resumes from the last row.
CREATE TABLE audit_chain (
    entry_id bigint PRIMARY KEY REFERENCES audit_entries (id),
    chain_seq bigint NOT NULL UNIQUE CHECK (chain_seq > 0),
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    horizon xid8 NOT NULL,
    sequenced_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
SELECT vigil_make_append_only('audit_chain');

CREATE TABLE outbox_positions (
    event_id uuid PRIMARY KEY,
    position bigint NOT NULL UNIQUE CHECK (position > 0),
    horizon xid8 NOT NULL,
    sequenced_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
SELECT vigil_make_append_only('outbox_positions');

GRANT SELECT, INSERT ON audit_chain, outbox_positions TO vigil_sequencer;
GRANT SELECT ON audit_chain, outbox_positions TO vigil_application;
