"""The administration pages on a real server: users, API tokens, webhooks, the audit log and its exports.

Permission tests run on SQLite and PostgreSQL; the flows run on SQLite (the services they call are tested on
both backends in tests/services)."""

from __future__ import annotations

import csv
import io
import re
import time

import httpx
import pytest
from openpyxl import load_workbook

from clientfolio.domain import webhooks as rules
from clientfolio.services import audit, auth, customers, tokens, users, webhooks
from clientfolio.services.context import vault_today

from webhook_receiver import Receiver  # tests/ is on sys.path (rootdir conftest)
from .liveserver import live_server
from .webtools import PASSWORD, Browser, csrf_of

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
NEW_PASSWORD = "Plum-Orchard-Lantern-77"


@pytest.fixture
def site(staffed):
    for name in ("admin", "clara", "vera", "max", "audrey"):
        auth.set_password(vault=staffed, actor="admin", name=name, new_password=PASSWORD)
    with live_server(staffed) as base:
        yield staffed, base


@pytest.fixture
def admin(site):
    v, base = site
    with Browser(base) as browser:
        browser.sign_in("admin")
        yield browser


def user(v, name):
    return next(u for u in users.list_users(vault=v, actor="admin") if u.name == name)


def flash_or_error(r: httpx.Response) -> str:
    found = re.search(r'class="(?:flash|error)"[^>]*>([^<]*)<', r.text)
    return found.group(1) if found else ""


@sqlite_only
def test_admin_adds_a_user_with_a_password_and_the_user_signs_in(site, admin):
    v, base = site
    weak = admin.submit("/admin/users", {"name": "nina", "role": "clerk", "password": "short"})
    assert weak.status_code == 422 and 'role="alert"' in weak.text
    assert "nina" not in [u.name for u in users.list_users(vault=v, actor="admin")]  # nothing half-made

    r = admin.submit("/admin/users", {"name": "nina", "role": "clerk", "own_customers_only": "true",
                                      "password": NEW_PASSWORD})
    assert r.status_code == 200 and r.url.path == "/admin/users/nina"
    assert flash_or_error(r) == "User nina was added."
    nina = user(v, "nina")
    assert (nina.role, nina.own_customers_only, nina.has_password) == ("clerk", True, True)
    listed = admin.get("/admin/users").text
    assert '<a href="/admin/users/nina">nina</a>' in listed

    with Browser(base) as browser:
        signed_in = browser.sign_in("nina", NEW_PASSWORD)
        assert signed_in.url.path == "/" and signed_in.status_code == 200
    assert admin.submit("/admin/users", {"name": "nina", "role": "clerk", "password": NEW_PASSWORD}).status_code == 422
    done = [(e.action, e.object_id) for e in audit.audit_log(vault=v, actor="admin", user="admin")]
    assert ("user.create", "nina") in done and ("user.password", "nina") in done


@sqlite_only
def test_a_role_change_takes_effect_and_an_admin_cannot_demote_themselves(site, admin):
    v, base = site
    with Browser(base) as clara:
        clara.sign_in("clara")
        assert 'href="/upload"' in clara.get("/").text  # a clerk files documents
        r = admin.submit("/admin/users/clara/role", {"role": "viewer"}, from_page="/admin/users/clara")
        assert r.status_code == 200 and flash_or_error(r) == "The role of clara was saved."
        assert user(v, "clara").role == "viewer"
        assert 'href="/upload"' not in clara.get("/").text  # the same session now has a viewer's rights
        assert clara.get("/admin").status_code == 403
    unchanged = admin.submit("/admin/users/clara/role", {"role": "viewer"}, from_page="/admin/users/clara")
    assert flash_or_error(unchanged) == "Nothing was changed."
    refused = admin.submit("/admin/users/admin/role", {"role": "viewer"}, from_page="/admin/users/admin")
    assert refused.status_code == 422 and "cannot take away their own admin role" in refused.text
    assert user(v, "admin").role == "admin"
    [edit] = audit.audit_log(vault=v, actor="admin", action="user.edit", user="admin")
    assert edit.object_id == "clara" and edit.details["role"] == ["clerk", "viewer"]


@sqlite_only
def test_a_locked_account_is_shown_and_unlocked(site, admin):
    v, base = site
    with Browser(base) as clara:
        for _ in range(v.auth.lock_after_failures):
            assert clara.client.post("/sign-in", data={"name": "clara", "password": "wrong password!!"}).status_code == 401
        assert clara.sign_in("clara").status_code == 401  # locked: the right password is refused too
        assert user(v, "clara").locked
        assert "clara is locked" in admin.get("/admin").text
        page = admin.get("/admin/users/clara").text
        assert "Locked" in page and 'action="/admin/users/clara/unlock"' in page
        r = admin.submit("/admin/users/clara/unlock", from_page="/admin/users/clara")
        assert flash_or_error(r) == "clara is unlocked."
        assert clara.sign_in("clara").url.path == "/"
    [event] = audit.audit_log(vault=v, actor="admin", action="user.unlock")
    assert event.details == {"was_locked": True, "failures": v.auth.lock_after_failures}


@sqlite_only
def test_a_second_factor_reset_ends_sessions_and_asks_for_enrolment_again(site, admin):
    v, base = site
    with Browser(base) as max_:
        max_.sign_in("max")  # a manager must set up two-step sign-in: the helper enrols
        assert user(v, "max").second_factor and max_.get("/").url.path == "/"
        page = admin.get("/admin/users/max").text
        assert 'action="/admin/users/max/second-factor/reset"' in page and "data-confirm=" in page
        r = admin.submit("/admin/users/max/second-factor/reset", from_page="/admin/users/max")
        assert flash_or_error(r) == "Two-step sign-in of max was reset."
        assert not user(v, "max").second_factor
        assert max_.get("/").url.path == "/sign-in"  # the old session ended
        again = max_.sign_in("max", enrol=False)
        assert again.url.path == "/account/second-factor" and "Set up two-step sign-in" in again.text
    assert audit.audit_log(vault=v, actor="admin", action="auth.totp_reset")[0].details["was_on"] is True


@sqlite_only
def test_disable_enable_password_and_sign_out_everywhere(site, admin):
    v, base = site
    with Browser(base) as clara:
        clara.sign_in("clara")
        admin.submit("/admin/users/clara/sign-out", from_page="/admin/users/clara")
        assert clara.get("/").url.path == "/sign-in"
        admin.submit("/admin/users/clara/password", {"password": NEW_PASSWORD}, from_page="/admin/users/clara")
        assert clara.sign_in("clara").status_code == 401 and clara.sign_in("clara", NEW_PASSWORD).url.path == "/"
        admin.submit("/admin/users/clara/disable", from_page="/admin/users/clara")
        assert user(v, "clara").disabled and clara.get("/").url.path == "/sign-in"
        admin.submit("/admin/users/clara/enable", from_page="/admin/users/clara")
        assert clara.sign_in("clara", NEW_PASSWORD).url.path == "/"
    own = admin.submit("/admin/users/admin/disable", from_page="/admin/users/admin")
    assert own.status_code == 422 and not user(v, "admin").disabled


ADMIN_PAGES = ["/admin", "/admin/users", "/admin/users/clara", "/admin/tokens", "/admin/webhooks", "/admin/webhooks/1",
               "/admin/audit", "/admin/audit/export.csv", "/admin/audit/export.xlsx"]
ADMIN_FORMS = [("/admin/users", {"name": "mallory", "role": "admin", "password": NEW_PASSWORD}),
               ("/admin/users/admin/role", {"role": "viewer"}), ("/admin/users/max/disable", {}),
               ("/admin/users/max/enable", {}), ("/admin/users/max/password", {"password": NEW_PASSWORD}),
               ("/admin/users/max/unlock", {}), ("/admin/users/max/second-factor/reset", {}),
               ("/admin/users/max/sign-out", {}), ("/admin/webhooks", {"url": "https://example.com/hook"}),
               ("/admin/webhooks/1/remove", {}), ("/admin/webhooks/1/deliveries/1/redeliver", {}),
               ("/admin/audit/verify", {})]


@pytest.mark.parametrize("name", ["clara", "vera"])
def test_clerks_and_viewers_get_403_on_every_admin_page_and_form(site, name):
    v, base = site
    hook = webhooks.register_webhook(vault=v, actor="admin", url="https://example.com/in").webhook
    assert hook.id == 1
    before = [u.to_dict() for u in users.list_users(vault=v, actor="admin")]
    with Browser(base) as browser:
        home = browser.sign_in(name)
        assert home.url.path == "/" and 'href="/admin"' not in home.text  # no link to what they may not use
        for path in ADMIN_PAGES:
            assert browser.get(path).status_code == 403, path
        for path, data in ADMIN_FORMS:
            r = browser.submit(path, data)
            assert r.status_code == 403, path
            assert "You may not do this" in r.text
        assert browser.get("/account/tokens").status_code == 200  # their own tokens are theirs
    assert [u.to_dict() for u in users.list_users(vault=v, actor="admin")] == before
    assert [h.id for h in webhooks.list_webhooks(vault=v, actor="admin")] == [1]
    denied = audit.audit_log(vault=v, actor="admin", user=name, limit=1000)
    assert sum(e.outcome == "denied" for e in denied) >= len(ADMIN_FORMS)  # every refusal is in the trail


def test_an_auditor_reads_but_changes_nothing(site):
    v, base = site
    with Browser(base) as audrey:
        audrey.sign_in("audrey")
        index = audrey.get("/admin")
        assert index.status_code == 200
        assert 'href="/admin/audit"' in index.text and 'href="/admin/webhooks"' not in index.text
        for path in ("/admin/users", "/admin/users/clara", "/admin/tokens", "/admin/audit"):
            assert audrey.get(path).status_code == 200, path
        page = audrey.get("/admin/users/clara").text
        assert "/admin/users/clara/disable" not in page  # no buttons for what an auditor may not do
        assert audrey.get("/admin/webhooks").status_code == 403
        assert audrey.submit("/admin/users/clara/disable").status_code == 403
        assert audrey.submit("/admin/audit/verify").status_code == 200
    assert not user(v, "clara").disabled


@sqlite_only
def test_audit_page_filters_by_action_pages_and_verifies_the_chain(site, admin):
    v, base = site
    for _ in range(30):  # 60 user.edit events
        users.set_role(vault=v, actor="admin", name="vera", own_customers_only=True)
        users.set_role(vault=v, actor="admin", name="vera", own_customers_only=False)
    customers.add_customer(vault=v, actor="admin", name="张三", kind="person", tier="key")
    first = admin.get("/admin/audit", params={"action": "user.edit"})
    assert first.status_code == 200
    actions = re.findall(r"<code>([a-z_.]+)</code></a>", first.text)
    assert actions == ["user.edit"] * 50
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = admin.get("/admin/audit", params={"action": "user.edit", "offset": "50"})
    assert re.findall(r"<code>([a-z_.]+)</code></a>", second.text) == ["user.edit"] * 10
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text

    today = vault_today(v).isoformat()
    by_customer = admin.get("/admin/audit", params={"customer": "c000001", "since": today, "until": today})
    assert re.findall(r"<code>([a-z_.]+)</code></a>", by_customer.text) == ["customer.create"]
    assert admin.get("/admin/audit", params={"customer": "C000001", "until": "2000-01-01"}).text.count(
        "customer.create") == 0
    assert admin.get("/admin/audit", params={"since": "yesterday"}).status_code == 422

    checked = admin.submit("/admin/audit/verify?action=user.edit", from_page="/admin/audit")
    assert checked.status_code == 200 and "Intact" in checked.text and 'value="user.edit"' in checked.text
    assert audit.audit_log(vault=v, actor="admin", action="audit.verify")[0].outcome == "ok"


@sqlite_only
def test_exports_hold_the_filtered_events_as_csv_and_xlsx(site, admin):
    v, base = site
    users.add_user(vault=v, actor="admin", name="zoe", role="viewer")
    expected = sorted(e.seq for e in audit.audit_log(vault=v, actor="admin", action="user.create"))
    page = admin.get("/admin/audit", params={"action": "user.create"}).text
    assert 'href="/admin/audit/export.csv?action=user.create"' in page

    r = admin.get("/admin/audit/export.csv", params={"action": "user.create"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == f'attachment; filename="audit-{vault_today(v).isoformat()}.csv"'
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["action"] for row in rows} == {"user.create"}
    assert sorted(int(row["seq"]) for row in rows) == expected and "zoe" in {row["object_id"] for row in rows}

    x = admin.get("/admin/audit/export.xlsx", params={"action": "user.create"})
    assert x.status_code == 200 and x.headers["cache-control"] == "no-store"
    assert x.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(x.content), read_only=True).active
    header, *data = list(sheet.iter_rows(values_only=True))
    assert header[:4] == ("seq", "at", "actor", "action")
    assert sorted(row[0] for row in data) == expected and {row[3] for row in data} == {"user.create"}
    exports = audit.audit_log(vault=v, actor="admin", action="audit.export")
    assert [e.details["format"] for e in exports] == ["xlsx", "csv"]
    assert admin.get("/admin/audit/export.pdf").status_code == 422


@sqlite_only
def test_a_token_is_shown_once_works_as_bearer_then_revoked_is_refused(site, admin):
    v, base = site
    with Browser(base) as clara:
        clara.sign_in("clara")
        form = clara.get("/account/tokens").text
        assert 'value="customer.read"' in form and 'value="user.manage"' not in form  # only the role's rights
        made = clara.submit("/account/tokens", {"name": "crm", "scope_mode": "some", "scope": ["customer.read"],
                                                "days": "30"}, from_page="/account/tokens")
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        assert not made.history and made.url.path == "/account/tokens"  # shown in the answer, no redirect
        token = re.search(r"cf_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", made.text).group(0)
        assert token not in str(made.url) and token not in made.headers.get("set-cookie", "")
        assert token not in clara.get("/account/tokens").text  # once only
        api = httpx.Client(base_url=base + "/api/v1", headers={"Authorization": f"Bearer {token}"})
        assert api.get("/customers").status_code == 200
        assert api.post("/customers", json={"name": "王五", "kind": "person", "tier": "key"}).status_code == 403

        listed = admin.get("/admin/tokens", params={"user": "clara"}).text
        assert "crm" in listed and token not in listed
        [mine] = tokens.list_tokens(vault=v, actor="clara")
        revoked = clara.submit(f"/account/tokens/{mine.id}/revoke", {"next": "/account/tokens"},
                               from_page="/account/tokens")
        assert revoked.url.path == "/account/tokens" and "is revoked" in flash_or_error(revoked)
        assert api.get("/customers").status_code == 401
        api.close()
        bad = clara.submit("/account/tokens", {"name": "x", "scope_mode": "some", "days": "30"},
                           from_page="/account/tokens")
        assert bad.status_code == 422 and not tokens.list_tokens(vault=v, actor="clara")


@sqlite_only
def test_an_admin_revokes_another_users_token(site, admin):
    v, base = site
    made = tokens.create_token(vault=v, actor="vera", name="script", scope=None)
    page = admin.get("/admin/tokens").text
    assert "script" in page and "Everything the role allows" in page
    r = admin.submit(f"/account/tokens/{made.view.id}/revoke", {"next": "/admin/tokens"}, from_page="/admin/tokens")
    assert r.url.path == "/admin/tokens"
    assert tokens.list_tokens(vault=v, actor="admin", user="vera") == []


@sqlite_only
def test_webhook_add_deliveries_redeliver_and_remove(site, admin):
    v, base = site
    refused = admin.submit("/admin/webhooks", {"url": "http://example.com/hook"}, from_page="/admin/webhooks")
    assert refused.status_code == 422 and not webhooks.list_webhooks(vault=v, actor="admin")
    with Receiver(status=500) as receiver:
        made = admin.submit("/admin/webhooks", {"url": receiver.url, "events": ["customer.created"],
                                                "description": "CRM"}, from_page="/admin/webhooks")
        assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
        secret = re.search(r"whsec_[A-Za-z0-9_-]+", made.text).group(0)
        [hook] = webhooks.list_webhooks(vault=v, actor="admin")
        assert hook.events == ["customer.created"] and hook.description == "CRM"
        assert secret not in admin.get("/admin/webhooks").text  # shown once

        customers.add_customer(vault=v, actor="admin", name="李四", kind="person", tier="key")
        webhooks.dispatch(vault=v, sender=v.webhook_sender)
        [request] = receiver.requests
        assert rules.verify_signature(secret, request["headers"][rules.SIGNATURE_HEADER], request["body"],
                                      now=int(time.time()))  # the secret on the page is the real one
        page = admin.get(f"/admin/webhooks/{hook.id}")
        assert page.status_code == 200 and "customer.created" in page.text and "HTTP 500" in page.text
        [sent] = webhooks.list_deliveries(vault=v, actor="admin", webhook_id=hook.id).items
        assert sent.attempts == 1
        again = admin.submit(f"/admin/webhooks/{hook.id}/deliveries/{sent.id}/redeliver",
                             from_page=f"/admin/webhooks/{hook.id}")
        assert again.url.path == f"/admin/webhooks/{hook.id}"
        [sent] = webhooks.list_deliveries(vault=v, actor="admin", webhook_id=hook.id).items
        assert (sent.status, sent.attempts) == ("pending", 0)

    removed = admin.submit(f"/admin/webhooks/{hook.id}/remove", from_page="/admin/webhooks")
    assert removed.status_code == 200 and "Nothing more is sent to" in flash_or_error(removed)
    assert webhooks.list_webhooks(vault=v, actor="admin") == []
    assert "Removed" in admin.get("/admin/webhooks", params={"removed": "true"}).text
    assert [e.action for e in audit.audit_log(vault=v, actor="admin", object_type="webhook")] == [
        "webhook.remove", "webhook.create"]


def test_forms_without_the_csrf_field_or_from_another_site_change_nothing(site, admin):
    v, base = site
    client = admin.client
    assert client.post("/admin/users", data={"name": "mallory", "role": "admin",
                                              "password": NEW_PASSWORD}).status_code == 403
    assert client.post("/admin/users/clara/disable").status_code == 403
    assert client.post("/admin/users/clara/disable", data={"csrf": "forged"}).status_code == 403
    token = csrf_of(admin.get("/admin/users").text)
    assert client.post("/admin/users/clara/disable", data={"csrf": token},
                       headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/admin/webhooks", data={"url": "https://example.com/x"}).status_code == 403
    assert client.post("/account/tokens", data={"name": "x", "scope_mode": "role", "days": "9"}).status_code == 403
    assert "mallory" not in [u.name for u in users.list_users(vault=v, actor="admin")]
    assert not user(v, "clara").disabled
    assert webhooks.list_webhooks(vault=v, actor="admin") == []
    assert tokens.list_tokens(vault=v, actor="admin") == []
