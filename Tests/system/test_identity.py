"""Identity (spec 02) against the binary: logins, TOTP, tokens, sessions, lockout, enrolment.

One `vigil demo` serves the whole module. Before it starts, a second tenant `acme` (host
acme.test) is created in the same data directory, so that a demo token can be sent to another
tenant. TOTP codes come from `oathtool`, an implementation independent of the server's.

Things the server keeps that the tests must respect, since they share one server:
  * a TOTP step is accepted once per user (a later login needs a later step), so each staff user
    remembers the last step the server accepted, and codes are taken for explicit steps;
  * a user has at most 3 live sessions (a 4th login evicts the oldest);
  * every failed login or code counts against 127.0.0.1, which is blocked after 50 failures in
    15 minutes: the module stays well below (about 25), and the lockout tests run last.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import hmac
import json
import re
import stat
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conftest import VigilHarness, VigilProcess, wait_until

PROBLEM_JSON = "application/problem+json"
ACME_HOST = "acme.test"
STAFF = "/api/admin/auth"
CUSTOMER = "/api/customer"
ROLES = ["admin", "compliance", "manager", "agent", "support", "ib"]
ACCESS_TOKEN_LIFETIME = 900
TOTP_STEP = 30
BOUNDARY_MARGIN = 3.0
FIREFOX_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def json_segment(value: dict) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def token_parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def is_uuid(text) -> bool:
    try:
        return isinstance(text, str) and str(uuid.UUID(text)) == text
    except ValueError:
        return False


def assert_problem(response: requests.Response, status: int, slug: str) -> dict:
    body = response.content[:500]
    assert response.status_code == status, f"status {response.status_code}, expected {status} ({slug}): {body!r}"
    content_type = response.headers.get("Content-Type", "")
    assert content_type.split(";")[0].strip() == PROBLEM_JSON, f"{content_type}: {body!r}"
    problem = response.json()
    assert problem.get("type") == f"/problems/{slug}", problem
    assert problem.get("status") == status, problem
    assert problem.get("title"), problem
    return problem


def assert_invalid_token(response: requests.Response) -> dict:
    problem = assert_problem(response, 401, "invalid-token")
    assert "invalid_token" in response.headers.get("WWW-Authenticate", ""), dict(response.headers)
    return problem


def assert_token_response(body: dict) -> None:
    assert body["token_type"] == "Bearer", body
    assert body["expires_in"] == ACCESS_TOKEN_LIFETIME, body
    assert body["refresh_token"].startswith("vrt_"), body
    assert body["access_token"].count(".") == 2, body
    assert is_uuid(body["session_id"]), body


def run_ok(vigil: VigilHarness, *args: str, data_dir: Path) -> subprocess.CompletedProcess:
    result = vigil.run(*args, data_dir=data_dir)
    assert result.returncode == 0, f"vigil {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


# TOTP ---------------------------------------------------------------------------------------


def oathtool(secret_base32: str, step: int) -> str:
    """The RFC 6238 code of `step`, from oathtool (not from the server's implementation)."""
    result = subprocess.run(
        ["oathtool", "--totp", "-b", secret_base32, "-N", f"@{step * TOTP_STEP}"], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, f"oathtool failed: {result.stderr}"
    code = result.stdout.strip()
    assert re.fullmatch(r"\d{6}", code), code
    return code


def current_step() -> int:
    return int(time.time() // TOTP_STEP)


def away_from_boundary() -> int:
    """The current step, after sleeping into the next one if fewer than 3 s remain in it."""
    remaining = TOTP_STEP - time.time() % TOTP_STEP
    if remaining < BOUNDARY_MARGIN:
        time.sleep(remaining + 0.05)
    return current_step()


@dataclass
class StaffMember:
    email: str
    password: str
    role: str
    totp_secret: str
    last_step: int = -1  # the last step the server accepted a code of

    def next_step(self) -> int:
        """A step whose code the server will accept now: the current one, or the next one if the
        current one was used (the server allows one step of drift either way). Waits when even
        the next one was used."""
        while True:
            now = away_from_boundary()
            step = max(now, self.last_step + 1)
            if step <= now + 1:
                return step
            time.sleep((step - 1) * TOTP_STEP - time.time() + 0.05)


# Logins ---------------------------------------------------------------------------------------


def password_step(server: VigilProcess, member: StaffMember, **kwargs) -> str:
    response = server.post(f"{STAFF}/login", json={"email": member.email, "password": member.password}, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"mfa_required", "mfa_token"}, body
    assert body["mfa_required"] is True
    assert body["mfa_token"].startswith("vmt_"), body
    assert response.headers.get("Cache-Control") == "no-store"
    return body["mfa_token"]


def second_factor(server: VigilProcess, mfa_token: str, code: str, **kwargs) -> requests.Response:
    return server.post(f"{STAFF}/login/2fa", json={"mfa_token": mfa_token, "code": code}, **kwargs)


def staff_login(server: VigilProcess, member: StaffMember, **kwargs) -> dict:
    """Password, then a fresh TOTP code; the token response."""
    mfa_token = password_step(server, member, **kwargs)
    step = member.next_step()
    response = second_factor(server, mfa_token, oathtool(member.totp_secret, step), **kwargs)
    assert response.status_code == 200, f"2fa with the code of step {step} (now {current_step()}): {response.text}"
    member.last_step = step
    body = response.json()
    assert_token_response(body)
    assert response.headers.get("Cache-Control") == "no-store"
    return body


def customer_login(server: VigilProcess, customer: dict, **kwargs) -> dict:
    response = server.post(f"{CUSTOMER}/login", json={"email": customer["email"], "password": customer["password"]}, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert_token_response(body)
    return body


def me(server: VigilProcess, token: str, **kwargs) -> requests.Response:
    headers = {**bearer(token), **kwargs.pop("headers", {})}
    return server.get(f"{STAFF}/me", headers=headers, **kwargs)


# Tokens ---------------------------------------------------------------------------------------


def verify_access_token(token: str, jwks: dict) -> dict:
    """The claims, after PyJWT has checked the signature against the published JWKS."""
    header, _, _ = token_parts(token)
    assert header.get("alg") == "EdDSA", header
    keys = {key["kid"]: key for key in jwks["keys"]}
    assert header.get("kid") in keys, f"kid {header.get('kid')} not in the JWKS {list(keys)}"
    key = jwt.PyJWK(keys[header["kid"]]).key
    return jwt.decode(token, key=key, algorithms=["EdDSA"], options={"require": ["exp", "iat", "sub"]})


def assert_claims(claims: dict, *, scope: str, amr: list[str], session_id: str) -> None:
    assert claims["tid"] == "demo", claims
    assert is_uuid(claims["sub"]), claims
    assert claims["sid"] == session_id, claims
    assert claims["scope"] == scope, claims
    assert claims["amr"] == amr, claims
    assert claims["exp"] == claims["iat"] + ACCESS_TOKEN_LIFETIME, claims
    assert abs(claims["iat"] - time.time()) < 60, claims
    assert claims["auth_time"] <= claims["iat"] and claims["iat"] - claims["auth_time"] < 60, claims


def sign_eddsa(claims: dict, kid: str, private_key: Ed25519PrivateKey) -> str:
    signing_input = f"{json_segment({'alg': 'EdDSA', 'typ': 'JWT', 'kid': kid})}.{json_segment(claims)}"
    return f"{signing_input}.{b64url(private_key.sign(signing_input.encode()))}"


def sign_hs256(claims: dict, kid: str, secret: bytes) -> str:
    """HS256 keyed with `secret` (PyJWT refuses to use public keys as HMAC secrets)."""
    signing_input = f"{json_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{json_segment(claims)}"
    return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(module_vigil: VigilHarness) -> VigilProcess:
    """`vigil demo` on a data dir that already holds tenant acme (acme.test)."""
    data_dir = module_vigil.new_data_dir()
    run_ok(module_vigil, "tenant", "create", "acme", "--host", ACME_HOST, data_dir=data_dir)
    return module_vigil.start("demo", data_dir=data_dir)


@pytest.fixture(scope="module")
def credentials(server: VigilProcess) -> dict:
    return json.loads((server.data_dir / "demo-credentials.json").read_text())


@pytest.fixture(scope="module")
def staff(credentials: dict) -> dict[str, StaffMember]:
    return {entry["role"]: StaffMember(entry["email"], entry["password"], entry["role"], entry["totp_secret"]) for entry in credentials["staff"]}


@pytest.fixture(scope="module")
def customers(credentials: dict) -> list[dict]:
    return credentials["customers"]


@pytest.fixture(scope="module")
def jwks(server: VigilProcess) -> dict:
    response = server.get("/.well-known/jwks.json")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def admin_session(server: VigilProcess, staff: dict[str, StaffMember]) -> dict:
    """One admin login, shared by the tests that only read with its token or forge others from it."""
    return staff_login(server, staff["admin"])


# --------------------------------------------------------------------------------------------
# The demo's people and keys
# --------------------------------------------------------------------------------------------


def test_demo_credentials_file(server, credentials):
    path = server.data_dir / "demo-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials["tenant"] == "demo"
    assert credentials["base_url"] == f"http://127.0.0.1:{server.port}"
    assert sorted(entry["role"] for entry in credentials["staff"]) == sorted(ROLES)
    for entry in credentials["staff"]:
        assert entry["email"] == f"{entry['role']}@demo.vigil.test", entry
        assert len(entry["password"]) >= 12, entry
        assert re.fullmatch(r"[A-Z2-7]+", entry["totp_secret"]), entry
        assert len(base64.b32decode(entry["totp_secret"] + "=" * (-len(entry["totp_secret"]) % 8))) >= 20, entry
    assert len(credentials["customers"]) == 10
    assert len({entry["email"] for entry in credentials["customers"]}) == 10
    for entry in credentials["customers"]:
        assert is_uuid(entry["id"]), entry
        assert len(entry["password"]) >= 12, entry


def test_jwks_publishes_the_tenant_ed25519_key(server, jwks):
    response = server.get("/.well-known/jwks.json")
    assert response.headers["Content-Type"].startswith("application/json")
    assert len(jwks["keys"]) >= 1
    for key in jwks["keys"]:
        assert key["kty"] == "OKP" and key["crv"] == "Ed25519" and key["alg"] == "EdDSA" and key["use"] == "sig", key
        assert key["kid"], key
        assert len(b64url_decode(key["x"])) == 32, key
        assert "d" not in key, "the private half must never be published"
    # Either local host name is the demo tenant: the same key set.
    assert server.get("/.well-known/jwks.json", headers={"Host": "localhost"}).json() == jwks
    # Another tenant has keys of its own.
    acme = server.get("/.well-known/jwks.json", headers={"Host": ACME_HOST})
    assert acme.status_code == 200, acme.text
    acme_keys = acme.json()["keys"]
    assert acme_keys
    assert {key["kid"] for key in acme_keys}.isdisjoint({key["kid"] for key in jwks["keys"]})
    assert {key["x"] for key in acme_keys}.isdisjoint({key["x"] for key in jwks["keys"]})
    unknown = server.get("/.well-known/jwks.json", headers={"Host": "nobody.example"})
    assert_problem(unknown, 404, "unknown-tenant")


# --------------------------------------------------------------------------------------------
# Staff login with TOTP
# --------------------------------------------------------------------------------------------


def test_staff_login_gives_a_verifiable_access_token(server, jwks, admin_session, staff):
    assert "evicted_session_id" not in admin_session
    claims = verify_access_token(admin_session["access_token"], jwks)
    assert_claims(claims, scope="staff", amr=["pwd", "otp"], session_id=admin_session["session_id"])

    response = me(server, admin_session["access_token"])
    assert response.status_code == 200, response.text
    profile = response.json()
    assert profile["id"] == claims["sub"]
    assert profile["email"] == staff["admin"].email
    assert profile["role"] == "admin"
    assert profile["status"] == "active"
    assert profile["two_factor_enabled"] is True
    assert profile["session_id"] == admin_session["session_id"]
    assert profile["amr"] == ["pwd", "otp"]
    # The same token on the other local host name: the same tenant.
    assert me(server, admin_session["access_token"], headers={"Host": "localhost"}).status_code == 200


def test_me_needs_a_token(server):
    response = server.get(f"{STAFF}/me")
    assert_problem(response, 401, "authentication-required")
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


def test_totp_code_is_accepted_once(server, staff):
    member = staff["compliance"]
    first_mfa = password_step(server, member)
    step = member.next_step()
    code = oathtool(member.totp_secret, step)
    accepted = second_factor(server, first_mfa, code)
    assert accepted.status_code == 200, accepted.text
    member.last_step = step

    # A second login presents the same code while its step is still current: a replay.
    second_mfa = password_step(server, member)
    assert current_step() <= step + 1, "the replay must happen while the code would otherwise still be valid"
    assert_problem(second_factor(server, second_mfa, code), 401, "invalid-code")

    # The challenge survives one wrong code; a later step's code finishes the login.
    next_step = member.next_step()
    assert next_step > step
    finished = second_factor(server, second_mfa, oathtool(member.totp_secret, next_step))
    assert finished.status_code == 200, finished.text
    member.last_step = next_step
    assert_token_response(finished.json())
    assert finished.json()["session_id"] != accepted.json()["session_id"]

    # The first login's mfa_token was spent when it succeeded (the token is refused before any
    # code is looked at, so the code here does not matter and uses up nothing).
    assert_problem(second_factor(server, first_mfa, oathtool(member.totp_secret, current_step())), 401, "invalid-mfa-token")


def test_wrong_totp_code_and_unknown_mfa_token(server, staff):
    member = staff["ib"]
    mfa_token = password_step(server, member)
    step = member.next_step()
    right = oathtool(member.totp_secret, step)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert_problem(second_factor(server, mfa_token, wrong), 401, "invalid-code")
    assert_problem(second_factor(server, "vmt_" + b64url(b"\0" * 32), right), 401, "invalid-mfa-token")
    response = second_factor(server, mfa_token, right)
    assert response.status_code == 200, response.text
    member.last_step = step


def test_staff_cannot_switch_off_their_own_second_factor(server, admin_session, staff):
    for body in [{"code": oathtool(staff["admin"].totp_secret, current_step() + 1)}, {}]:
        refused = server.post(f"{STAFF}/2fa/disable", json=body, headers=bearer(admin_session["access_token"]))
        assert_problem(refused, 403, "second-factor-required")
    profile = me(server, admin_session["access_token"]).json()
    assert profile["two_factor_enabled"] is True, profile


def test_staff_password_alone_never_yields_tokens(server, staff):
    """The customer login route does not know staff: a staff email there is a wrong login."""
    member = staff["support"]
    response = server.post(f"{CUSTOMER}/login", json={"email": member.email, "password": member.password})
    assert_problem(response, 401, "invalid-credentials")
    assert "access_token" not in response.text


# --------------------------------------------------------------------------------------------
# Refresh tokens
# --------------------------------------------------------------------------------------------


def test_refresh_rotates_and_reuse_revokes_the_session(server, jwks, staff):
    login = staff_login(server, staff["manager"])
    first_claims = verify_access_token(login["access_token"], jwks)

    refreshed = server.post(f"{STAFF}/refresh", json={"refresh_token": login["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    pair = refreshed.json()
    assert_token_response(pair)
    assert pair["session_id"] == login["session_id"]
    assert pair["refresh_token"] != login["refresh_token"]
    claims = verify_access_token(pair["access_token"], jwks)
    assert_claims(claims, scope="staff", amr=["pwd", "otp"], session_id=login["session_id"])
    assert claims["sub"] == first_claims["sub"]
    assert claims["auth_time"] == first_claims["auth_time"], "a refresh is not a new authentication"
    assert me(server, pair["access_token"]).status_code == 200

    # The rotated token presented again: the whole session ends.
    reused = server.post(f"{STAFF}/refresh", json={"refresh_token": login["refresh_token"]})
    assert_problem(reused, 401, "refresh-token-reused")
    newest = server.post(f"{STAFF}/refresh", json={"refresh_token": pair["refresh_token"]})
    assert newest.status_code == 401, newest.text
    assert newest.json()["type"].startswith("/problems/"), newest.text
    assert_invalid_token(me(server, pair["access_token"]))
    assert_invalid_token(me(server, login["access_token"]))


def test_unknown_refresh_token_is_refused(server):
    for token in ["vrt_" + b64url(b"\1" * 32), "not-a-token"]:
        assert_problem(server.post(f"{STAFF}/refresh", json={"refresh_token": token}), 401, "invalid-refresh-token")


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


def test_sessions_list_revoke_one_and_logout(server, staff):
    member = staff["agent"]
    first = staff_login(server, member, headers={"User-Agent": FIREFOX_ON_LINUX})
    second = staff_login(server, member)

    listing = server.get(f"{STAFF}/sessions", headers=bearer(first["access_token"]))
    assert listing.status_code == 200, listing.text
    sessions = listing.json()["sessions"]
    assert [entry["id"] for entry in sessions] == [second["session_id"], first["session_id"]], "newest first"
    mine = {entry["id"]: entry for entry in sessions}
    assert mine[first["session_id"]]["current"] is True
    assert mine[second["session_id"]]["current"] is False
    for entry in sessions:
        assert entry["ip"] == "127.0.0.1", entry
        assert entry["amr"] == ["pwd", "otp"], entry
        assert entry["created_at"] and entry["last_seen_at"], entry
    assert mine[first["session_id"]]["user_agent"] == FIREFOX_ON_LINUX
    assert mine[first["session_id"]]["device_label"] == "Firefox on Linux"

    # Another user's session is not mine to see or revoke.
    stranger = requests.delete(server.url(f"{STAFF}/sessions/{uuid.uuid4()}"), headers=bearer(first["access_token"]), timeout=30)
    assert_problem(stranger, 404, "not-found")
    revoked = requests.delete(server.url(f"{STAFF}/sessions/{second['session_id']}"), headers=bearer(first["access_token"]), timeout=30)
    assert revoked.status_code == 204, revoked.text
    assert_invalid_token(me(server, second["access_token"]))
    refused = server.post(f"{STAFF}/refresh", json={"refresh_token": second["refresh_token"]})
    assert_problem(refused, 401, "invalid-refresh-token")
    assert [entry["id"] for entry in server.get(f"{STAFF}/sessions", headers=bearer(first["access_token"])).json()["sessions"]] == [
        first["session_id"]
    ]

    # Logout ends the current session: its access token is refused at once, not at expiry.
    assert me(server, first["access_token"]).status_code == 200
    logout = server.post(f"{STAFF}/logout", headers=bearer(first["access_token"]))
    assert logout.status_code == 204, logout.text
    assert_invalid_token(me(server, first["access_token"]))
    assert_invalid_token(server.get(f"{STAFF}/sessions", headers=bearer(first["access_token"])))
    assert_problem(server.post(f"{STAFF}/refresh", json={"refresh_token": first["refresh_token"]}), 401, "invalid-refresh-token")


def test_revoke_other_sessions(server, staff):
    member = staff["support"]
    kept = staff_login(server, member)
    other = staff_login(server, member)
    response = server.post(f"{STAFF}/sessions/revoke-others", headers=bearer(kept["access_token"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 1}
    assert_invalid_token(me(server, other["access_token"]))
    assert me(server, kept["access_token"]).status_code == 200
    again = server.post(f"{STAFF}/sessions/revoke-others", headers=bearer(kept["access_token"]))
    assert again.json() == {"revoked": 0}


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------


def test_customer_login_gives_customer_tokens(server, jwks, customers, admin_session):
    customer = customers[0]
    login = customer_login(server, customer)
    assert "mfa_required" not in login
    claims = verify_access_token(login["access_token"], jwks)
    assert_claims(claims, scope="customer", amr=["pwd"], session_id=login["session_id"])
    assert claims["sub"] == customer["id"]

    # Scopes do not cross: a customer token on a staff route and a staff token on a customer route.
    assert_problem(me(server, login["access_token"]), 403, "wrong-scope")
    assert_problem(server.get(f"{STAFF}/sessions", headers=bearer(login["access_token"])), 403, "wrong-scope")
    assert_problem(server.get(f"{CUSTOMER}/sessions", headers=bearer(admin_session["access_token"])), 403, "wrong-scope")

    sessions = server.get(f"{CUSTOMER}/sessions", headers=bearer(login["access_token"]))
    assert sessions.status_code == 200, sessions.text
    assert [(entry["id"], entry["current"], entry["amr"]) for entry in sessions.json()["sessions"]] == [(login["session_id"], True, ["pwd"])]

    refreshed = server.post(f"{CUSTOMER}/refresh", json={"refresh_token": login["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["session_id"] == login["session_id"]
    # A customer refresh token is not a staff one.
    staff_route = server.post(f"{STAFF}/refresh", json={"refresh_token": refreshed.json()["refresh_token"]})
    assert_problem(staff_route, 401, "invalid-refresh-token")


def test_customer_wrong_password(server, customers):
    response = server.post(f"{CUSTOMER}/login", json={"email": customers[1]["email"], "password": customers[1]["password"] + "x"})
    assert_problem(response, 401, "invalid-credentials")


def test_fourth_session_evicts_the_oldest(server, customers):
    customer = customers[2]
    logins = [customer_login(server, customer) for _ in range(3)]
    assert all("evicted_session_id" not in login for login in logins)
    fourth = customer_login(server, customer)
    assert fourth["evicted_session_id"] == logins[0]["session_id"]
    assert_invalid_token(server.get(f"{CUSTOMER}/sessions", headers=bearer(logins[0]["access_token"])))
    live = server.get(f"{CUSTOMER}/sessions", headers=bearer(fourth["access_token"])).json()["sessions"]
    assert sorted(entry["id"] for entry in live) == sorted([logins[1]["session_id"], logins[2]["session_id"], fourth["session_id"]])


# --------------------------------------------------------------------------------------------
# Refused tokens
# --------------------------------------------------------------------------------------------


def test_alg_none_is_refused(server, admin_session):
    header, claims, _ = token_parts(admin_session["access_token"])
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert_invalid_token(me(server, unsigned))
    for alg in ["none", "None", "NONE"]:
        for signature in ["", "AAAA"]:
            forged = f"{json_segment({'alg': alg, 'typ': 'JWT', 'kid': header['kid']})}.{json_segment(claims)}.{signature}"
            assert_invalid_token(me(server, forged))


def test_hs256_keyed_with_the_public_key_is_refused(server, jwks, admin_session):
    header, claims, _ = token_parts(admin_session["access_token"])
    key = next(key for key in jwks["keys"] if key["kid"] == header["kid"])
    raw = b64url_decode(key["x"])
    pem = Ed25519PublicKey.from_public_bytes(raw).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    for secret in [raw, key["x"].encode(), pem, json.dumps(key).encode()]:
        assert_invalid_token(me(server, sign_hs256(claims, header["kid"], secret)))


def test_token_signed_with_another_key_is_refused(server, admin_session):
    header, claims, _ = token_parts(admin_session["access_token"])
    own_key = Ed25519PrivateKey.generate()
    now = int(time.time())
    assert_invalid_token(me(server, sign_eddsa(claims, header["kid"], own_key)))
    expired = {**claims, "iat": now - 2 * ACCESS_TOKEN_LIFETIME, "exp": now - ACCESS_TOKEN_LIFETIME, "auth_time": now - 2 * ACCESS_TOKEN_LIFETIME}
    assert_invalid_token(me(server, sign_eddsa(expired, header["kid"], own_key)))
    assert_invalid_token(me(server, sign_eddsa(claims, "0123456789abcdef", own_key)))
    # No kid at all.
    signing_input = f"{json_segment({'alg': 'EdDSA', 'typ': 'JWT'})}.{json_segment(claims)}"
    assert_invalid_token(me(server, f"{signing_input}.{b64url(own_key.sign(signing_input.encode()))}"))


def test_tampered_payload_is_refused(server, customers, admin_session):
    token = admin_session["access_token"]
    header_segment, _, signature = token.split(".")
    _, claims, _ = token_parts(token)
    changes = [
        {"sub": str(uuid.uuid4())},
        {"sub": customers[0]["id"], "scope": "customer"},
        {"scope": "customer"},
        {"exp": claims["exp"] + 3600},
        {"tid": "acme"},
        {"sid": str(uuid.uuid4())},
    ]
    for change in changes:
        tampered = f"{header_segment}.{json_segment({**claims, **change})}.{signature}"
        assert_invalid_token(me(server, tampered))
    # The untouched token still works (nothing above revoked it).
    assert me(server, token).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer not-a-jwt", "Bearer a.b.c", "Bearer ...", "Basic dXNlcjpwYXNz", "Token abc"],
)
def test_malformed_authorization_is_refused(server, authorization):
    assert_invalid_token(server.get(f"{STAFF}/me", headers={"Authorization": authorization}))


def test_token_of_another_tenant_is_refused(server, admin_session):
    response = me(server, admin_session["access_token"], headers={"Host": ACME_HOST})
    assert_invalid_token(response)
    sessions = server.get(f"{STAFF}/sessions", headers={**bearer(admin_session["access_token"]), "Host": ACME_HOST})
    assert_invalid_token(sessions)
    # Still good at home.
    assert me(server, admin_session["access_token"]).status_code == 200


# --------------------------------------------------------------------------------------------
# Idempotency-Key on routes that hand out tokens
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,body",
    [
        (f"{STAFF}/login", {"email": "admin@demo.vigil.test", "password": "x"}),
        (f"{STAFF}/login/2fa", {"mfa_token": "vmt_x", "code": "000000"}),
        (f"{STAFF}/refresh", {"refresh_token": "vrt_x"}),
        (f"{STAFF}/logout", None),
        (f"{STAFF}/password/set", {"token": "vpt_x", "password": "x"}),
        (f"{STAFF}/2fa/setup", None),
        (f"{CUSTOMER}/login", {"email": "customer01@demo.vigil.test", "password": "x"}),
        (f"{CUSTOMER}/refresh", {"refresh_token": "vrt_x"}),
    ],
)
def test_idempotency_key_is_refused_on_token_routes(server, path, body):
    kwargs = {"json": body} if body is not None else {"data": b"{}", "headers": {"Content-Type": "application/json"}}
    headers = {**kwargs.pop("headers", {}), "Idempotency-Key": str(uuid.uuid4())}
    response = server.post(path, headers=headers, **kwargs)
    assert_problem(response, 400, "idempotency-key-refused")
    assert "access_token" not in response.text


# --------------------------------------------------------------------------------------------
# A new staff user: enrolment link, password, TOTP enrolment, backup codes
# --------------------------------------------------------------------------------------------


def test_new_staff_user_enrols_and_uses_backup_codes(server, module_vigil, jwks):
    email = "new.admin@demo.vigil.test"
    created = module_vigil.run("user", "create", "--tenant", "demo", "--email", email, "--role", "admin", data_dir=server.data_dir)
    assert created.returncode == 0, f"vigil user create while the server runs: exit {created.returncode}\n{created.stdout}\n{created.stderr}"
    match = re.search(r"#token=(vpt_[A-Za-z0-9_-]+)", created.stdout)
    assert match, created.stdout
    link_token = match.group(1)
    assert server.running() and server.get("/readyz").status_code == 200

    # The same email twice is refused.
    again = module_vigil.run("user", "create", "--tenant", "demo", "--email", email, data_dir=server.data_dir)
    assert again.returncode != 0, again.stdout
    assert "Fatal error" not in again.stderr

    # The link's token sets the password (the policy is checked first; a refusal does not spend it).
    short = server.post(f"{STAFF}/password/set", json={"token": link_token, "password": "short"})
    assert_problem(short, 422, "password-rejected")
    common = server.post(f"{STAFF}/password/set", json={"token": link_token, "password": "password1234"})
    assert_problem(common, 422, "password-rejected")
    password = "Enrol-" + uuid.uuid4().hex[:16]
    assert server.post(f"{STAFF}/password/set", json={"token": link_token, "password": password}).status_code == 204
    assert_problem(server.post(f"{STAFF}/password/set", json={"token": link_token, "password": password + "2"}), 401, "invalid-password-token")

    # First login: TOTP enrolment is due, and the enrolment token is not an access token.
    login = server.post(f"{STAFF}/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    body = login.json()
    assert set(body) == {"mfa_enrollment_required", "enrollment_token"}, body
    assert body["mfa_enrollment_required"] is True
    enrolment = body["enrollment_token"]
    assert enrolment.startswith("vet_"), body
    assert_problem(me(server, enrolment), 401, "authentication-required")

    setup = server.post(f"{STAFF}/2fa/setup", headers=bearer(enrolment))
    assert setup.status_code == 200, setup.text
    secret = setup.json()
    assert re.fullmatch(r"[A-Z2-7]+", secret["secret"]), secret
    assert secret["otpauth_uri"].startswith("otpauth://totp/"), secret
    assert f"secret={secret['secret']}" in secret["otpauth_uri"], secret
    assert secret["qr_svg"].startswith("<svg"), secret["qr_svg"][:100]
    assert setup.headers.get("Cache-Control") == "no-store"

    step = away_from_boundary()
    right = oathtool(secret["secret"], step)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert_problem(server.post(f"{STAFF}/2fa/verify", json={"code": wrong}, headers=bearer(enrolment)), 401, "invalid-code")
    verified = server.post(f"{STAFF}/2fa/verify", json={"code": right}, headers=bearer(enrolment))
    assert verified.status_code == 200, verified.text
    enabled = verified.json()
    assert enabled["enabled"] is True
    assert enabled["message"] == "2FA enabled. Save backup codes."
    codes = enabled["backup_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    assert all(re.fullmatch(r"[a-z0-9]{8}", code) for code in codes), codes
    assert_token_response(enabled)
    claims = verify_access_token(enabled["access_token"], jwks)
    assert_claims(claims, scope="staff", amr=["pwd", "otp"], session_id=enabled["session_id"])
    profile = me(server, enabled["access_token"]).json()
    assert (profile["email"], profile["role"], profile["two_factor_enabled"]) == (email, "admin", True)
    # The enrolment token is spent.
    assert_invalid_token(server.post(f"{STAFF}/2fa/setup", headers=bearer(enrolment)))

    # Later logins ask for a code; a backup code works once.
    member = StaffMember(email, password, "admin", secret["secret"], last_step=step)
    first = second_factor(server, password_step(server, member), codes[0])
    assert first.status_code == 200, first.text
    assert_token_response(first.json())
    assert me(server, first.json()["access_token"]).status_code == 200
    assert_problem(second_factor(server, password_step(server, member), codes[0]), 401, "invalid-code")
    # Another backup code, typed in capitals with a dash, still works.
    typed = f"{codes[1][:4].upper()}-{codes[1][4:].upper()}"
    assert second_factor(server, password_step(server, member), typed).status_code == 200
    # And the authenticator keeps working.
    assert staff_login(server, member)["session_id"]


# --------------------------------------------------------------------------------------------
# Lockout (last: these failures count against 127.0.0.1 too)
# --------------------------------------------------------------------------------------------


def test_fifth_failure_locks_the_login(server, customers):
    customer, neighbour = customers[8], customers[9]
    for attempt in range(5):
        response = server.post(f"{CUSTOMER}/login", json={"email": customer["email"], "password": f"wrong-{attempt}"})
        assert_problem(response, 401, "invalid-credentials")
    # Locked: even the right password is refused, with the time left.
    locked = server.post(f"{CUSTOMER}/login", json={"email": customer["email"], "password": customer["password"]})
    assert_problem(locked, 429, "account-locked")
    retry_after = locked.headers.get("Retry-After", "")
    assert retry_after.isdigit(), dict(locked.headers)
    assert 50 <= int(retry_after) <= 60, retry_after
    assert "access_token" not in locked.text
    # The lock is the login's, not the address's: another customer logs in from the same address.
    customer_login(server, neighbour)


def test_parallel_failures_for_an_unknown_email_lock_after_exactly_five(server):
    email = f"nobody-{uuid.uuid4().hex[:8]}@demo.vigil.test"
    barrier = threading.Barrier(12)

    def attempt(number: int) -> requests.Response:
        barrier.wait(30)
        return server.post(f"{STAFF}/login", json={"email": email, "password": f"guess-{number}"}, timeout=120)

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(attempt, range(12)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [401] * 5 + [429] * 7, [(r.status_code, r.text[:200]) for r in responses]
    for response in responses:
        if response.status_code == 401:
            assert_problem(response, 401, "invalid-credentials")
        else:
            assert_problem(response, 429, "account-locked")
            retry_after = response.headers.get("Retry-After", "")
            assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, dict(response.headers)
    # Still locked afterwards.
    assert_problem(server.post(f"{STAFF}/login", json={"email": email, "password": "guess-again"}), 429, "account-locked")


# --------------------------------------------------------------------------------------------
# Bounded refusal writes (decision 0014), on a server of their own: they block 127.0.0.1
# --------------------------------------------------------------------------------------------


def tenant_psql(vigil: VigilHarness, server: VigilProcess, slug: str = "demo"):
    """A function that runs one SQL statement on the tenant's database with psql."""
    listing = json.loads(run_ok(vigil, "tenant", "list", "--json", data_dir=server.data_dir).stdout)
    url = next(entry["database_url"] for entry in listing if entry["slug"] == slug)

    def psql(sql: str) -> str:
        result = subprocess.run(["psql", url, "-tAc", sql], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"psql failed:\n{result.stderr}"
        return result.stdout.strip()

    return psql


def test_refused_logins_from_a_blocked_address_add_at_most_a_few_rows(vigil):
    server = vigil.start("demo")
    psql = tenant_psql(vigil, server)
    customers = json.loads((server.data_dir / "demo-credentials.json").read_text())["customers"]

    # 50 failures within 15 minutes block the address (unknown emails: no login locks first).
    def fail(number: int) -> int:
        return server.post(f"{CUSTOMER}/login", json={"email": f"nobody-{number}@demo.vigil.test", "password": "not the password"}, timeout=300).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(fail, range(50))) == [401] * 50
    # The first refusal is recorded in full.
    assert_problem(server.post(f"{CUSTOMER}/login", json={"email": "nobody-0@demo.vigil.test", "password": "x"}), 429, "too-many-failed-logins")
    assert psql("SELECT count(*) FROM audit_entries WHERE action = 'auth.login_refused'") == "1"
    entries = int(psql("SELECT count(*) FROM audit_entries"))
    events = int(psql("SELECT count(*) FROM outbox_events"))
    throttle_rows = int(psql("SELECT count(*) FROM login_throttles"))

    # 1,000 more, even with the right password, on both populations' routes, with fresh emails.
    attempts = [
        (f"{CUSTOMER}/login", customers[number % len(customers)]["email"], customers[number % len(customers)]["password"])
        if number % 3 == 0
        else (f"{STAFF}/login", "admin@demo.vigil.test", "not the password")
        if number % 3 == 1
        else (f"{CUSTOMER}/login", f"guess-{number}@demo.vigil.test", "not the password")
        for number in range(1000)
    ]
    local = threading.local()

    def refused(attempt: tuple[str, str, str]) -> tuple[int, str]:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        path, email, password = attempt
        response = local.session.post(server.url(path), json={"email": email, "password": password}, timeout=120)
        return response.status_code, response.json().get("type", "")

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(refused, attempts))
    assert answers == [(429, "/problems/too-many-failed-logins")] * 1000, sorted(set(answers))

    added_entries = int(psql("SELECT count(*) FROM audit_entries")) - entries
    added_events = int(psql("SELECT count(*) FROM outbox_events")) - events
    assert added_entries <= 3 and added_events <= 3, f"1,000 refusals added {added_entries} entries and {added_events} events"
    assert int(psql("SELECT count(*) FROM login_throttles")) == throttle_rows, "refused attempts made counter rows"
    # Every refusal is counted on the address's row, the first one included.
    assert psql("SELECT sum(refusals) FROM ip_login_failures") == "1001"
    assert server.running()


# --------------------------------------------------------------------------------------------
# The audit trail of all the above
# --------------------------------------------------------------------------------------------


def test_audit_trail_holds_the_auth_events_and_verifies(server, module_vigil):
    listing = json.loads(run_ok(module_vigil, "tenant", "list", "--json", data_dir=server.data_dir).stdout)
    demo_url = next(entry["database_url"] for entry in listing if entry["slug"] == "demo")

    def psql(sql: str) -> str:
        result = subprocess.run(["psql", demo_url, "-tAc", sql], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"psql failed:\n{result.stderr}"
        return result.stdout.strip()

    actions = set(psql("SELECT DISTINCT action FROM audit_entries").split("\n"))
    expected = {
        "auth.login_succeeded",
        "auth.password_verified",
        "auth.second_factor_verified",
        "auth.second_factor_failed",
        "auth.login_failed",
        "auth.account_locked",
        "auth.login_refused",
        "auth.refresh_token_reused",
        "session.refreshed",
        "session.revoked",
        "session.others_revoked",
        "auth.logout",
        "auth.2fa_enabled",
        "staff_user.created",
    }
    assert expected <= actions, f"missing from the trail: {sorted(expected - actions)}"

    # Every entry gets its chain position within a second or so; then the chain verifies.
    wait_until(lambda: psql("SELECT count(*) FROM audit_entries e LEFT JOIN audit_chain c ON c.entry_id = e.id WHERE c.entry_id IS NULL") == "0", 15, 0.5)
    result = module_vigil.run("audit", "verify", data_dir=server.data_dir)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    demo_line = next((line for line in result.stdout.splitlines() if line.startswith("tenant demo: ")), "")
    match = re.match(r"tenant demo: intact: (\d+) entries", demo_line)
    assert match, result.stdout
    assert int(match.group(1)) > 50, result.stdout
    assert server.running()


# --------------------------------------------------------------------------------------------
# Token key rotation (`vigil token-keys rotate`, a command the identity domain contributes)
# --------------------------------------------------------------------------------------------


def test_token_keys_rotate_retires_the_current_key_and_makes_its_successor(server, module_vigil):
    first = module_vigil.run("token-keys", "rotate", "--tenant", "acme", data_dir=server.data_dir)
    assert first.returncode == 0, f"exit {first.returncode}\n{first.stdout}\n{first.stderr}"
    made = re.search(r"now signs access tokens with key ([0-9a-f]{16})", first.stdout)
    assert made, first.stdout
    second = module_vigil.run("token-keys", "rotate", "--tenant", "acme", data_dir=server.data_dir)
    assert second.returncode == 0, second.stderr
    # The second rotation retires the key the first one made.
    assert f"key {made.group(1)} is retired" in second.stdout, second.stdout
    assert server.running() and server.get("/readyz").status_code == 200

    unknown = module_vigil.run("token-keys", "rotate", "--tenant", "nobody", data_dir=server.data_dir)
    assert unknown.returncode != 0
    assert "There is no tenant 'nobody'" in unknown.stderr
    assert "Fatal error" not in unknown.stderr
