-- Refusals counted while a lock holds (decision 0014). While a login is locked or an address is
-- blocked, the first refused attempt is recorded in full (entry and event) and each later one
-- only adds one to `refusals` on the throttle row. When the lock's window has ended, one entry
-- and one event record the count with the first and last time, and the columns are cleared.
--
-- `refusal_window_ends_at` names the window the count belongs to: the lock's end when its first
-- refusal was counted. `refusals` includes that first, fully recorded refusal.

ALTER TABLE login_throttles
    ADD COLUMN refusals integer NOT NULL DEFAULT 0 CHECK (refusals >= 0),
    ADD COLUMN first_refused_at timestamptz,
    ADD COLUMN last_refused_at timestamptz,
    ADD COLUMN refusal_window_ends_at timestamptz,
    -- Who the window's attempts were for: the account's principal, or, for a login identifier of
    -- no account, the keyed digest (`hmac:v1:…`) its failed attempts are recorded under.
    ADD COLUMN refused_principal_id uuid,
    ADD COLUMN refused_identifier text;

ALTER TABLE ip_login_failures
    ADD COLUMN refusals integer NOT NULL DEFAULT 0 CHECK (refusals >= 0),
    ADD COLUMN first_refused_at timestamptz,
    ADD COLUMN last_refused_at timestamptz,
    ADD COLUMN refusal_window_ends_at timestamptz;

-- Housekeeping's search for ended windows with refusals not yet recorded
-- (`LoginThrottle.windowsDue` and `AddressThrottle.windowsDue`).
CREATE INDEX index_login_throttles_on_refusal_window_ends_at ON login_throttles (refusal_window_ends_at) WHERE refusals > 1;
CREATE INDEX index_ip_login_failures_on_refusal_window_ends_at ON ip_login_failures (refusal_window_ends_at) WHERE refusals > 1;
