"""The authorization matrix: every role (and an own-customers-only clerk, an anonymous client and an expired
token) against every endpoint of the API, on a live server, asserting the exact status."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text

from clientfolio.services import customers, documents, tokens

from .liveserver import live_server

USERS = ["vera", "clara", "max", "audrey", "admin", "olga"]  # viewer, clerk, manager, auditor, admin, own-only
ALL = {u: 200 for u in USERS}
SECRET_WORD = "zorblaxid"  # only in the sensitive document
ID_A = "11010519491231002X"


def only(ok: int, allowed: set[str], denied: int = 403) -> dict[str, int]:
    return {u: ok if u in allowed else denied for u in USERS}


@pytest.fixture
def world(staffed):
    v = staffed
    a = customers.add_customer(vault=v, actor="admin", name="甲方客户", kind="person", tier="key", owner="olga",
                               identifiers={"resident_id": ID_A})
    b = customers.add_customer(vault=v, actor="admin", name="乙方客户", kind="person", tier="key")
    doc_a = documents.add_document(vault=v, actor="admin", customer_code=a.code, content=[b"contract A penalty"],
                                   original_name="a.txt", category="contract")
    doc_s = documents.add_document(vault=v, actor="admin", customer_code=a.code,
                                   content=[f"ID card {SECRET_WORD}".encode()], original_name="id.txt",
                                   category="id_document")
    doc_b = documents.add_document(vault=v, actor="admin", customer_code=b.code, content=[b"contract B"],
                                   original_name="b.txt", category="contract")
    v.jobs.drain()  # the background text jobs: extract, seal, index
    keys = {u: tokens.create_token(vault=v, actor=u, name="matrix").token for u in USERS}
    expired = tokens.create_token(vault=v, actor="admin", name="old", expires_in_days=1)
    with v.uow() as uow:
        uow.session.execute(text("UPDATE api_tokens SET expires_at = :t WHERE id = :i"),
                            {"t": "2000-01-01 00:00:00", "i": expired.view.id})
        uow.session.commit()
    keys["expired"] = expired.token
    with live_server(v) as base:
        yield dict(v=v, base=base, keys=keys, A=a.code, B=b.code, a=doc_a.id, s=doc_s.id, b=doc_b.id)


def cases(w):
    A, B, a, s, b = w["A"], w["B"], w["a"], w["s"], w["b"]
    writers = {"clara", "max", "admin", "olga"}
    return [
        ("GET", "/customers", None, ALL),
        ("GET", f"/customers/{B}", None, only(200, set(USERS) - {"olga"})),
        ("GET", f"/customers/{A}?reveal=true", None, only(200, {"max", "admin"})),
        ("POST", "/customers", {"json": {"name": "新客户", "kind": "person", "tier": "standard"}}, only(201, writers)),
        ("PATCH", f"/customers/{B}", lambda who: {"json": {"name": f"乙方 {who}"}}, only(200, {"clara", "max", "admin"})),
        ("POST", "/customers/lookup", {"json": {"kind": "resident_id", "value": ID_A}}, ALL),
        ("POST", f"/customers/{B}/review", None, only(200, {"clara", "max", "admin"})),
        ("POST", f"/customers/{A}/review", None, only(200, {"clara", "max", "admin", "olga"})),
        ("GET", "/documents", None, ALL),
        ("GET", f"/documents/{a}", None, ALL),
        ("GET", f"/documents/{b}", None, only(200, set(USERS) - {"olga"})),
        ("GET", f"/documents/{s}", None, only(200, {"max", "admin", "audrey"})),
        ("GET", f"/documents/{a}/content", None, only(200, set(USERS) - {"audrey"})),
        ("GET", f"/documents/{s}/content", None, only(200, {"max", "admin"})),
        ("GET", f"/documents/{a}/versions", None, ALL),
        ("GET", f"/documents/{a}/diff?a=1&b=1", None, only(200, set(USERS) - {"audrey"})),
        ("PATCH", f"/documents/{a}", lambda who: {"json": {"paper_location": f"柜 {who}"}}, only(200, writers)),
        ("POST", f"/documents?customer={A}&category=contract", "upload", only(201, writers)),
        ("POST", f"/documents/{a}/versions", "upload", only(201, writers)),
        ("POST", f"/documents/{a}/versions/1/restore", None, only(200, {"max", "admin"})),
        ("DELETE", f"/documents/{b}", None, only(200, {"max", "admin"})),
        ("POST", "/search", {"json": {"query": "contract"}}, ALL),
        ("GET", "/audit?limit=5", None, only(200, {"audrey", "admin"})),
        ("GET", "/audit/verify", None, only(200, {"audrey", "admin"})),
        ("GET", "/users", None, only(200, {"audrey", "admin"})),
        ("POST", "/users", {"json": {"name": "newbie", "role": "viewer"}}, only(201, {"admin"})),
        ("POST", "/users/vera/unlock", None, only(200, {"admin"})),
        ("POST", "/users/vera/sign-out", None, only(200, {"admin"})),
        ("POST", "/auth/recovery-codes", {"json": {"code": "123456"}}, only(200, set())),
        ("GET", "/tokens", None, only(200, set())),  # a token cannot manage the account it belongs to
        ("GET", "/webhooks", None, only(200, {"admin"})),
        ("POST", "/webhooks", {"json": {"url": "https://hooks.example/cf"}}, only(201, {"admin"})),
        ("GET", f"/documents/{s}/fields", None, only(200, {"max", "admin"})),
    ]


def _request(w, client, who, method, path, extra):
    headers = {"Authorization": f"Bearer {w['keys'][who]}"} if who != "anonymous" else {}
    if callable(extra):
        extra = extra(who)
    kwargs = dict(extra or {}) if extra != "upload" else {
        "files": {"file": (f"{who}.txt", f"new content from {who} {path}".encode(), "text/plain")}}
    return client.request(method, w["base"] + "/api/v1" + path, headers=headers, **kwargs)


def _undo(w, method, path, status):
    """Put back what a successful request changed that a later role's request depends on."""
    if method == "DELETE" and status == 200:
        documents.undelete_document(vault=w["v"], actor="admin", document_id=w["b"])
    if method == "POST" and path == "/users" and status == 201:
        from clientfolio.services import users
        users.set_role(vault=w["v"], actor="admin", name="newbie", disabled=True)
        with w["v"].uow() as uow:
            uow.session.execute(text("UPDATE users SET name = :n WHERE name = 'newbie'"),
                                {"n": f"gone{uow.session.execute(text('SELECT count(*) FROM users')).scalar()}"})
            uow.session.commit()


def test_every_role_against_every_endpoint(world):
    w = world
    wrong = []
    with httpx.Client(timeout=30) as client:
        for method, path, extra, expected in cases(w):
            for who in USERS + ["anonymous", "expired"]:
                want = expected.get(who, 401)
                got = _request(w, client, who, method, path, extra)
                if got.status_code != want:
                    wrong.append(f"{who:9} {method} {path}: {got.status_code} (want {want}) {got.text[:160]}")
                elif got.status_code >= 400:
                    assert got.headers["content-type"] == "application/problem+json", (who, method, path)
                    assert got.json()["type"].startswith("urn:clientfolio:problem:")
                _undo(w, method, path, got.status_code)
    assert not wrong, "\n".join(wrong)


def test_a_viewer_never_sees_a_sensitive_document_or_a_snippet_of_it(world):
    w = world
    with httpx.Client(timeout=30, base_url=w["base"] + "/api/v1") as client:
        for who, sees in (("vera", False), ("clara", False), ("audrey", False), ("max", True)):
            auth = {"Authorization": f"Bearer {w['keys'][who]}"}
            found = client.post("/search", json={"query": SECRET_WORD}, headers=auth).json()
            assert (found["total"] > 0) == sees, (who, found)
            listed = client.get("/documents", params={"limit": 1000}, headers=auth).json()
            assert (w["s"] in {d["id"] for d in listed["items"]}) == (who in {"max", "audrey"}), who
            assert listed["total"] == len(listed["items"])  # counts leak nothing the list hides
            if not sees:
                assert SECRET_WORD not in client.post("/search", json={"query": "ID card"}, headers=auth).text
