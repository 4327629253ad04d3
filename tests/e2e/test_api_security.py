"""Sign-in over HTTP: sessions, TOTP, fixation, CSRF, lock-out, token scope, security headers."""

from __future__ import annotations

import time

import httpx
import pyotp
import pytest

from clientfolio.services import audit, auth, customers, tokens

from .liveserver import live_server

PASSWORD = "Correct-Horse-Battery-42"


@pytest.fixture
def site(staffed):
    for name in ("clara", "max", "admin"):
        auth.set_password(vault=staffed, actor="admin", name=name, new_password=PASSWORD)
    customers.add_customer(vault=staffed, actor="admin", name="张三", kind="person", tier="key")
    with live_server(staffed) as base:
        yield staffed, base + "/api/v1"


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/sign-in", json={"name": name, "password": password})


def test_session_cookie_flags_rotation_and_sign_out(site):
    v, base = site
    with httpx.Client(base_url=base) as client:
        client.cookies.set("cf_session", "attacker-chosen-value", domain="127.0.0.1")  # fixation attempt
        r = sign_in(client, "clara")
        assert r.status_code == 200 and r.json()["status"] == "signed_in"
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        first = client.cookies["cf_session"]
        assert first != "attacker-chosen-value" and len(first) >= 32
        assert client.get("/customers").status_code == 200
        r2 = sign_in(client, "clara")  # signing in again gives a new session id
        assert client.cookies["cf_session"] != first
        csrf = r2.json()["csrf_token"]
        assert client.post("/auth/sign-out", headers={"X-CSRF-Token": csrf}).status_code == 204
        client.cookies.set("cf_session", first, domain="127.0.0.1")
        assert client.get("/customers").status_code == 200  # the first session was not the one ended
        r3 = client.post("/auth/sign-out-everywhere",
                         headers={"X-CSRF-Token": client.get("/auth/session").json()["csrf_token"]})
        assert r3.status_code == 200
        client.cookies.set("cf_session", first, domain="127.0.0.1")
        assert client.get("/customers").status_code == 401


def test_csrf_is_required_for_every_unsafe_request_made_with_a_cookie(site):
    v, base = site
    with httpx.Client(base_url=base) as client:
        csrf = sign_in(client, "clara").json()["csrf_token"]
        body = {"name": "李四", "kind": "person", "tier": "standard"}
        assert client.post("/customers", json=body).status_code == 403
        assert client.post("/customers", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert client.post("/customers", json=body, headers={"X-CSRF-Token": csrf,
                                                              "Origin": "https://evil.example"}).status_code == 403
        assert client.post("/customers", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
        other = httpx.Client(base_url=base)
        other_csrf = sign_in(other, "admin").json()["csrf_token"]
        assert client.post("/customers", json=body, headers={"X-CSRF-Token": other_csrf}).status_code == 403


def test_second_factor_enrolment_and_sign_in_with_totp(site):
    v, base = site
    with httpx.Client(base_url=base) as client:
        r = sign_in(client, "max")  # a manager must have a second factor: only enrolment is open
        assert r.json()["enrolment_required"] is True
        csrf = r.json()["csrf_token"]
        assert client.get("/customers").status_code == 403
        started = client.post("/auth/totp", headers={"X-CSRF-Token": csrf}).json()
        assert started["uri"].startswith("otpauth://totp/") and started["qr_svg"].lstrip().startswith("<")
        t = time.time()
        totp = pyotp.TOTP(started["secret"])
        confirmed = client.post("/auth/totp/confirm", json={"code": totp.at(t)}, headers={"X-CSRF-Token": csrf})
        assert confirmed.status_code == 200, confirmed.text
        recovery = confirmed.json()["recovery_codes"]
        assert len(recovery) == 10
        assert client.get("/customers").status_code == 200
    with httpx.Client(base_url=base) as client:
        r = sign_in(client, "max")
        assert r.json()["status"] == "second_factor_needed"
        pending = client.cookies["cf_session"]
        assert client.get("/customers").status_code == 401
        assert client.post("/auth/second-factor", json={"code": totp.at(t)}).status_code == 401  # replayed
        r = client.post("/auth/second-factor", json={"code": totp.at(t + 30)})
        assert r.status_code == 200 and r.json()["status"] == "signed_in"
        assert client.cookies["cf_session"] != pending  # rotated at the second step too
        assert client.get("/customers").status_code == 200
    with httpx.Client(base_url=base) as client:
        sign_in(client, "max")
        assert client.post("/auth/second-factor", json={"code": recovery[0]}).json()["status"] == "signed_in"
    with httpx.Client(base_url=base) as client:
        sign_in(client, "max")
        assert client.post("/auth/second-factor", json={"code": recovery[0]}).status_code == 401  # one use


def test_lock_out_after_repeated_failures_then_admin_unlock(site):
    v, base = site
    with httpx.Client(base_url=base) as client:
        for _ in range(v.auth.lock_after_failures):
            r = sign_in(client, "clara", "wrong password!!")
            assert r.status_code == 401
            assert r.json()["detail"] == sign_in(client, "nobody-here", "x").json()["detail"]  # no user oracle
        locked = sign_in(client, "clara")  # locked: the right password fails too
        assert locked.status_code == 401
        assert sign_in(httpx.Client(base_url=base), "admin").status_code == 200  # others still sign in
        auth.unlock_user(vault=v, actor="admin", name="clara")  # (the HTTP route is in the matrix test)
        assert sign_in(client, "clara").status_code == 200
    events = audit.audit_log(vault=v, actor="admin", action="user.locked")
    assert [e.object_id for e in events] == ["clara"]


def test_token_scope_limits_what_the_token_can_do(site):
    v, base = site
    read_only = tokens.create_token(vault=v, actor="clara", name="crm", scope=["customer.read"]).token
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {read_only}"}) as client:
        assert client.get("/customers").status_code == 200
        assert client.post("/customers", json={"name": "王五", "kind": "person", "tier": "key"}).status_code == 403
        assert client.get("/documents").status_code == 403
    with httpx.Client(base_url=base, headers={"Authorization": "Bearer cf_nonsense"}) as client:
        r = client.get("/customers")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    with pytest.raises(Exception):
        tokens.create_token(vault=v, actor="clara", name="too wide", scope=["user.manage"])


def test_security_headers_and_docs_are_served_without_a_cdn(site):
    v, base = site
    root = base.rsplit("/api/v1", 1)[0]
    with httpx.Client() as client:
        r = client.get(root + "/api/docs")
        assert r.status_code == 200
        assert "cdn" not in r.text.lower() and "<script>" not in r.text  # assets local, no inline script
        for header in ("content-security-policy", "x-content-type-options", "referrer-policy"):
            assert header in r.headers
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert "strict-transport-security" not in r.headers  # plain HTTP on loopback: no HSTS
        assert client.get(root + "/api/docs/swagger/swagger-ui-bundle.js").status_code == 200
        spec = client.get(base + "/openapi.json").json()
        assert spec["openapi"].startswith("3.") and "/api/v1/documents" in spec["paths"]
