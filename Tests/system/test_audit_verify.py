"""`vigil audit verify` against the binary: the tenant hash chain, tampering, append-only tables, lag.

One `vigil demo` run (module-scoped) makes a data directory whose tenant `demo` holds one sequenced
audit entry; tests that change data work on a `cp -a` copy of it (ownership and modes kept, so the
postgres-owned `pg/` stays usable). Data is changed as the postgres superuser, with the cluster
started by `pg_ctl` and stopped again before `vigil audit verify` runs.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import STOP_TIMEOUT, VigilHarness, postgres_for_data_dir, wait_until

PG_BIN = Path("/usr/lib/postgresql/15/bin")
TENANT_DATABASE = "vigil_t_demo"
HEAD = r"[0-9a-f]{64}"
INTACT_DEMO = re.compile(rf"tenant demo: intact: [0-9]+ entries, head ({HEAD})")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def assert_no_postgres(data_dir: Path, grace: float = 5.0) -> None:
    """No `postgres -D <cluster>` for this data dir (a short grace for a postmaster still exiting)."""
    wait_until(lambda: not postgres_for_data_dir(data_dir), grace)
    assert postgres_for_data_dir(data_dir) == [], f"postgres still running for {data_dir}"


def describe(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


def verify(vigil: VigilHarness, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return vigil.run("audit", "verify", *args, data_dir=data_dir)


def as_postgres(*argv: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
    )


def psql(data_dir: Path, sql: str, database: str = TENANT_DATABASE) -> subprocess.CompletedProcess:
    """Runs `sql` as the postgres superuser over the cluster's socket (data_dir/run); not checked."""
    return as_postgres(
        str(PG_BIN / "psql"), "-h", str(data_dir / "run"), "-d", database, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql
    )


def psql_ok(data_dir: Path, sql: str, database: str = TENANT_DATABASE) -> str:
    result = psql(data_dir, sql, database)
    assert result.returncode == 0, f"psql {sql!r} failed:\n{describe(result)}"
    return result.stdout.strip()


@contextlib.contextmanager
def cluster_started(data_dir: Path):
    """The data dir's cluster started with pg_ctl as postgres (socket in data_dir/run); stopped after.

    `-k` puts the socket in this data dir's run/ even in a copy, whose vigil.conf still names the
    socket directory of the original (vigil rewrites it at its next start).
    """
    pg_ctl = str(PG_BIN / "pg_ctl")
    cluster = str(data_dir / "pg")
    started = as_postgres(
        pg_ctl, "-D", cluster, "-o", f"-k {data_dir / 'run'}", "-l", str(data_dir / "log" / "system-test.log"), "-w", "start"
    )
    assert started.returncode == 0, f"pg_ctl start failed:\n{describe(started)}"
    try:
        yield
    finally:
        stopped = as_postgres(pg_ctl, "-D", cluster, "-m", "fast", "-w", "stop")
        assert stopped.returncode == 0, f"pg_ctl stop failed:\n{describe(stopped)}"
    assert_no_postgres(data_dir)


def copy_data_dir(vigil: VigilHarness, source: Path) -> Path:
    """A `cp -a` copy of a stopped data directory (ownership and modes kept), tracked by the harness."""
    destination = vigil.new_data_dir()
    subprocess.run(["cp", "-a", str(source), str(destination)], check=True, timeout=120)
    return destination


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_data(module_vigil: VigilHarness) -> Path:
    """A data dir after one `vigil demo` run: tenant demo and its people seeded, every entry sequenced; server stopped."""
    server = module_vigil.start("demo")
    data_dir = server.data_dir
    # The sequencer gives every demo entry (tenant.created first) its chain position within about a second.
    wait_until(
        lambda: psql(data_dir, "SELECT count(*) > 1 AND count(*) = (SELECT count(*) FROM audit_chain) FROM audit_entries").stdout.strip() == "t",
        10,
        interval=0.2,
    )
    time.sleep(0.5)
    server.popen.send_signal(signal.SIGINT)
    try:
        server.popen.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"vigil demo did not stop within {STOP_TIMEOUT} s of SIGINT:\n{server.log()[-3000:]}")
    assert server.popen.returncode == 0, f"vigil demo exited {server.popen.returncode} on SIGINT:\n{server.log()[-3000:]}"
    assert_no_postgres(data_dir)
    return data_dir


@pytest.fixture
def demo_copy(vigil: VigilHarness, demo_data: Path) -> Path:
    """A private copy of the demo data dir, for a test that changes it."""
    return copy_data_dir(vigil, demo_data)


def intact_head(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, describe(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, describe(result)
    match = INTACT_DEMO.fullmatch(lines[0])
    assert match, describe(result)
    return match.group(1)


# --------------------------------------------------------------------------------------------
# Intact chains
# --------------------------------------------------------------------------------------------


def test_demo_chain_is_intact(vigil, demo_data):
    first = verify(vigil, demo_data)
    head = intact_head(first)
    assert head != "0" * 64
    assert_no_postgres(demo_data, grace=0)
    # Verifying changes nothing: the same head again.
    assert intact_head(verify(vigil, demo_data)) == head
    assert_no_postgres(demo_data, grace=0)


def test_tenant_option_selects_one_tenant(vigil, demo_data):
    everyone = intact_head(verify(vigil, demo_data))
    assert intact_head(verify(vigil, demo_data, "--tenant", "demo")) == everyone
    assert_no_postgres(demo_data, grace=0)


def test_unknown_tenant_cannot_run(vigil, demo_data):
    result = verify(vigil, demo_data, "--tenant", "nosuch")
    assert result.returncode == 3, describe(result)
    assert result.stderr.startswith("vigil: "), describe(result)
    assert "no tenant 'nosuch'" in result.stderr, describe(result)
    assert "Fatal error" not in result.stderr and "backtrace" not in result.stderr.lower()
    assert "intact" not in result.stdout and "BROKEN" not in result.stdout, describe(result)
    assert_no_postgres(demo_data, grace=0)


def test_no_tenants(vigil):
    data_dir = vigil.new_data_dir()
    result = verify(vigil, data_dir)
    assert result.returncode == 0, describe(result)
    assert result.stdout == "no tenants\n", describe(result)
    assert_no_postgres(data_dir, grace=0)


def test_verify_uses_the_cluster_of_a_running_server(vigil, demo_copy):
    expected = intact_head(verify(vigil, demo_copy))
    server = vigil.start("demo", data_dir=demo_copy)
    postmasters = postgres_for_data_dir(demo_copy)
    assert postmasters, "the server's embedded postgres should be running"

    assert intact_head(verify(vigil, demo_copy)) == expected, "a second demo start must not add to the chain"
    assert postgres_for_data_dir(demo_copy) == postmasters, "verify must leave the server's cluster running"
    assert server.running()
    assert server.get("/readyz").status_code == 200

    assert server.terminate() == 0
    assert_no_postgres(demo_copy)


# --------------------------------------------------------------------------------------------
# Tampering and append-only tables
# --------------------------------------------------------------------------------------------


def test_tampered_entry_breaks_the_chain(vigil, demo_copy):
    intact_head(verify(vigil, demo_copy))
    with cluster_started(demo_copy):
        psql_ok(
            demo_copy,
            "ALTER TABLE audit_entries DISABLE TRIGGER USER; "
            "UPDATE audit_entries SET action = 'tampered' WHERE id = 1; "
            "ALTER TABLE audit_entries ENABLE TRIGGER USER;",
        )
        assert psql_ok(demo_copy, "SELECT action FROM audit_entries WHERE id = 1") == "tampered"

    result = verify(vigil, demo_copy)
    assert result.returncode == 1, describe(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, describe(result)
    assert lines[0].startswith("tenant demo: BROKEN at entry id 1 (chain_seq 1): "), describe(result)
    assert "entry id 1 (chain_seq 1)" in result.stdout
    assert_no_postgres(demo_copy, grace=0)


APPEND_ONLY_STATEMENTS = [
    "UPDATE audit_entries SET action = 'x'",
    "DELETE FROM audit_entries",
    # A plain TRUNCATE is stopped first by audit_chain's foreign key; CASCADE reaches the trigger.
    "TRUNCATE audit_entries",
    "TRUNCATE audit_entries CASCADE",
    "UPDATE audit_chain SET chain_seq = chain_seq + 100",
    "DELETE FROM audit_chain",
    "TRUNCATE audit_chain",
]


@pytest.fixture(scope="module")
def superuser_cluster(module_vigil: VigilHarness, demo_data: Path):
    """A copy of the demo data dir with its cluster started by pg_ctl, for the superuser's attempts."""
    data_dir = copy_data_dir(module_vigil, demo_data)
    with cluster_started(data_dir):
        assert psql_ok(data_dir, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") == "t"
        yield data_dir


@pytest.mark.parametrize("sql", APPEND_ONLY_STATEMENTS)
def test_audit_tables_are_append_only_even_for_the_superuser(superuser_cluster, sql):
    entries = psql_ok(superuser_cluster, "SELECT id, action FROM audit_entries ORDER BY id")
    chain = psql_ok(superuser_cluster, "SELECT chain_seq, entry_id FROM audit_chain ORDER BY chain_seq")
    assert entries.splitlines()[0] == "1|tenant.created"
    result = psql(superuser_cluster, sql)
    assert result.returncode != 0, f"{sql} was accepted:\n{describe(result)}"
    refusal = "foreign key" if sql == "TRUNCATE audit_entries" else "append-only"
    assert refusal in result.stderr, f"{sql} was refused, but not as {refusal}:\n{describe(result)}"
    # Nothing changed.
    assert psql_ok(superuser_cluster, "SELECT id, action FROM audit_entries ORDER BY id") == entries
    assert psql_ok(superuser_cluster, "SELECT chain_seq, entry_id FROM audit_chain ORDER BY chain_seq") == chain


def test_refused_changes_leave_the_chain_intact(vigil, demo_copy):
    head = intact_head(verify(vigil, demo_copy))
    with cluster_started(demo_copy):
        for sql in APPEND_ONLY_STATEMENTS:
            assert psql(demo_copy, sql).returncode != 0, f"{sql} was accepted"
    assert intact_head(verify(vigil, demo_copy)) == head


# --------------------------------------------------------------------------------------------
# Entries waiting for their chain position
# --------------------------------------------------------------------------------------------


def test_long_unsequenced_entry_is_reported(vigil, demo_copy):
    with cluster_started(demo_copy):
        entry_id = psql_ok(
            demo_copy,
            "INSERT INTO audit_entries (actor_type, action, entity_type, created_at) "
            "VALUES ('system', 'late.entry', 'test', clock_timestamp() - interval '10 seconds') RETURNING id",
        )
    assert entry_id.isdigit() and entry_id != "1", entry_id

    result = verify(vigil, demo_copy)
    assert result.returncode == 2, describe(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, describe(result)
    match = re.fullmatch(
        rf"tenant demo: intact: [0-9]+ entries, head {HEAD}\W* but 1 entries unsequenced, "
        rf"the oldest \(id {entry_id}\) for ([0-9]+(?:\.[0-9]+)?) s",
        lines[0],
    )
    assert match, describe(result)
    assert float(match.group(1)) >= 10, describe(result)
    assert "unsequenced" in result.stdout
    assert_no_postgres(demo_copy, grace=0)
