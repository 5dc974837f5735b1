"""Acceptance criteria of 01-platform (CLI, embedded PostgreSQL, HTTP basics) against the binary."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import (
    VigilHarness,
    copy_binary,
    postgres_for_data_dir,
    postgres_processes,
    relocated_root,
    wait_until,
)

PROBLEM_JSON = "application/problem+json"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def assert_no_postgres(data_dir: Path, grace: float = 5.0) -> None:
    """No `postgres -D <cluster>` for this data dir (a short grace for a postmaster still exiting)."""
    wait_until(lambda: not postgres_for_data_dir(data_dir), grace)
    assert postgres_for_data_dir(data_dir) == [], f"postgres still running for {data_dir}"


def tenant_list(vigil: VigilHarness, data_dir: Path) -> list[dict]:
    result = vigil.run("tenant", "list", "--json", data_dir=data_dir)
    assert result.returncode == 0, f"tenant list failed ({result.returncode}):\n{result.stderr}"
    listing = json.loads(result.stdout)
    assert isinstance(listing, list)
    for entry in listing:
        assert set(entry) == {"slug", "database_url", "hosts"}, entry
    return listing


def by_slug(listing: list[dict]) -> dict[str, dict]:
    return {entry["slug"]: entry for entry in listing}


def psql(url: str, sql: str) -> str:
    result = subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"psql {url!r} failed:\n{result.stderr}"
    return result.stdout.strip()


def tenant_for_host(server, host: str) -> requests.Response:
    return server.get("/api/tenant", headers={"Host": host})


def assert_problem(status: int, content_type: str | None, body: bytes, expected_status: int, slug: str | None = None) -> dict:
    assert status == expected_status, f"status {status}, expected {expected_status}: {body[:500]!r}"
    assert content_type is not None and content_type.split(";")[0].strip() == PROBLEM_JSON, content_type
    problem = json.loads(body)
    assert isinstance(problem, dict)
    assert isinstance(problem.get("type"), str) and problem["type"].startswith("/problems/"), problem
    assert problem.get("status") == expected_status, problem
    assert problem.get("title"), problem
    if slug is not None:
        assert problem["type"] == f"/problems/{slug}", problem
    return problem


def raw_request(port: int, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, dict, bytes]:
    """A request written by hand (http.client), for what `requests` would not send."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        # A Host given by the test replaces http.client's own: two would be refused (RFC 9112).
        connection.putrequest(method, target, skip_host="Host" in headers, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        if body:
            connection.send(body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def assert_tracing_headers(headers) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered.get("x-request-id"), f"no X-Request-Id in {lowered}"
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", lowered.get("traceparent", "")), lowered


# --------------------------------------------------------------------------------------------
# demo: serving, credentials, HTTP basics
# --------------------------------------------------------------------------------------------


def test_demo_serves_and_writes_credentials(demo_server):
    ready = demo_server.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}
    assert demo_server.get("/healthz").status_code == 200

    credentials = demo_server.data_dir / "demo-credentials.json"
    assert credentials.is_file()
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    written = json.loads(credentials.read_text())
    assert written["tenant"] == "demo"
    assert written["base_url"] == f"http://127.0.0.1:{demo_server.port}"
    assert sorted(member["role"] for member in written["staff"]) == sorted(
        ["admin", "compliance", "manager", "agent", "support", "ib"]
    )
    assert len(written["customers"]) == 10


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_demo_tenant_answers_on_local_hosts(demo_server, host):
    response = tenant_for_host(demo_server, host)
    assert response.status_code == 200
    assert response.json() == {"tenant": "demo"}
    # With a port, as browsers send it.
    response = tenant_for_host(demo_server, f"{host}:{demo_server.port}")
    assert response.status_code == 200
    assert response.json() == {"tenant": "demo"}


def test_unknown_host_is_a_problem(demo_server):
    response = tenant_for_host(demo_server, "nobody.example")
    assert_problem(response.status_code, response.headers.get("Content-Type"), response.content, 404, "unknown-tenant")
    assert_tracing_headers(response.headers)


def test_operational_endpoints(demo_server):
    metrics = demo_server.get("/metrics")
    assert metrics.status_code == 200
    assert "# TYPE" in metrics.text
    openapi = demo_server.get("/api/openapi.yaml")
    assert openapi.status_code == 200
    assert openapi.text.lstrip().startswith("openapi:")


def test_every_response_carries_request_id_and_continues_the_trace(demo_server):
    for path in ["/healthz", "/readyz", "/metrics", "/api/tenant", "/api/no-such-route"]:
        response = demo_server.get(path, headers={"traceparent": TRACEPARENT})
        assert_tracing_headers(response.headers)
        version, trace_id, span_id, _ = response.headers["traceparent"].split("-")
        assert trace_id == TRACE_ID, f"{path}: trace not continued: {response.headers['traceparent']}"
        assert span_id != "00f067aa0ba902b7", f"{path}: the response must carry its own span id"
    # Without an incoming trace, a fresh one each time; request ids differ per request.
    first, second = demo_server.get("/healthz"), demo_server.get("/healthz")
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]
    assert first.headers["traceparent"].split("-")[1] != second.headers["traceparent"].split("-")[1]


def test_log_is_json_lines_and_keeps_request_and_trace_ids(demo_server):
    """Logs carry the request id and trace id intact, so a response can be found in the log."""
    trace_id = "12345678901234567890123456789012"  # digits only: must not be taken for a card number
    request_id = "sys-test-20261122-1234567"
    response = demo_server.get(
        "/api/tenant", headers={"X-Request-Id": request_id, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    )
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == request_id

    def access_line():
        for line in demo_server.log().splitlines():
            if request_id in line or '"route":"/api/tenant"' in line:
                entry = json.loads(line)
                if entry.get("request.id") == request_id or entry.get("trace.id") == trace_id:
                    return entry
        return None

    wait_until(lambda: access_line() is not None, 5)
    for line in demo_server.log().splitlines():
        json.loads(line)  # every stderr line is one JSON object
    entry = access_line()
    assert entry is not None, "no access-log line carries the request id / trace id unredacted:\n" + "\n".join(
        l for l in demo_server.log().splitlines() if "/api/tenant" in l
    )
    assert entry.get("request.id") == request_id, entry
    assert entry.get("trace.id") == trace_id, entry
    assert entry.get("status") in ("200", 200), entry


# --------------------------------------------------------------------------------------------
# Bad input from outside: a problem, never a 500
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "not a media type", ";;;", "application/jsonx", "json"],
)
def test_non_json_write_is_415(demo_server, content_type):
    headers = {"Host": "127.0.0.1", "Content-Length": "2"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    status, response_headers, body = raw_request(demo_server.port, "POST", "/api/tenant", headers, b"{}")
    assert status != 500
    assert_problem(status, response_headers.get("content-type"), body, 415)
    assert_tracing_headers(response_headers)


@pytest.mark.parametrize("length", [1024 * 1024 + 1, 2 * 1024 * 1024, 10**12])
def test_oversized_content_length_is_413(demo_server, length):
    headers = {"Host": "127.0.0.1", "Content-Type": "application/json", "Content-Length": str(length)}
    status, response_headers, body = raw_request(demo_server.port, "POST", "/api/tenant", headers)
    assert status != 500
    assert_problem(status, response_headers.get("content-type"), body, 413)
    assert_tracing_headers(response_headers)


@pytest.mark.parametrize("path", ["/api/no-such-route", "/api/tenant/extra", "/no-such-page", "/api/"])
def test_unknown_route_is_404(demo_server, path):
    status, headers, body = raw_request(demo_server.port, "GET", path, {"Host": "127.0.0.1"})
    assert status != 500
    assert_problem(status, headers.get("content-type"), body, 404)
    assert_tracing_headers(headers)


@pytest.mark.parametrize(
    "method,target",
    [("GET", "/api/tenant%00"), ("GET", "/api/te%00nant"), ("GET", "/%00"), ("GET", "/api/tenant?q=%00"), ("POST", "/api/x%00y")],
)
def test_nul_in_target_is_400(demo_server, method, target):
    headers = {"Host": "127.0.0.1"}
    if method == "POST":
        headers.update({"Content-Type": "application/json", "Content-Length": "2"})
    status, response_headers, body = raw_request(demo_server.port, method, target, headers, b"{}" if method == "POST" else b"")
    assert status != 500
    assert_problem(status, response_headers.get("content-type"), body, 400)
    assert_tracing_headers(response_headers)


def test_server_still_healthy_after_bad_input(demo_server):
    assert demo_server.running()
    assert demo_server.get("/readyz").status_code == 200


# --------------------------------------------------------------------------------------------
# Lifecycle of the embedded cluster
# --------------------------------------------------------------------------------------------


def test_sigterm_stops_postgres_and_restart_reuses_data(vigil):
    first = vigil.start("demo")
    data_dir = first.data_dir
    assert postgres_for_data_dir(data_dir), "the embedded postgres should run under <data>/pg"
    created = vigil.run("tenant", "create", "keep", "--host", "keep.example", data_dir=data_dir)
    assert created.returncode == 0, created.stderr

    assert first.terminate() == 0, f"vigil demo did not exit cleanly on SIGTERM:\n{first.log()[-3000:]}"
    assert_no_postgres(data_dir)

    second = vigil.start("demo", data_dir=data_dir)
    slugs = sorted(entry["slug"] for entry in tenant_list(vigil, data_dir))
    assert slugs == ["demo", "keep"], "the tenant created before must survive and demo must not be duplicated"
    assert tenant_for_host(second, "keep.example").json() == {"tenant": "keep"}
    assert tenant_for_host(second, "localhost").json() == {"tenant": "demo"}
    credentials = json.loads((data_dir / "demo-credentials.json").read_text())
    assert credentials["base_url"] == f"http://127.0.0.1:{second.port}"

    assert second.terminate() == 0
    assert_no_postgres(data_dir)


def test_kill9_leaves_cluster_that_next_start_recovers(vigil):
    first = vigil.start("demo")
    data_dir = first.data_dir
    postmasters = postgres_for_data_dir(data_dir)
    assert postmasters
    first.kill9()
    time.sleep(0.5)
    assert postgres_for_data_dir(data_dir) == postmasters, "kill -9 of vigil leaves its postgres running"

    second = vigil.start("serve", data_dir=data_dir)  # recovers by itself: no manual step
    assert second.get("/readyz").status_code == 200
    assert tenant_for_host(second, "localhost").json() == {"tenant": "demo"}

    assert second.terminate() == 0
    assert_no_postgres(data_dir)


@pytest.mark.parametrize("second_command", ["demo", "serve"])
def test_second_server_on_same_data_dir_is_refused(vigil, second_command):
    first = vigil.start("demo")
    other_port = str(first.port + 1 if first.port < 65535 else first.port - 1)
    second = vigil.run(second_command, "--port", other_port, data_dir=first.data_dir, timeout=90)
    assert second.returncode == 1, f"exit {second.returncode}:\n{second.stdout}\n{second.stderr}"
    assert "already running" in second.stderr, second.stderr
    assert str(first.data_dir) in second.stderr, "the message should name the data directory"
    assert "Fatal error" not in second.stderr and "backtrace" not in second.stderr.lower()

    assert first.running()
    assert first.get("/readyz").status_code == 200
    assert tenant_for_host(first, "localhost").json() == {"tenant": "demo"}
    credentials = json.loads((first.data_dir / "demo-credentials.json").read_text())
    assert credentials["base_url"] == f"http://127.0.0.1:{first.port}", "the refused instance must not touch the data"


def test_tenant_create_while_running_is_picked_up_without_restart(vigil):
    server = vigil.start("demo")
    data_dir = server.data_dir
    before = tenant_for_host(server, "acme.example")
    assert_problem(before.status_code, before.headers.get("Content-Type"), before.content, 404, "unknown-tenant")

    created = vigil.run("tenant", "create", "acme", "--host", "acme.example", data_dir=data_dir)
    assert created.returncode == 0, created.stderr
    assert "acme" in created.stdout

    tenants = by_slug(tenant_list(vigil, data_dir))
    assert set(tenants) == {"demo", "acme"}
    assert tenants["acme"]["hosts"] == ["acme.example"]
    assert sorted(tenants["demo"]["hosts"]) == ["127.0.0.1", "localhost"]
    assert psql(tenants["acme"]["database_url"], "select current_user") == "vigil_t_acme_owner"
    assert psql(tenants["demo"]["database_url"], "select current_user") == "vigil_t_demo_owner"

    wait_until(lambda: tenant_for_host(server, "acme.example").status_code == 200, 5)
    response = tenant_for_host(server, "acme.example")
    assert response.status_code == 200, response.text
    assert response.json() == {"tenant": "acme"}
    assert tenant_for_host(server, "localhost").json() == {"tenant": "demo"}

    # The same slug twice is an operator error, not a crash; the server is unaffected.
    again = vigil.run("tenant", "create", "acme", "--host", "acme2.example", data_dir=data_dir)
    assert again.returncode == 1, again.stderr
    assert again.stderr.startswith("vigil: "), again.stderr
    assert server.get("/readyz").status_code == 200

    assert server.running()
    assert server.terminate() == 0
    assert_no_postgres(data_dir)


def test_commands_without_a_server_start_and_stop_the_cluster(vigil):
    data_dir = vigil.new_data_dir()
    assert tenant_list(vigil, data_dir) == []
    assert_no_postgres(data_dir, grace=0)
    assert (data_dir / "pg" / "PG_VERSION").is_file()

    migrated = vigil.run("migrate", data_dir=data_dir)
    assert migrated.returncode == 0, migrated.stderr
    assert "Migrations are up to date." in migrated.stdout
    assert_no_postgres(data_dir, grace=0)

    created = vigil.run("tenant", "create", "beta", "--host", "beta.example", data_dir=data_dir)
    assert created.returncode == 0, created.stderr
    assert_no_postgres(data_dir, grace=0)

    tenants = by_slug(tenant_list(vigil, data_dir))
    assert list(tenants) == ["beta"]
    assert_no_postgres(data_dir, grace=0)

    server = vigil.start("serve", data_dir=data_dir)
    assert tenant_for_host(server, "beta.example").json() == {"tenant": "beta"}
    assert server.terminate() == 0
    assert_no_postgres(data_dir)


def test_env_var_data_dir_is_honoured(vigil):
    data_dir = vigil.new_data_dir()
    result = vigil.run("tenant", "list", "--json", env={"VIGIL_DATA_DIR": str(data_dir)})
    vigil.track_data_dir(data_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert (data_dir / "pg" / "PG_VERSION").is_file()
    assert_no_postgres(data_dir, grace=0)


def test_relocated_cluster_when_postgres_cannot_traverse_the_data_dir(vigil):
    data_dir = vigil.new_untraversable_data_dir()
    root = relocated_root(data_dir)
    assert not root.exists()
    try:
        server = vigil.start("demo", data_dir=data_dir)
        assert (root / "pg" / "PG_VERSION").is_file(), f"cluster expected under {root}"
        assert not (data_dir / "pg").exists()
        assert postgres_processes(root), f"postgres -D {root}/pg should be running"
        assert tenant_for_host(server, "localhost").json() == {"tenant": "demo"}
        assert stat.S_IMODE((data_dir / "demo-credentials.json").stat().st_mode) == 0o600

        tenants = by_slug(tenant_list(vigil, data_dir))
        assert psql(tenants["demo"]["database_url"], "select current_user") == "vigil_t_demo_owner"

        assert server.terminate() == 0
        assert_no_postgres(data_dir)

        # A command alone starts and stops the relocated cluster too.
        assert [entry["slug"] for entry in tenant_list(vigil, data_dir)] == ["demo"]
        assert_no_postgres(data_dir, grace=0)
    finally:
        for process in vigil.processes:
            if process.running():
                process.terminate()
        wait_until(lambda: not postgres_processes(root), 10)
        shutil.rmtree(root, ignore_errors=True)
    assert not root.exists()


# --------------------------------------------------------------------------------------------
# Migrations
# --------------------------------------------------------------------------------------------


def test_changed_applied_migration_stops_start_up(vigil, vigil_bin):
    data_dir = vigil.new_data_dir()
    first = vigil.run("migrate", data_dir=data_dir)
    assert first.returncode == 0, first.stderr

    modified = copy_binary(vigil_bin, vigil.work / "modified-bin")
    migration = modified.parent / "vigil_VigilStorage.resources" / "Migrations" / "catalog" / "0001_tenants.sql"
    assert migration.is_file(), "the copied binary's storage bundle must hold the catalog migrations"
    with open(migration, "a") as sql:
        sql.write("\n-- changed after it was applied\n")

    result = vigil.run("migrate", data_dir=data_dir, binary=modified)
    assert result.returncode == 1, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    assert "catalog/0001_tenants.sql" in result.stderr, result.stderr
    assert "changed" in result.stderr, result.stderr
    assert_no_postgres(data_dir, grace=0)

    server = vigil.start("serve", data_dir=data_dir, binary=modified, wait=False)
    try:
        server.popen.wait(120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve with a changed migration kept running:\n{server.log()[-3000:]}")
    assert server.popen.returncode == 1
    assert "catalog/0001_tenants.sql" in server.log() and "changed" in server.log()
    assert_no_postgres(data_dir)

    # The untouched binary still starts on the same data.
    original = vigil.start("serve", data_dir=data_dir)
    assert original.get("/readyz").status_code == 200
    assert original.terminate() == 0
    assert_no_postgres(data_dir)


# --------------------------------------------------------------------------------------------
# version and help
# --------------------------------------------------------------------------------------------

REQUIRED_VARIABLES = ["VIGIL_DATA_DIR", "VIGIL_HOST", "VIGIL_PORT", "VIGIL_CATALOG_URL", "VIGIL_TRUSTED_PROXIES"]


def test_version(vigil):
    result = vigil.run("version")
    assert result.returncode == 0
    assert re.fullmatch(r"vigil \d+\.\d+\.\d+\S*\n", result.stdout), result.stdout
    flag = vigil.run("--version")
    assert flag.returncode == 0
    assert flag.stdout.strip() == result.stdout.strip().removeprefix("vigil ")


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]], ids=["vigil --help", "vigil serve --help"])
def test_help_documents_configuration(vigil, argv):
    result = vigil.run(*argv)
    assert result.returncode == 0
    text = result.stdout + result.stderr
    missing = [name for name in [*REQUIRED_VARIABLES, "--data-dir"] if name not in text]
    assert not missing, f"`vigil {' '.join(argv)}` does not mention {missing}:\n{text}"


def test_serve_help_documents_every_variable_of_the_root_help(vigil):
    root = vigil.run("--help").stdout
    variables = sorted(set(re.findall(r"VIGIL_[A-Z_]+", root)))
    assert set(REQUIRED_VARIABLES) <= set(variables)
    serve = vigil.run("serve", "--help").stdout
    missing = [name for name in variables if name not in serve]
    assert not missing, f"`vigil serve --help` does not document {missing}"
