-- The catalog: one row per tenant (a broker), each with its own database and roles.
CREATE TABLE tenants (
    slug text PRIMARY KEY
        CHECK (slug ~ '^[a-z][a-z0-9]*(-[a-z0-9]+)*$' AND length(slug) <= 32),
    database_name text NOT NULL UNIQUE,
    owner_role text NOT NULL,
    application_role text NOT NULL,
    sequencer_role text NOT NULL,
    -- Passwords exist only on an external server; the embedded cluster trusts its private socket.
    owner_password text,
    application_password text,
    sequencer_password text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Host names a tenant answers on (console, portal); the Host header resolves the tenant.
CREATE TABLE tenant_hosts (
    host text PRIMARY KEY CHECK (host = lower(host) AND host <> ''),
    tenant_slug text NOT NULL REFERENCES tenants (slug) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Serves the host list of one tenant (`vigil tenant list`).
CREATE INDEX index_tenant_hosts_on_tenant_slug ON tenant_hosts (tenant_slug);
