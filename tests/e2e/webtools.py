"""Driving the web pages over HTTP like a browser without JavaScript: forms, the CSRF field, redirects, TOTP.

(The Playwright tests drive a real browser; these helpers are for page tests that need no rendering.)
"""

from __future__ import annotations

import html
import re
import time

import httpx
import pyotp

PASSWORD = "Correct-Horse-Battery-42"
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')
_SECRET = re.compile(r"data-secret>([A-Z2-7]+)<")


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found and found.group(1), "the page has no CSRF field (not signed in?)"
    return found.group(1)


class Browser:
    """A cookie jar, a base URL and the habits of a person filling in forms."""

    def __init__(self, base: str, *, language: str = "en"):
        self.client = httpx.Client(base_url=base, follow_redirects=True, timeout=60,
                                   headers={"Accept-Language": language})
        self.totp: pyotp.TOTP | None = None
        self._step = time.time()

    def close(self) -> None:
        self.client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self, path: str, **kw) -> httpx.Response:
        return self.client.get(path, **kw)

    def submit(self, path: str, data: dict | None = None, *, from_page: str = "/account", **kw) -> httpx.Response:
        """POST a form the way the page would: with the CSRF token read from `from_page`."""
        token = csrf_of(self.get(from_page).text)
        return self.client.post(path, data={"csrf": token, **(data or {})}, **kw)

    def next_code(self) -> str:
        """A TOTP code the server has not seen yet (it refuses a replay; ±1 step is accepted)."""
        self._step += 30
        return self.totp.at(self._step - 30)

    def sign_in(self, name: str, password: str = PASSWORD, *, enrol: bool = True) -> httpx.Response:
        r = self.client.post("/sign-in", data={"name": name, "password": password, "next": "/"})
        if r.url.path == "/sign-in/code":
            r = self.client.post("/sign-in/code", data={"code": self.next_code(), "next": "/"})
        elif r.url.path == "/account/second-factor" and enrol:
            r = self.enrol()
        return r

    def enrol(self) -> httpx.Response:
        """Set up two-step sign-in from the enrolment page; returns the page with the recovery codes."""
        started = self.submit("/account/second-factor/start", from_page="/account/second-factor")
        secret = _SECRET.search(started.text)
        assert secret, "the enrolment page shows no key"
        self.totp = pyotp.TOTP(html.unescape(secret.group(1)))
        self._step = time.time()
        return self.client.post("/account/second-factor/confirm",
                                data={"csrf": csrf_of(started.text), "code": self.next_code()})
