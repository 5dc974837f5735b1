"""Faults at the HTTP edge and in the database (issue 11) against the real binary.

  * Connections: 1,100 idle sockets under `ulimit -n 1024`, a head trickled byte by byte, a body
    that never ends, an idle keep-alive connection. Settings VIGIL_HTTP_IDLE_TIMEOUT,
    VIGIL_HTTP_HEAD_TIMEOUT, VIGIL_HTTP_BODY_TIMEOUT, VIGIL_HTTP_MAX_CONNECTIONS.
  * Database faults under a stream of writes (customer logins: each one writes a session and
    audit entries): a backend ended by `pg_terminate_backend`, a backend killed with SIGKILL (the
    postmaster then restarts every backend), PostgreSQL stopped for 30 s, and PostgreSQL frozen
    (SIGSTOP of the whole cluster). Every request is answered within 5 s (never a 500, never a
    hang), `/readyz` within 1 s, recovery needs no restart, SIGTERM then stops vigil and its
    PostgreSQL within 10 s.
  * Strict input: duplicate JSON keys, chunked bodies over the limit or with bad sizes, two Host
    headers, an absolute-form target naming another authority, requests the HTTP parser rejects.
  * `/metrics` is the operator's (VIGIL_METRICS_ALLOW, VIGIL_METRICS_TOKEN).

The cluster is driven from outside as vigil lays it out (ClusterLayout.swift): `<root>/pg` is the
data directory, `<root>/run` the socket directory, `<root>/log/postgres.log` the log, all owned
by the `postgres` user, which runs psql and pg_ctl here (`runuser -u postgres --`).

Timing slack: the limits the contract states (5 s per answer, 1 s for /readyz, 10 s to stop)
are checked with CLIENT_SLACK added, for the test's own threads on a loaded 2-core machine.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from conftest import VigilHarness, VigilProcess, cluster_roots, postgres_for_data_dir, stop_postmaster, tail, wait_until

PROBLEM_JSON = "application/problem+json"
PG_BIN = Path("/usr/lib/postgresql/15/bin")
CUSTOMER_LOGIN = "/api/customer/login"
STAFF_LOGIN = "/api/admin/auth/login"

# The contract's limits, and the slack a loaded 2-core machine gets on the client side.
ANSWER_LIMIT = 5.0
READY_LIMIT = 1.0
STOP_LIMIT = 10.0
CLIENT_SLACK = 0.5
# How long a load request waits before it counts as "no answer" (beyond ANSWER_LIMIT on purpose,
# so that the report shows how late a late answer was).
HANG_WAIT = 10.0
# "Recovery within a few seconds of PostgreSQL returning".
RECOVERY_LIMIT = 10.0

# Headers SecurityHeadersMiddleware adds to every response (compared with an ordinary response).
SECURITY_HEADER_NAMES = (
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "strict-transport-security",
    "cache-control",
)

# Settings of the shared edge server (short timeouts keep the module fast).
EDGE_HEAD_TIMEOUT = 2
EDGE_BODY_TIMEOUT = 2
EDGE_IDLE_TIMEOUT = 3
EDGE_MAX_BODY = 4096

DEFAULT_IDLE_TIMEOUT = 30
IDLE_SOCKETS = 1100
DESCRIPTOR_LIMIT = 1024


# --------------------------------------------------------------------------------------------
# Raw HTTP
# --------------------------------------------------------------------------------------------


class NoResponse(AssertionError):
    """The server closed (or reset) the connection without a complete response."""


@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes
    elapsed: float
    head_count: dict[str, int] = field(default_factory=dict)

    def json(self):
        return json.loads(self.body)

    def describe(self) -> str:
        return f"{self.status} {self.reason} {self.headers} {self.body[:300]!r}"


def _recv(sock: socket.socket, deadline: float) -> bytes:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError("deadline passed")
    sock.settimeout(remaining)
    return sock.recv(65536)


def read_response(sock: socket.socket, timeout: float, started: float | None = None) -> RawResponse:
    """Reads one HTTP/1.1 response (Content-Length, chunked, or up to EOF)."""
    started = started if started is not None else time.monotonic()
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = _recv(sock, deadline)
            if not chunk:
                raise NoResponse(f"connection closed without a (complete) response; got {data[:300]!r}")
            data += chunk
    except ConnectionResetError as error:
        raise NoResponse(f"connection reset without a (complete) response ({error}); got {data[:300]!r}") from error
    except TimeoutError as error:
        raise NoResponse(f"no complete response within {timeout:.1f} s; got {data[:300]!r}") from error
    elapsed = time.monotonic() - started
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    assert len(parts) >= 2 and parts[0].startswith("HTTP/"), f"not an HTTP status line: {lines[0]!r}"
    headers: dict[str, str] = {}
    counts: dict[str, int] = collections.Counter()
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        counts[name] += 1
        headers[name] = f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
    try:
        if "content-length" in headers:
            length = int(headers["content-length"])
            while len(rest) < length:
                chunk = _recv(sock, deadline)
                if not chunk:
                    break
                rest += chunk
            body = rest[:length]
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            while not rest.endswith(b"0\r\n\r\n"):
                chunk = _recv(sock, deadline)
                if not chunk:
                    break
                rest += chunk
            body, cursor = b"", rest
            while cursor:
                size_text, _, cursor = cursor.partition(b"\r\n")
                size = int(size_text.split(b";")[0] or b"0", 16)
                if size == 0:
                    break
                body, cursor = body + cursor[:size], cursor[size + 2 :]
        else:
            while True:
                chunk = _recv(sock, deadline)
                if not chunk:
                    break
                rest += chunk
            body = rest
    except (TimeoutError, ConnectionResetError):
        body = rest
    return RawResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body, elapsed, dict(counts))


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def exchange(port: int, data: bytes, timeout: float = 10.0) -> RawResponse:
    """Sends `data` on a fresh connection and reads one response (a server that answers before
    reading everything may reset the rest of the send: that is not an error here)."""
    with contextlib.closing(connect(port, timeout)) as sock:
        started = time.monotonic()
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return read_response(sock, timeout, started)


def closed_within(sock: socket.socket, seconds: float) -> tuple[float | None, bytes]:
    """Waits for the peer to close (EOF or reset): (seconds it took or None, bytes received)."""
    started = time.monotonic()
    deadline = started + seconds
    received = b""
    while True:
        try:
            chunk = _recv(sock, deadline)
        except TimeoutError:
            return None, received
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started, received
        if not chunk:
            return time.monotonic() - started, received
        received += chunk


def pointers_in(value) -> list[str]:
    """Every "pointer" member anywhere in a problem document (top level or in its `errors`)."""
    found = []
    if isinstance(value, dict):
        for key, member in value.items():
            if key == "pointer" and isinstance(member, str):
                found.append(member)
            else:
                found.extend(pointers_in(member))
    elif isinstance(value, list):
        for member in value:
            found.extend(pointers_in(member))
    return found


def assert_problem(status: int, headers, body: bytes, expected: int, slug: str | None = None, context: str = "") -> dict:
    lowered = {k.lower(): v for k, v in headers.items()}
    where = f"{context}: " if context else ""
    assert status != 500, f"{where}answered 500 (expected {expected} {slug or ''}): {body[:400]!r}"
    assert status == expected, f"{where}status {status}, expected {expected} {slug or ''}: {lowered} {body[:400]!r}"
    content_type = lowered.get("content-type", "")
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, f"{where}Content-Type {content_type!r}, expected {PROBLEM_JSON}: {body[:400]!r}"
    try:
        problem = json.loads(body)
    except ValueError:
        pytest.fail(f"{where}the problem body is not JSON: {body[:400]!r}")
    assert isinstance(problem, dict) and problem.get("status") == expected, f"{where}{problem}"
    assert isinstance(problem.get("type"), str), f"{where}{problem}"
    if slug is not None:
        assert problem["type"].endswith(slug), f"{where}type {problem['type']!r}, expected one ending {slug!r}: {problem}"
    return problem


def assert_raw_problem(response: RawResponse, expected: int, slug: str | None = None, context: str = "") -> dict:
    return assert_problem(response.status, response.headers, response.body, expected, slug, context)


def security_headers(headers) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in headers.items()}
    return {name: lowered[name] for name in SECURITY_HEADER_NAMES if name in lowered}


# --------------------------------------------------------------------------------------------
# Processes, descriptors and the cluster
# --------------------------------------------------------------------------------------------


def raise_own_descriptor_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= wanted, f"the test process needs {wanted} descriptors; its limit is {soft}"


def limited_binary(harness: VigilHarness, limit: int) -> Path:
    """A wrapper that execs the binary under `ulimit -n <limit>` (the pid stays the binary's)."""
    wrapper = harness.work / f"vigil-nofile-{limit}"
    wrapper.write_text(f'#!/bin/sh\nulimit -n {limit} || exit 97\nexec "{harness.binary}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def descriptor_limit_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError(f"no descriptor limit in /proc/{pid}/limits")


def cluster_root(server: VigilProcess) -> Path:
    for root in cluster_roots(server.data_dir):
        if (root / "pg" / "PG_VERSION").exists():
            return root
    raise AssertionError(f"no cluster found for {server.data_dir}")


def as_postgres(*argv: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True, timeout=timeout, cwd="/", stdin=subprocess.DEVNULL
    )


def psql(root: Path, sql: str, user: str = "postgres", database: str = "postgres", timeout: float = 10.0) -> str:
    result = as_postgres(str(PG_BIN / "psql"), "-X", "-h", str(root / "run"), "-U", user, "-d", database, "-tAc", sql, timeout=timeout)
    assert result.returncode == 0, f"psql ({user}@{database}) {sql!r} failed:\n{result.stderr}"
    return result.stdout.strip()


def pg_ctl(root: Path, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    return as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(root / "pg"), *args, timeout=timeout)


def start_cluster_as_vigil_does(root: Path) -> None:
    """`pg_ctl start` with the options EmbeddedCluster.start uses (vigil.conf stays in place)."""
    result = pg_ctl(root, "-l", str(root / "log" / "postgres.log"), "-w", "-t", "60", "-s", "start", timeout=70)
    assert result.returncode == 0, f"pg_ctl start failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n{tail(root / 'log' / 'postgres.log')}"


def postmaster_pid(root: Path) -> int:
    return int((root / "pg" / "postmaster.pid").read_text().split("\n", 1)[0].strip())


def cluster_pids(root: Path) -> list[int]:
    """The postmaster and its children."""
    master = postmaster_pid(root)
    children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True, timeout=10).stdout.split()
    return [master, *(int(pid) for pid in children)]


def app_backends(root: Path) -> list[tuple[int, str]]:
    """(pid, state) of the backends vigil's tenant pools hold (role vigil_t_<slug>_app)."""
    rows = psql(root, "SELECT pid, coalesce(state, '') FROM pg_stat_activity WHERE usename LIKE 'vigil\\_t\\_%\\_app' AND pid <> pg_backend_pid()")
    backends = []
    for line in rows.splitlines():
        pid, _, state = line.partition("|")
        if pid.strip().isdigit():
            backends.append((int(pid), state))
    return backends


BUSY_BACKEND_SQL = """
DO $$
DECLARE victim int;
BEGIN
  FOR attempt IN 1..%(attempts)d LOOP
    PERFORM pg_stat_clear_snapshot();
    SELECT pid INTO victim FROM pg_stat_activity
      WHERE usename LIKE 'vigil\\_t\\_%%\\_app' AND state IN ('active', 'idle in transaction') AND pid <> pg_backend_pid()
      LIMIT 1;
    IF victim IS NOT NULL THEN
      %(action)s
      RAISE NOTICE 'busy backend %%', victim;
      RETURN;
    END IF;
    PERFORM pg_sleep(0.005);
  END LOOP;
END $$;
"""


def busy_backend(root: Path, terminate: bool, within: float = 3.0) -> int | None:
    """An application backend caught mid-statement or mid-transaction (polled inside PostgreSQL,
    every 5 ms, so that a short statement is caught too); ended at once when `terminate`."""
    sql = BUSY_BACKEND_SQL % {"attempts": int(within / 0.005), "action": "PERFORM pg_terminate_backend(victim);" if terminate else ""}
    result = as_postgres(str(PG_BIN / "psql"), "-X", "-q", "-h", str(root / "run"), "-U", "postgres", "-d", "postgres", "-c", sql, timeout=within + 10)
    assert result.returncode == 0, f"psql failed:\n{result.stderr}"
    found = re.search(r"busy backend (\d+)", result.stderr)
    return int(found.group(1)) if found else None


def any_backend(root: Path) -> int:
    backends = app_backends(root)
    assert backends, "no backend of an application role (vigil_t_*_app) found in pg_stat_activity"
    return backends[0][0]


def stop_within_limit(server: VigilProcess) -> list[str]:
    """SIGTERM; the problems if vigil or its PostgreSQL outlive STOP_LIMIT (both are then stopped)."""
    problems = []
    started = time.monotonic()
    server.popen.send_signal(signal.SIGTERM)
    try:
        server.popen.wait(STOP_LIMIT + CLIENT_SLACK)
    except subprocess.TimeoutExpired:
        problems.append(f"vigil (pid {server.pid}) still running {STOP_LIMIT} s after SIGTERM; killed with SIGKILL")
        server.popen.kill()
        server.popen.wait(10)
    remaining = max(0.0, started + STOP_LIMIT + CLIENT_SLACK - time.monotonic())
    wait_until(lambda: not postgres_for_data_dir(server.data_dir), remaining)
    for pid, command in postgres_for_data_dir(server.data_dir):
        problems.append(f"postgres still running {time.monotonic() - started:.1f} s after SIGTERM: pid {pid}: {command}")
        with contextlib.suppress(Exception):
            for child in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, timeout=5).stdout.split():
                os.kill(int(child), signal.SIGCONT)
            os.kill(pid, signal.SIGCONT)
        stop_postmaster(pid)
    return problems


def log_excerpt(server: VigilProcess, lines: int = 8) -> str:
    """The last warnings and errors of vigil's JSON log (the whole tail when there are none)."""
    picked = [line for line in server.log().splitlines() if '"level":"info"' not in line and '"level":"debug"' not in line]
    return "\n".join(line[:400] for line in picked[-lines:]) or tail(server.log_path, lines)


def demo_credentials(server: VigilProcess) -> dict:
    return json.loads((server.data_dir / "demo-credentials.json").read_text())


# --------------------------------------------------------------------------------------------
# A stream of writes, and /readyz polled beside it
# --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    at: float  # monotonic time the request was sent
    elapsed: float
    status: int | None  # None: no HTTP answer
    problem_type: str = ""
    retry_after: str | None = None
    content_type: str = ""
    body: str = ""
    error: str = ""

    def describe(self, origin: float) -> str:
        what = f"{self.status} {self.problem_type or self.body[:120]}" if self.status is not None else f"no answer: {self.error}"
        return f"t={self.at - origin:+.1f}s took {self.elapsed:.2f}s: {what}"


def measure(send, limit: float) -> Outcome:
    started = time.monotonic()
    try:
        response = send(limit)
    except requests.RequestException as error:
        return Outcome(started, time.monotonic() - started, None, error=type(error).__name__ + ": " + str(error)[:200])
    elapsed = time.monotonic() - started
    outcome = Outcome(
        started, elapsed, response.status_code, retry_after=response.headers.get("Retry-After"),
        content_type=response.headers.get("Content-Type", ""), body=response.text[:300],
    )
    if outcome.content_type.startswith(PROBLEM_JSON):
        with contextlib.suppress(ValueError, AttributeError):
            outcome.problem_type = response.json().get("type", "")
    return outcome


class WriteLoad:
    """`writers` threads logging demo customers in, one after another, and one thread polling /readyz."""

    def __init__(self, server: VigilProcess, customers: list[dict], writers: int = 3):
        self.server = server
        self.customers = customers[:writers]
        self.writes: list[Outcome] = []
        self.readiness: list[Outcome] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(customer,), daemon=True) for customer in self.customers]
        self.threads.append(threading.Thread(target=self._poll_readiness, daemon=True))
        self.origin = time.monotonic()

    def __enter__(self) -> "WriteLoad":
        self.origin = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(HANG_WAIT + 5)

    def _write(self, customer: dict) -> None:
        url = self.server.url(CUSTOMER_LOGIN)
        body = {"email": customer["email"], "password": customer["password"]}
        while not self.stopping.is_set():
            outcome = measure(lambda limit: requests.post(url, json=body, timeout=(3, limit), headers={"Connection": "close"}), HANG_WAIT)
            with self.lock:
                self.writes.append(outcome)
            if outcome.status is None or outcome.status >= 500:
                time.sleep(0.1)

    def _poll_readiness(self) -> None:
        url = self.server.url("/readyz")
        while not self.stopping.is_set():
            outcome = measure(lambda limit: requests.get(url, timeout=(3, limit), headers={"Connection": "close"}), 5.0)
            with self.lock:
                self.readiness.append(outcome)
            time.sleep(0.2)

    def wait_for_writes(self, count: int, status: int = 200, within: float = 20.0) -> None:
        ok = wait_until(lambda: sum(1 for o in list(self.writes) if o.status == status) >= count, within)
        assert ok, f"fewer than {count} writes answered {status} within {within} s: {self.summary(self.writes)}"

    def summary(self, outcomes: list[Outcome]) -> str:
        statuses = collections.Counter((o.status, o.problem_type) for o in outcomes)
        slowest = max((o.elapsed for o in outcomes), default=0.0)
        return f"{len(outcomes)} requests, by status {dict(statuses)}, slowest {slowest:.2f} s"

    def report(self, outcomes: list[Outcome], bad: list[Outcome], what: str) -> str:
        listed = "\n  ".join(o.describe(self.origin) for o in sorted(bad, key=lambda o: o.at)[:15])
        return f"{len(bad)} {what} ({self.summary(outcomes)}):\n  {listed}"


def write_violations(outcomes: list[Outcome], allowed) -> list[Outcome]:
    """Outcomes answered late, not at all, or with a status `allowed(outcome)` refuses."""
    return [o for o in outcomes if o.status is None or o.elapsed > ANSWER_LIMIT + CLIENT_SLACK or not allowed(o)]


def readiness_violations(outcomes: list[Outcome]) -> list[Outcome]:
    bad = []
    for o in outcomes:
        if o.status is None or o.elapsed > READY_LIMIT + CLIENT_SLACK:
            bad.append(o)
        elif o.status == 200:
            if json.loads(o.body or "null") != {"status": "ready"}:
                bad.append(o)
        elif o.status != 503 or not o.content_type.startswith(PROBLEM_JSON) or not failing_checks(o):
            bad.append(o)
    return bad


def failing_checks(outcome: Outcome) -> dict:
    """The checks a 503 /readyz names as not passing."""
    try:
        checks = json.loads(outcome.body).get("checks")
    except (ValueError, AttributeError):
        return {}
    if not isinstance(checks, dict):
        return {}
    return {name: state for name, state in checks.items() if state not in ("ok", "ready", "passing", True)}


def is_answer_under_fault(outcome: Outcome) -> bool:
    """2xx or 4xx, or a 503 problem: never a 500."""
    if outcome.status is None:
        return False
    if 200 <= outcome.status < 500:
        return True
    return outcome.status == 503 and outcome.content_type.startswith(PROBLEM_JSON)


def is_database_unavailable(outcome: Outcome) -> bool:
    """2xx, or 503 database-unavailable (or request-deadline-exceeded, a handler stuck on a wait the
    pool does not bound) with Retry-After."""
    if outcome.status is None:
        return False
    if 200 <= outcome.status < 300:
        return True
    return (
        outcome.status == 503
        and outcome.content_type.startswith(PROBLEM_JSON)
        and outcome.problem_type.endswith(("database-unavailable", "request-deadline-exceeded"))
        and (outcome.retry_after or "").strip().isdigit()
    )


def login_recovers(server: VigilProcess, customer: dict, within: float) -> float | None:
    """Seconds until a customer login succeeds three times in a row, or None."""
    started = time.monotonic()
    body = {"email": customer["email"], "password": customer["password"]}
    streak = 0
    while time.monotonic() - started < within:
        try:
            response = server.post(CUSTOMER_LOGIN, json=body, timeout=(3, ANSWER_LIMIT + 2))
            streak = streak + 1 if response.status_code == 200 else 0
        except requests.RequestException:
            streak = 0
        if streak == 1:
            first_success = time.monotonic() - started
        if streak == 3:
            return first_success if first_success <= within else None
        if streak == 0:
            time.sleep(0.2)
    return None


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def edge_server(module_vigil: VigilHarness) -> VigilProcess:
    """One `vigil demo` with short HTTP timeouts and a small body limit, for the edge tests."""
    return module_vigil.start(
        "demo",
        env={
            "VIGIL_HTTP_HEAD_TIMEOUT": str(EDGE_HEAD_TIMEOUT),
            "VIGIL_HTTP_BODY_TIMEOUT": str(EDGE_BODY_TIMEOUT),
            "VIGIL_HTTP_IDLE_TIMEOUT": str(EDGE_IDLE_TIMEOUT),
            "VIGIL_MAX_BODY_BYTES": str(EDGE_MAX_BODY),
            "VIGIL_DB_STATEMENT_TIMEOUT": "3",
        },
    )


@pytest.fixture(scope="module")
def ordinary_security_headers(edge_server: VigilProcess) -> dict[str, str]:
    response = edge_server.get("/healthz")
    assert response.status_code == 200, response.text
    found = security_headers(response.headers)
    assert "x-content-type-options" in found, f"an ordinary response carries no security headers: {dict(response.headers)}"
    return found


# --------------------------------------------------------------------------------------------
# 1. Connections
# --------------------------------------------------------------------------------------------


def _idle_sockets_scenario(vigil: VigilHarness, idle_timeout: int | None) -> None:
    raise_own_descriptor_limit(IDLE_SOCKETS + 512)
    # `serve` (no demo seeding) starts in a few seconds; /healthz needs no tenant.
    env = {"VIGIL_MASTER_KEY": os.urandom(32).hex()}
    if idle_timeout is not None:
        env["VIGIL_HTTP_IDLE_TIMEOUT"] = str(idle_timeout)
    timeout = idle_timeout or DEFAULT_IDLE_TIMEOUT
    server = vigil.start("serve", binary=limited_binary(vigil, DESCRIPTOR_LIMIT), env=env)
    assert descriptor_limit_of(server.pid) == DESCRIPTOR_LIMIT, "the wrapper did not set the descriptor limit"

    sockets: list[socket.socket] = []
    connect_errors: collections.Counter = collections.Counter()
    try:
        for _ in range(IDLE_SOCKETS):
            try:
                sockets.append(connect(server.port, timeout=5))
            except OSError as error:
                connect_errors[type(error).__name__] += 1
            if not server.running():
                break
        opened = time.monotonic()
        assert server.running(), (
            f"vigil died (exit {server.popen.returncode}) while {len(sockets)} idle sockets were open "
            f"under ulimit -n {DESCRIPTOR_LIMIT}:\n{tail(server.log_path, 15)}"
        )

        # Another client is answered: at once with 503 too-many-connections while over the cap, and
        # with 200 once the idle sockets are gone.
        answers: list[tuple[float, int | str]] = []
        healthy_at = None
        deadline = opened + timeout + 5
        while time.monotonic() < deadline and healthy_at is None:
            try:
                response = requests.get(server.url("/healthz"), timeout=(3, 3))
            except requests.RequestException as error:
                answers.append((round(time.monotonic() - opened, 1), type(error).__name__))
                assert server.running(), f"vigil died (exit {server.popen.returncode}):\n{tail(server.log_path, 15)}"
                time.sleep(0.2)
                continue
            answers.append((round(time.monotonic() - opened, 1), response.status_code))
            if response.status_code == 200:
                healthy_at = time.monotonic() - opened
            else:
                assert_problem(response.status_code, response.headers, response.content, 503, "too-many-connections", "a client over the cap")
                assert (response.headers.get("Retry-After") or "").strip().isdigit(), f"503 without Retry-After: {dict(response.headers)}"
                assert "close" in response.headers.get("Connection", "").lower(), f"503 without Connection: close: {dict(response.headers)}"
                time.sleep(0.2)
        assert server.running(), f"vigil died (exit {server.popen.returncode}):\n{tail(server.log_path, 15)}"
        assert answers and isinstance(answers[0][1], int), (
            f"vigil is running but the first request of another client got no HTTP answer; attempts (seconds, status or error): {answers[:10]}"
        )
        assert healthy_at is not None, (
            f"another client got no 200 within {timeout} + 5 s of opening {len(sockets)} idle sockets "
            f"(connect errors {dict(connect_errors)}); attempts (seconds, status or error): {answers[:8]} … {answers[-3:]}"
        )

        # Every idle socket is closed by the server (EOF or reset; a refusal response first is fine).
        selector = selectors.DefaultSelector()
        for sock in sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        still_open = set(sockets)
        close_deadline = opened + timeout + 5
        while still_open and time.monotonic() < close_deadline:
            for key, _ in selector.select(timeout=max(0.0, min(0.5, close_deadline - time.monotonic()))):
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(sock)
                    still_open.discard(sock)
        selector.close()
        assert not still_open, (
            f"{len(still_open)} of {len(sockets)} idle sockets still open {time.monotonic() - opened:.1f} s after they were "
            f"opened (idle timeout {timeout} s)"
        )
        assert server.running(), f"vigil died (exit {server.popen.returncode}):\n{tail(server.log_path, 15)}"
        assert server.get("/healthz", timeout=5).status_code == 200
    except AssertionError as error:
        # A vigil that died leaves its PostgreSQL behind: say so here, and stop it.
        leftovers = [] if server.running() else postgres_for_data_dir(server.data_dir)
        for pid, _ in leftovers:
            stop_postmaster(pid)
        if leftovers:
            raise AssertionError(f"{error}\n(vigil's PostgreSQL was left running: the test stopped it)") from None
        raise
    finally:
        for sock in sockets:
            sock.close()


def test_idle_sockets_under_descriptor_limit_are_closed_and_others_answered(vigil):
    """1,100 silent connections to a vigil limited to 1,024 descriptors, idle timeout 5 s."""
    _idle_sockets_scenario(vigil, idle_timeout=5)


def test_idle_sockets_with_default_timeouts(vigil):
    """The same with the default settings: closed within 30 s + 5 (well within two minutes)."""
    _idle_sockets_scenario(vigil, idle_timeout=None)


def test_trickled_head_is_answered_408_after_the_head_timeout(edge_server):
    sock = connect(edge_server.port, timeout=5)
    with contextlib.closing(sock):
        head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        first_byte_at = time.monotonic()
        sent = 0
        answered = False
        give_up = first_byte_at + EDGE_HEAD_TIMEOUT + 6
        while time.monotonic() < give_up:
            byte = head[sent : sent + 1] if sent < len(head) else b"a"
            try:
                sock.sendall(byte)
            except (BrokenPipeError, ConnectionResetError):
                answered = True
                break
            sent += 1
            # Between two bytes, look for an answer (so as not to write into a closed connection).
            ready = selectors.DefaultSelector()
            ready.register(sock, selectors.EVENT_READ)
            if ready.select(timeout=0.25):
                answered = True
            ready.close()
            if answered:
                break
        assert answered, f"no answer to a head trickled for {time.monotonic() - first_byte_at:.1f} s ({sent} bytes; head timeout {EDGE_HEAD_TIMEOUT} s)"
        response = read_response(sock, 5, first_byte_at)
        assert_raw_problem(response, 408, "request-timeout", "a trickled head")
        assert EDGE_HEAD_TIMEOUT - 0.5 <= response.elapsed <= EDGE_HEAD_TIMEOUT + 3, (
            f"408 came {response.elapsed:.1f} s after the first byte (head timeout {EDGE_HEAD_TIMEOUT} s)"
        )
        closed, _ = closed_within(sock, 3)
        assert closed is not None, "the connection stayed open after the 408"


def test_unfinished_body_is_answered_408_after_the_body_timeout(edge_server):
    sock = connect(edge_server.port, timeout=5)
    with contextlib.closing(sock):
        body = b'{"email":"slow@demo.vigil.test","password":"abcdefghijkl"}'
        sock.sendall(
            b"POST " + CUSTOMER_LOGIN.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body[:10]
        )
        head_done = time.monotonic()
        response = read_response(sock, EDGE_BODY_TIMEOUT + 6, head_done)
        assert_raw_problem(response, 408, "request-timeout", "a body that never ends")
        assert EDGE_BODY_TIMEOUT - 0.5 <= response.elapsed <= EDGE_BODY_TIMEOUT + 3, (
            f"408 came {response.elapsed:.1f} s after the head (body timeout {EDGE_BODY_TIMEOUT} s)"
        )
        closed, _ = closed_within(sock, 3)
        assert closed is not None, "the connection stayed open after the 408"


def test_idle_keep_alive_and_silent_connections_are_closed(edge_server):
    used = connect(edge_server.port, timeout=5)
    silent = connect(edge_server.port, timeout=5)
    with contextlib.closing(used), contextlib.closing(silent):
        used.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        response = read_response(used, 10)
        assert response.status == 200, response.describe()
        assert "close" not in response.headers.get("connection", "").lower(), "the server closed a keep-alive connection at once"
        limit = EDGE_IDLE_TIMEOUT + 3
        closed_used, _ = closed_within(used, limit)
        assert closed_used is not None, f"a keep-alive connection idle for {limit} s is still open (idle timeout {EDGE_IDLE_TIMEOUT} s)"
        assert closed_used >= EDGE_IDLE_TIMEOUT / 2, f"a keep-alive connection was closed after {closed_used:.1f} s only"
        closed_silent, received = closed_within(silent, 3)
        assert closed_silent is not None, f"a connection that never sent a byte is still open after more than {limit} s"
        assert not received or received.startswith(b"HTTP/1.1 408"), f"a silent connection got {received[:200]!r}"


# --------------------------------------------------------------------------------------------
# 2. Database faults under load
# --------------------------------------------------------------------------------------------


def _fault_under_load(vigil: VigilHarness, fault, settle: float, allowed, recovery_limit: float = RECOVERY_LIMIT) -> None:
    """Starts a demo, writes, applies `fault(root, load)` (which returns when the fault is over,
    with the problems it saw), keeps writing `settle` seconds, then checks every answer, recovery
    and the stop, and reports everything that went wrong at once."""
    server = vigil.start("demo")
    root = cluster_root(server)
    customers = demo_credentials(server)["customers"]
    problems: list[str] = []
    with WriteLoad(server, customers) as load:
        load.wait_for_writes(3)
        try:
            fault_problems = fault(root, load) or []
        finally:
            fault_over = time.monotonic()
        recovered = login_recovers(server, customers[5], recovery_limit)
        time.sleep(settle)
    fault_writes = list(load.writes)
    readiness = list(load.readiness)
    assert server.running(), f"vigil exited ({server.popen.returncode}) during the fault:\n{tail(server.log_path, 20)}"
    problems.extend(stop_within_limit(server))

    # What happened, for the record (shown with -rA or -s).
    print(f"writes: {load.summary(fault_writes)}; /readyz: {load.summary(readiness)}; "
          f"recovered {recovered if recovered is None else round(recovered, 2)} s after the fault; stop: {problems or 'within the limit'}")
    messages = list(fault_problems)
    if recovered is None:
        messages.append(f"no successful login within {recovery_limit} s after the fault ended (vigil not restarted)")
    bad = write_violations(fault_writes, allowed)
    if bad:
        messages.append(load.report(fault_writes, bad, f"writes not answered within {ANSWER_LIMIT} s with an allowed status"))
    bad_ready = readiness_violations(readiness)
    if bad_ready:
        messages.append(load.report(readiness, bad_ready, f"/readyz answers not within {READY_LIMIT} s as 200 ready or 503 with failing checks"))
    after = [o for o in fault_writes if o.at > fault_over + (recovered or recovery_limit) + 1]
    if after and not any(o.status == 200 for o in after):
        messages.append(f"no write succeeded after recovery: {load.summary(after)}")
    messages.extend(problems)
    assert not messages, "\n".join(messages) + f"\nvigil log (warnings and errors):\n{log_excerpt(server)}"


def test_terminated_backends_during_writes(vigil):
    """pg_terminate_backend of application backends (preferably mid-statement), three times."""

    def fault(root: Path, load: WriteLoad) -> None:
        for _ in range(3):
            if busy_backend(root, terminate=True) is None:
                psql(root, f"SELECT pg_terminate_backend({any_backend(root)})")
            time.sleep(1.5)

    _fault_under_load(vigil, fault, settle=3, allowed=is_answer_under_fault)


def test_sigkilled_backend_during_writes(vigil):
    """SIGKILL of an application backend: the postmaster ends every backend and recovers."""

    def fault(root: Path, load: WriteLoad) -> None:
        pid = busy_backend(root, terminate=False) or any_backend(root)
        os.kill(pid, signal.SIGKILL)
        # The postmaster ends the other backends, recovers, and accepts connections again.
        assert wait_until(lambda: psql_ok(root), 30, 0.2), "PostgreSQL did not come back after a backend was killed"
        time.sleep(2)

    _fault_under_load(vigil, fault, settle=3, allowed=is_answer_under_fault)


def psql_ok(root: Path) -> bool:
    with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
        return psql(root, "SELECT 1", timeout=3) == "1"
    return False


def test_postgres_stopped_for_30_seconds_under_load(vigil):
    down_for = 30.0

    def fault(root: Path, load: WriteLoad) -> None:
        stopped = pg_ctl(root, "-m", "fast", "-w", "-t", "30", "stop", timeout=40)
        assert stopped.returncode == 0, f"pg_ctl stop failed:\n{stopped.stdout}\n{stopped.stderr}"
        down_at = time.monotonic()
        try:
            time.sleep(down_for)
        finally:
            start_cluster_as_vigil_does(root)
        # While it was down (after the first 3 s), /readyz said so and named the failing check.
        window = [o for o in list(load.readiness) if down_at + 3 <= o.at <= down_at + down_for - 1]
        if not window:
            return ["no /readyz request was even sent while PostgreSQL was down"]
        if any(o.status != 503 or not failing_checks(o) for o in window):
            return [
                f"/readyz while PostgreSQL was down ({load.summary(window)}) must be 503 naming the failing check: "
                + "; ".join(o.describe(load.origin) for o in window[:4])
            ]
        return []

    _fault_under_load(vigil, fault, settle=3, allowed=is_database_unavailable)


def test_postgres_frozen_under_load(vigil):
    """Every PostgreSQL process stopped (SIGSTOP) for 10 s: a hang rather than a refusal."""
    frozen_for = 10.0

    def fault(root: Path, load: WriteLoad) -> None:
        pids = cluster_pids(root)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(frozen_for)
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    _fault_under_load(vigil, fault, settle=3, allowed=is_database_unavailable)


def test_application_roles_have_statement_timeouts(edge_server):
    """The edge server runs with VIGIL_DB_STATEMENT_TIMEOUT=3 (default 5)."""
    root = cluster_root(edge_server)
    roles = psql(root, "SELECT rolname FROM pg_roles WHERE rolname LIKE 'vigil\\_t\\_%\\_app' ORDER BY 1").split()
    assert roles, "no application role (vigil_t_*_app)"
    for role in roles:
        database = role.removesuffix("_app")
        settings = psql(
            root,
            "SELECT name || '=' || setting FROM pg_settings WHERE name IN ('statement_timeout', 'idle_in_transaction_session_timeout') ORDER BY 1",
            user=role,
            database=database,
        ).split()
        assert settings == ["idle_in_transaction_session_timeout=6000", "statement_timeout=3000"], (
            f"role {role} with VIGIL_DB_STATEMENT_TIMEOUT=3: {settings} (expected statement_timeout 3 s, idle in transaction 6 s)"
        )


# --------------------------------------------------------------------------------------------
# 3. Strict input at the edge
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body,pointer",
    [
        (b'{"email":"a@b.c","email":"x","password":"abcdefghijkl"}', "/email"),
        (b'{"email":"a@b.c","password":"abcdefghijkl","a":{"b":1,"b":2}}', "/a/b"),
        (b'{"email":"a@b.c","password":"abcdefghijkl","a":[{"x":1},{"y":1,"y":2}]}', "/a/1/y"),
        (b'{"email":"a@b.c","password":"abcdefghijkl","a/b":1,"a/b":2}', "/a~1b"),
        (b'{"email":"a\\u0000b","email":"a@b.c","password":"abcdefghijkl"}', "/email"),
    ],
    ids=["top", "nested", "in-array", "escaped", "nul-in-first"],
)
def test_duplicate_json_keys_are_refused_with_their_pointer(edge_server, body, pointer):
    response = edge_server.post(STAFF_LOGIN, data=body, headers={"Content-Type": "application/json"}, timeout=10)
    problem = assert_problem(response.status_code, response.headers, response.content, 400, "duplicate-key", f"body {body!r}")
    assert pointer in pointers_in(problem), f"body {body!r}: expected pointer {pointer!r} in {problem}"


def test_chunked_body_over_the_limit_is_413(edge_server):
    chunk = b"x" * 3000
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(2))
    request = (
        b"POST " + CUSTOMER_LOGIN.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
    )
    response = exchange(edge_server.port, request)
    assert_raw_problem(response, 413, context=f"a chunked body of {2 * len(chunk)} bytes (limit {EDGE_MAX_BODY})")


@pytest.mark.parametrize("size", [b"zz", b"-5", b"ffffffffffffffffff", b"5 5", b""], ids=["zz", "negative", "overflow", "space", "empty"])
def test_malformed_chunk_size_is_400(edge_server, size):
    request = (
        b"POST " + CUSTOMER_LOGIN.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + size + b"\r\n{\"a\":1}\r\n0\r\n\r\n"
    )
    response = exchange(edge_server.port, request)
    assert_raw_problem(response, 400, context=f"chunk size {size!r}")


def test_two_host_headers_are_400(edge_server):
    for second in (b"evil.example", b"127.0.0.1"):
        response = exchange(edge_server.port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: " + second + b"\r\nConnection: close\r\n\r\n")
        assert_raw_problem(response, 400, context=f"two Host headers (second {second!r})")


def test_absolute_form_naming_another_authority_is_400(edge_server):
    request = b"GET http://other.example/healthz HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % edge_server.port
    response = exchange(edge_server.port, request)
    assert_raw_problem(response, 400, context="absolute-form target http://other.example with Host 127.0.0.1")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\nConnection: close\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: x\r\nConnection: close\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello!",
    ],
    ids=["request-line", "header-without-colon", "space-in-name", "two-content-lengths"],
)
def test_requests_the_parser_rejects_get_a_problem_with_security_headers(edge_server, ordinary_security_headers, request_bytes):
    response = exchange(edge_server.port, request_bytes)
    assert_raw_problem(response, 400, context=f"{request_bytes[:60]!r}")
    missing = {name: value for name, value in ordinary_security_headers.items() if response.headers.get(name) != value}
    assert not missing, f"{request_bytes[:60]!r}: the 400 lacks security headers an ordinary response has: {missing}; got {response.headers}"


def test_edge_server_survived_the_bad_input(edge_server):
    assert edge_server.running(), f"vigil exited:\n{tail(edge_server.log_path, 20)}"
    assert edge_server.get("/readyz", timeout=5).status_code == 200


# --------------------------------------------------------------------------------------------
# 5. /metrics is the operator's
# --------------------------------------------------------------------------------------------


def test_metrics_answer_loopback_by_default(edge_server):
    response = edge_server.get("/metrics", timeout=5)
    assert response.status_code == 200, response.text[:300]
    assert "# TYPE" in response.text


def test_metrics_outside_the_allow_list_need_the_token(vigil):
    token = uuid.uuid4().hex
    server = vigil.start("demo", env={"VIGIL_METRICS_ALLOW": "10.0.0.0/8", "VIGIL_METRICS_TOKEN": token})
    for host in ("127.0.0.1", "localhost"):
        for headers in ({}, {"Authorization": f"Bearer {token}x"}, {"Authorization": "Bearer "}, {"Authorization": f"Basic {token}"}):
            response = server.get("/metrics", headers={"Host": host, **headers}, timeout=5)
            assert_problem(response.status_code, response.headers, response.content, 403, context=f"/metrics from 127.0.0.1 (not allowed), Host {host}, {headers or 'no token'}")
            assert "# TYPE" not in response.text
    allowed = server.get("/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert allowed.status_code == 200, f"/metrics with the operator's token: {allowed.status_code} {allowed.text[:300]}"
    assert "# TYPE" in allowed.text
