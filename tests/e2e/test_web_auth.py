"""The pages' front door: sign-in with a second factor, enrolment, the account page, sign-out, CSRF on forms,
the language of the pages, error pages and headers."""

from __future__ import annotations

import pytest

from clientfolio.services import audit, auth

from .liveserver import live_server
from .webtools import PASSWORD, Browser, csrf_of


@pytest.fixture
def site(staffed):
    for name in ("clara", "max", "vera", "admin"):
        auth.set_password(vault=staffed, actor="admin", name=name, new_password=PASSWORD)
    with live_server(staffed) as base:
        yield staffed, base


def test_pages_need_a_session_and_come_back_after_sign_in(site):
    v, base = site
    with Browser(base) as b:
        r = b.get("/account?tab=password", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2Faccount%3Ftab%3Dpassword"
        r = b.client.post("/sign-in", data={"name": "clara", "password": PASSWORD, "next": "/account"})
        assert r.url.path == "/account" and "clara" in r.text


def test_wrong_password_is_refused_on_the_page_without_saying_which_part_was_wrong(site):
    v, base = site
    with Browser(base) as b:
        wrong = b.client.post("/sign-in", data={"name": "clara", "password": "not it at all"})
        nobody = b.client.post("/sign-in", data={"name": "nobody", "password": "not it at all"})
        assert wrong.status_code == nobody.status_code == 401
        assert "Wrong user name or password." in wrong.text and "Wrong user name or password." in nobody.text
        assert "not it at all" not in wrong.text  # the password is never echoed back
        assert 'value="clara"' in wrong.text  # the name is kept for the next try


def test_next_cannot_send_the_user_to_another_site(site):
    v, base = site
    with Browser(base) as b:
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            r = b.client.post("/sign-in", data={"name": "clara", "password": PASSWORD, "next": target},
                              follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/"


def test_manager_enrols_a_second_factor_then_needs_it_to_sign_in(site):
    v, base = site
    with Browser(base) as b:
        r = b.client.post("/sign-in", data={"name": "max", "password": PASSWORD, "next": "/"})
        assert r.url.path == "/account/second-factor"  # the role requires it: only enrolment is open
        assert b.get("/account", follow_redirects=False).headers["location"] == "/account/second-factor"
        done = b.enrol()
        assert done.status_code == 200 and done.text.count("<li><code>") == 10  # recovery codes, shown once
        assert b.get("/").url.path == "/"
        b.submit("/sign-out", from_page="/account")
        r = b.client.post("/sign-in", data={"name": "max", "password": PASSWORD, "next": "/"})
        assert r.url.path == "/sign-in/code"
        wrong = b.client.post("/sign-in/code", data={"code": "000000", "next": "/"})
        assert wrong.status_code == 401 and "That code is not right" in wrong.text
        r = b.client.post("/sign-in/code", data={"code": b.next_code(), "next": "/"})
        assert r.url.path == "/" and "Dashboard" in r.text
    actions = [e.action for e in audit.audit_log(vault=v, actor="admin", user="max")]
    assert "auth.totp_enrol" in actions


def test_forms_without_the_sessions_csrf_token_change_nothing(site):
    v, base = site
    with Browser(base) as b:
        b.sign_in("clara")
        r = b.client.post("/account/password", data={"current_password": PASSWORD, "new_password": "x" * 20})
        assert r.status_code == 403 and "CSRF" in r.text
        r = b.client.post("/account/password", headers={"Origin": "https://evil.example"},
                          data={"csrf": csrf_of(b.get("/account").text), "current_password": PASSWORD,
                                "new_password": "An-Entirely-New-Passphrase-7"})
        assert r.status_code == 403
    with Browser(base) as again:
        assert again.sign_in("clara").url.path == "/"  # the password is unchanged


def test_change_password_keeps_this_session_and_ends_the_others(site):
    v, base = site
    with Browser(base) as other:
        other.sign_in("clara")
        with Browser(base) as b:
            b.sign_in("clara")
            short = b.submit("/account/password", {"current_password": PASSWORD, "new_password": "short"})
            assert short.status_code == 422 and 'class="error"' in short.text
            r = b.submit("/account/password", {"current_password": PASSWORD,
                                               "new_password": "An-Entirely-New-Passphrase-7"})
            assert r.url.path == "/account" and "Your password was changed." in r.text
            assert b.get("/account").url.path == "/account"
        assert other.get("/account").url.path == "/sign-in"


def test_sign_out_ends_the_session(site):
    v, base = site
    with Browser(base) as b:
        b.sign_in("vera")
        cookie = b.client.cookies["cf_session"]
        assert b.submit("/sign-out", from_page="/account").url.path == "/sign-in"
        b.client.cookies.set("cf_session", cookie, domain="127.0.0.1")
        assert b.get("/account").url.path == "/sign-in"


def test_language_follows_the_browser_then_the_switch(site):
    v, base = site
    with Browser(base, language="zh-CN,zh;q=0.9,en;q=0.5") as b:
        page = b.get("/sign-in").text
        assert '<html lang="zh-CN">' in page and "登录" in page
        b.client.post("/language", data={"locale": "en", "next": "/sign-in"})
        page = b.get("/sign-in").text
        assert '<html lang="en">' in page and "Sign in" in page and "登录" not in page
    with Browser(base, language="en-GB") as b:
        assert "Sign in" in b.get("/sign-in").text


def test_dates_and_numbers_follow_the_language(site):
    v, base = site
    with Browser(base, language="zh-CN") as b:
        b.sign_in("clara")
        assert "年" in b.get("/account").text  # "Signed in since 2026年12月1日 …"
    with Browser(base, language="en") as b:
        b.sign_in("clara")
        assert "年" not in b.get("/account").text


def test_error_pages_are_html_in_the_visitors_language_and_the_api_keeps_problem_json(site):
    v, base = site
    with Browser(base, language="zh-CN") as b:
        b.sign_in("clara")
        r = b.get("/no-such-page")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and "未找到" in r.text
        api = b.get("/api/v1/no-such-thing")
        assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_pages_carry_the_security_headers_and_no_inline_script(site):
    v, base = site
    with Browser(base) as b:
        r = b.get("/sign-in")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert "<script>" not in r.text and " onclick=" not in r.text and " style=" not in r.text
        cookie = b.client.post("/sign-in", data={"name": "clara", "password": PASSWORD},
                               follow_redirects=False).headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
