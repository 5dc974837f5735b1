"""The OpenAPI document the server serves, held to its word by schemathesis (issue 11, item 7).

One `vigil demo`; schemathesis 4 (its `st run` command) reads the document from the server's own
`/api/openapi.yaml` and sends generated requests to every operation: the examples, coverage and
fuzzing phases, with a fixed seed and a bounded number of examples per operation, and every
check (`--checks all`: not_a_server_error, status_code_conformance, content_type_conformance,
response_headers_conformance, response_schema_conformance, negative_data_rejection,
positive_data_acceptance, unsupported_method, ignored_auth, …). The test passes only when the
run finds no failure and no error.

Callers. Every login happens before any fuzzing: fuzzed logins fail by the hundred and soon block
127.0.0.1 (50 failures in 15 minutes), after which even right passwords answer 429. Each staff
operation is called with a staff token (TOTP from `oathtool`, as in test_identity.py), each
customer operation with a customer token, the anonymous ones without a credential.

Order. Operations that end sessions or change the account (logout, session revocation, revoking
the others, password change, 2FA disable) run in a second, last `st run`, each with a token of a
principal of its own, so that no operation loses its caller while another still needs it and
these operations still meet a live session.

Environment:
  VIGIL_CONTRACT_EXAMPLES   examples per operation (default 50)
  VIGIL_CONTRACT_SEED       the seed (default 20251130)
  VIGIL_CONTRACT_SCHEMA     a document to test instead of the served one (while editing it)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import VigilHarness, VigilProcess

SEED = int(os.environ.get("VIGIL_CONTRACT_SEED", "20251130"))
MAX_EXAMPLES = int(os.environ.get("VIGIL_CONTRACT_EXAMPLES", "50"))
RUN_TIMEOUT = 600
STAFF = "/api/admin/auth"
CUSTOMER = "/api/customer"
TOTP_STEP = 30

# Operations that keep the caller's session, by the population whose token they get (None: no token).
STEADY_OPERATIONS: dict[str, str | None] = {
    "getHealth": None,
    "getReadiness": None,
    "getMetrics": None,
    "getOpenAPIDocument": None,
    "getTenant": None,
    "getJWKS": None,
    "staffLogin": None,
    "staffLoginSecondFactor": None,
    "staffRefresh": None,
    "staffSetPassword": None,
    "customerLogin": None,
    "customerLoginSecondFactor": None,
    "customerRefresh": None,
    "customerSetPassword": None,
    "staffListSessions": "staff",
    "getStaffProfile": "staff",
    "staffSetupSecondFactor": "staff",
    "staffVerifySecondFactor": "staff",
    "staffStepUp": "staff",
    "customerListSessions": "customer",
    "customerSetupSecondFactor": "customer",
    "customerVerifySecondFactor": "customer",
    "customerStepUp": "customer",
}

# Operations that end sessions or change the account: last, each with a principal of its own
# (a staff role of the demo, or the index of a demo customer).
SESSION_ENDING_OPERATIONS: dict[str, tuple[str, str | int]] = {
    "staffLogout": ("staff", "compliance"),
    "staffRevokeSession": ("staff", "agent"),
    "staffRevokeOtherSessions": ("staff", "manager"),
    "staffChangePassword": ("staff", "support"),
    "staffDisableSecondFactor": ("staff", "ib"),
    "customerLogout": ("customer", 1),
    "customerRevokeSession": ("customer", 2),
    "customerRevokeOtherSessions": ("customer", 3),
    "customerChangePassword": ("customer", 4),
    "customerDisableSecondFactor": ("customer", 5),
}

# The principals of the steady run.
STEADY_STAFF_ROLE = "admin"
STEADY_CUSTOMER = 0


# --------------------------------------------------------------------------------------------
# Logins
# --------------------------------------------------------------------------------------------


def totp(secret_base32: str, step: int) -> str:
    """The RFC 6238 code of `step`, from oathtool (independent of the server's implementation)."""
    result = subprocess.run(
        ["oathtool", "--totp", "-b", secret_base32, "-N", f"@{step * TOTP_STEP}"], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, f"oathtool failed: {result.stderr}"
    code = result.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), code
    return code


def current_step() -> int:
    """The current TOTP step, after sleeping into the next one if fewer than 3 s remain in it."""
    remaining = TOTP_STEP - time.time() % TOTP_STEP
    if remaining < 3:
        time.sleep(remaining + 0.05)
    return int(time.time() // TOTP_STEP)


def staff_token(server: VigilProcess, member: dict) -> str:
    response = server.post(f"{STAFF}/login", json={"email": member["email"], "password": member["password"]})
    assert response.status_code == 200, response.text
    mfa_token = response.json()["mfa_token"]
    # Each user is logged in once, so the current step has not been used.
    response = server.post(f"{STAFF}/login/2fa", json={"mfa_token": mfa_token, "code": totp(member["totp_secret"], current_step())})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def customer_token(server: VigilProcess, customer: dict) -> str:
    response = server.post(f"{CUSTOMER}/login", json={"email": customer["email"], "password": customer["password"]})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


# --------------------------------------------------------------------------------------------
# schemathesis
# --------------------------------------------------------------------------------------------


def schemathesis_command() -> list[str]:
    """`st`, run by this interpreter (the one `make python-deps` installed schemathesis for)."""
    try:
        import schemathesis  # noqa: F401
    except ImportError:
        pytest.fail("schemathesis is not installed (`make python-deps` installs it)")
    return [sys.executable, "-m", "schemathesis.cli"]


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of ASCII is a TOML basic string


def write_config(path: Path, tokens: dict[str, str]) -> Path:
    """A schemathesis.toml giving each operation its `Authorization` header."""
    lines = []
    for operation_id, token in tokens.items():
        lines += [
            "[[operations]]",
            f"include-operation-id = {toml_string(operation_id)}",
            f"headers = {{ Authorization = {toml_string('Bearer ' + token)} }}",
            "",
        ]
    path.write_text("\n".join(lines))
    return path


def st_run(server: VigilProcess, work: Path, name: str, operations: list[str], tokens: dict[str, str]) -> tuple[int, str]:
    schema = os.environ.get("VIGIL_CONTRACT_SCHEMA") or server.url("/api/openapi.yaml")
    config = write_config(work / f"{name}.toml", tokens)
    command = [
        *schemathesis_command(),
        "--config-file", str(config),
        "run", schema,
        "--url", server.base_url,
        "--seed", str(SEED),
        "--max-examples", str(MAX_EXAMPLES),
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing",
        "--workers", "1",
        "--suppress-health-check", "too_slow",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit",
        "--report-junit-path", str(work / f"{name}.xml"),
    ]
    for operation_id in operations:
        command += ["--include-operation-id", operation_id]
    result = subprocess.run(command, capture_output=True, text=True, cwd=work, timeout=RUN_TIMEOUT)
    return result.returncode, result.stdout + result.stderr


def summary(output: str) -> str:
    """The part of schemathesis' report after its `SUMMARY` rule."""
    index = output.rfind("SUMMARY")
    return output[index:] if index >= 0 else output[-3000:]


# --------------------------------------------------------------------------------------------
# The test
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(module_vigil: VigilHarness) -> VigilProcess:
    return module_vigil.start("demo")


def test_the_served_document_holds(server: VigilProcess, module_vigil: VigilHarness):
    credentials = json.loads((server.data_dir / "demo-credentials.json").read_text())
    staff = {entry["role"]: entry for entry in credentials["staff"]}
    customers = credentials["customers"]

    # Every login before any fuzzing (see the module's docstring).
    steady = {"staff": staff_token(server, staff[STEADY_STAFF_ROLE]), "customer": customer_token(server, customers[STEADY_CUSTOMER])}
    ending = {
        operation_id: staff_token(server, staff[who]) if population == "staff" else customer_token(server, customers[who])
        for operation_id, (population, who) in SESSION_ENDING_OPERATIONS.items()
    }

    document = requests.get(server.url("/api/openapi.yaml"), timeout=30)
    assert document.status_code == 200, document.text
    documented = set(re.findall(r"^      operationId: (\S+)$", document.text, flags=re.MULTILINE))
    assert documented == set(STEADY_OPERATIONS) | set(SESSION_ENDING_OPERATIONS), "the test names every documented operation"

    work = module_vigil.work
    runs = [
        ("steady", list(STEADY_OPERATIONS), {op: steady[who] for op, who in STEADY_OPERATIONS.items() if who}),
        ("session-ending", list(SESSION_ENDING_OPERATIONS), ending),
    ]
    reports = []
    for name, operations, tokens in runs:
        started = time.monotonic()
        code, output = st_run(server, work, name, operations, tokens)
        reports.append((name, code, output, time.monotonic() - started))
        print(f"schemathesis ({name}, {time.monotonic() - started:.0f} s):\n{summary(output)}")
    assert server.running(), "vigil exited during the run"
    failed = [(name, code, output) for name, code, output, _ in reports if code != 0]
    assert not failed, "\n\n".join(f"schemathesis run `{name}` exited {code}:\n{output[-20000:]}" for name, code, output in failed)
