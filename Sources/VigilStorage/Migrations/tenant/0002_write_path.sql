-- The write path (architecture decision 6): every state change appends its audit entry and its
-- outbox event in the same transaction. Both tables are insert-only; the sequencer gives them
-- their chain and replay positions after commit (audit module, audit_chain/outbox_positions).

-- Refuses any change to a row once written, for every role, the owner included.
CREATE FUNCTION vigil_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Makes `target` append-only: row triggers refuse UPDATE and DELETE, a statement trigger TRUNCATE.
-- A partition gets the TRUNCATE trigger only (`with_row_triggers` false): it inherits its parent's
-- row triggers, but TRUNCATE of a partition reaches no trigger of the parent.
CREATE FUNCTION vigil_make_append_only(target regclass, with_row_triggers boolean DEFAULT true) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF with_row_triggers THEN
        EXECUTE format(
            'CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON %s FOR EACH ROW EXECUTE FUNCTION public.vigil_refuse_change()',
            target
        );
    END IF;
    EXECUTE format(
        'CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION public.vigil_refuse_change()', target
    );
END;
$$;
REVOKE ALL ON FUNCTION vigil_make_append_only(regclass, boolean) FROM PUBLIC;

CREATE TABLE audit_entries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_type text NOT NULL CHECK (actor_type IN ('staff', 'customer', 'system', 'partner', 'anonymous')),
    actor_id text,
    actor_session_id text,
    actor_ip text,
    actor_user_agent text,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    customer_id uuid,
    login text,
    entity text,
    reason_code text,
    reason text,
    case_id text,
    before jsonb,
    after jsonb,
    details jsonb,
    balance_before text,
    balance_after text,
    margin_used_before text,
    margin_used_after text,
    source_service text,
    trace_id text,
    request_id text,
    -- The writing transaction: the sequencer's horizon tells committed rows from in-flight ones.
    xact_id xid8 NOT NULL DEFAULT pg_current_xact_id()
);
-- The sequencer's scan: entries written by transactions at or after its horizon.
CREATE INDEX index_audit_entries_on_xact_id ON audit_entries (xact_id);
-- A customer's trail (timeline, erasure checks).
CREATE INDEX index_audit_entries_on_customer_id_and_id ON audit_entries (customer_id, id) WHERE customer_id IS NOT NULL;

SELECT vigil_make_append_only('audit_entries');

-- Debezium outbox event router column names; partitioned by month so retention drops partitions.
CREATE TABLE outbox_events (
    id uuid NOT NULL,
    aggregatetype text NOT NULL,
    aggregateid text NOT NULL,
    type text NOT NULL,
    payload jsonb NOT NULL,
    schema_version integer NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    trace_id text,
    entity text,
    xact_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
CREATE INDEX index_outbox_events_on_xact_id ON outbox_events (xact_id);
SELECT vigil_make_append_only('outbox_events');
-- Catches events of a month whose partition was not made in time, so a write never fails for it.
CREATE TABLE outbox_events_default PARTITION OF outbox_events DEFAULT;
SELECT vigil_make_append_only('outbox_events_default', with_row_triggers => false);

-- Creates the monthly partitions from this month to `months_ahead` months on. SECURITY DEFINER so
-- the sequencer, which cannot create tables, can keep them ahead of time.
CREATE FUNCTION vigil_ensure_outbox_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    month_start date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    partition_name text;
    created integer := 0;
BEGIN
    FOR step IN 0..months_ahead LOOP
        partition_name := format('outbox_events_%s', to_char(month_start + make_interval(months => step), 'YYYY_MM'));
        IF to_regclass('public.' || partition_name) IS NULL THEN
            BEGIN
                EXECUTE format(
                    'CREATE TABLE public.%I PARTITION OF public.outbox_events FOR VALUES FROM (%L) TO (%L)',
                    partition_name,
                    (month_start + make_interval(months => step))::timestamp AT TIME ZONE 'UTC',
                    (month_start + make_interval(months => step + 1))::timestamp AT TIME ZONE 'UTC'
                );
            EXCEPTION WHEN check_violation THEN
                -- The default partition already holds events of that month (the partition came too
                -- late); they stay there, readable, and the later months are still made.
                RAISE WARNING 'outbox partition % not created: the default partition holds events of that month', partition_name;
                CONTINUE;
            END;
            PERFORM public.vigil_make_append_only(format('public.%I', partition_name)::regclass, with_row_triggers => false);
            EXECUTE format('GRANT SELECT ON public.%I TO vigil_application', partition_name);
            EXECUTE format('GRANT SELECT ON public.%I TO vigil_sequencer', partition_name);
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;
REVOKE ALL ON FUNCTION vigil_ensure_outbox_partitions(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION vigil_ensure_outbox_partitions(integer) TO vigil_sequencer;
SELECT vigil_ensure_outbox_partitions(2);

-- Idempotency-Key records: mutable (expired rows are deleted), one per scope and key. The stored
-- response body is sealed with tenant key `key_version` (it may hold personal data).
CREATE TABLE idempotency_records (
    principal text NOT NULL,
    route text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    response_status integer NOT NULL,
    response_content_type text,
    response_body bytea NOT NULL,
    key_version integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (principal, route, key)
);
-- The purge of expired records.
CREATE INDEX index_idempotency_records_on_expires_at ON idempotency_records (expires_at);

-- The keyring (decision 18): each tenant key wrapped by the master key, each customer's data key
-- wrapped by a tenant key. Tenant keys are insert-only (rotation adds a version).
CREATE TABLE keyring_tenant_keys (
    version integer PRIMARY KEY CHECK (version > 0),
    master_key_id text NOT NULL,
    wrapped bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
SELECT vigil_make_append_only('keyring_tenant_keys');

-- Destroying a customer's key overwrites `wrapped` with NULL: crypto-shredding of every sealed field.
CREATE TABLE customer_keys (
    customer_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    tenant_key_version integer NOT NULL REFERENCES keyring_tenant_keys (version),
    wrapped bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    destroyed_at timestamptz,
    PRIMARY KEY (customer_id, version),
    CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL))
);

-- Column grants: the application names what it records; ids, times and the writing transaction
-- come from the database, so a writer cannot back-date an entry or hide it below the sequencer's horizon.
GRANT SELECT ON audit_entries, outbox_events, outbox_events_default TO vigil_application;
GRANT INSERT (
    actor_type, actor_id, actor_session_id, actor_ip, actor_user_agent, action, entity_type, entity_id, customer_id, login,
    entity, reason_code, reason, case_id, before, after, details, balance_before, balance_after, margin_used_before,
    margin_used_after, source_service, trace_id, request_id
) ON audit_entries TO vigil_application;
GRANT INSERT (id, aggregatetype, aggregateid, type, payload, schema_version, trace_id, entity) ON outbox_events TO vigil_application;
GRANT SELECT, INSERT ON keyring_tenant_keys TO vigil_application;
GRANT SELECT, INSERT, DELETE ON idempotency_records TO vigil_application;
GRANT SELECT, INSERT ON customer_keys TO vigil_application;
GRANT UPDATE (wrapped, destroyed_at) ON customer_keys TO vigil_application;
GRANT SELECT ON audit_entries, outbox_events, outbox_events_default TO vigil_sequencer;
GRANT DELETE ON idempotency_records TO vigil_sequencer;
GRANT SELECT ON idempotency_records TO vigil_sequencer;
