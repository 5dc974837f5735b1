-- Identity (spec 02): staff users, the credentials staff and customers log in with, their second
-- factor, sessions with rotating refresh tokens, login throttles and the tenant's token keys.
-- These are mutable rows; every change to them is made through the unit of work, so the audit
-- trail and the outbox record it in the same transaction.

CREATE TABLE staff_users (
    id uuid PRIMARY KEY,
    email text NOT NULL UNIQUE CHECK (email = lower(email)),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at timestamptz NOT NULL
);

-- One row per principal who can log in: staff (id = staff_users.id) and customers (id = the
-- customer's id). Secrets are sealed with the tenant key (`sealed:v1:…`), never stored in clear.
CREATE TABLE login_credentials (
    population text NOT NULL CHECK (population IN ('staff', 'customer')),
    principal_id uuid NOT NULL,
    email text NOT NULL CHECK (email = lower(email)),
    -- Null until the enrolment link sets it.
    password_hash text,
    password_changed_at timestamptz,
    disabled boolean NOT NULL DEFAULT false,
    totp_secret text,
    totp_enabled_at timestamptz,
    -- The last accepted TOTP time step: a code of that step or an earlier one is a replay.
    totp_last_step bigint,
    totp_pending_secret text,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (population, principal_id),
    UNIQUE (population, email)
);

CREATE TABLE backup_codes (
    population text NOT NULL,
    principal_id uuid NOT NULL,
    code_hash bytea NOT NULL CHECK (length(code_hash) = 32),
    created_at timestamptz NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (population, principal_id, code_hash),
    FOREIGN KEY (population, principal_id) REFERENCES login_credentials ON DELETE CASCADE
);

CREATE TABLE auth_sessions (
    id uuid PRIMARY KEY,
    population text NOT NULL,
    principal_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    ip text,
    user_agent text,
    device_label text,
    country text,
    amr text[] NOT NULL,
    auth_time timestamptz NOT NULL,
    -- When a second factor was last verified in this session (login or step-up).
    second_factor_at timestamptz,
    -- The refresh family's end: pushed forward by each rotation.
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text,
    FOREIGN KEY (population, principal_id) REFERENCES login_credentials
);
CREATE INDEX auth_sessions_active ON auth_sessions (population, principal_id, created_at) WHERE revoked_at IS NULL;

-- Refresh tokens are opaque; only their SHA-256 is kept. A rotated token stays, so presenting it
-- again is recognised as reuse and revokes its session (the family).
CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id uuid NOT NULL REFERENCES auth_sessions,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Short-lived tokens between a verified password and a finished login: `mfa` (a second factor is
-- due) and `enrollment` (a staff user must enrol TOTP first).
CREATE TABLE auth_challenges (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    purpose text NOT NULL CHECK (purpose IN ('mfa', 'enrollment')),
    population text NOT NULL,
    principal_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    failures integer NOT NULL DEFAULT 0,
    consumed_at timestamptz,
    FOREIGN KEY (population, principal_id) REFERENCES login_credentials ON DELETE CASCADE
);

-- Single-use links that set a password: the enrolment link of a new user, a reset.
CREATE TABLE password_tokens (
    token_hash bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    purpose text NOT NULL CHECK (purpose IN ('enrolment', 'reset')),
    population text NOT NULL,
    principal_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    FOREIGN KEY (population, principal_id) REFERENCES login_credentials ON DELETE CASCADE
);

-- Failure counters per login identifier, keyed by its HMAC digest whether or not an account has
-- that identifier, so unknown identifiers lock out exactly like known ones.
CREATE TABLE login_throttles (
    population text NOT NULL,
    subject text NOT NULL,
    failures integer NOT NULL DEFAULT 0,
    -- Lockouts in a row without a successful login: the back-off doubles with each.
    lockouts integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    last_failure_at timestamptz,
    PRIMARY KEY (population, subject)
);

CREATE TABLE ip_login_failures (
    ip text PRIMARY KEY,
    window_started_at timestamptz NOT NULL,
    failures integer NOT NULL
);

-- The tenant's Ed25519 token keys: the newest unretired one signs; every key stays in the JWKS
-- until it has been retired for longer than an access token lives.
CREATE TABLE token_signing_keys (
    kid text PRIMARY KEY,
    private_key text NOT NULL,
    public_key bytea NOT NULL CHECK (length(public_key) = 32),
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);

GRANT SELECT, INSERT, UPDATE ON staff_users, login_credentials, auth_sessions, refresh_tokens, auth_challenges,
    password_tokens, login_throttles, ip_login_failures TO vigil_application;
GRANT SELECT, INSERT, UPDATE, DELETE ON backup_codes TO vigil_application;
GRANT SELECT, INSERT ON token_signing_keys TO vigil_application;
GRANT UPDATE (retired_at) ON token_signing_keys TO vigil_application;
