"""Fixtures and helpers for the browser tests: Debian's chromium driven by Playwright (sync API), a real uvicorn
serving a SQLite vault, people who sign in with TOTP codes, screenshots saved as test artifacts.

Test modules import the fixtures they use: `from .browser import chromium, site, viewport, ...  # noqa: F401`.
No browser is ever downloaded: without /usr/bin/chromium the tests skip, or fail when
CLIENTFOLIO_REQUIRE_SERVICES=1 (CI installs it with `make sysdeps`).
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest

from clientfolio import bootstrap
from clientfolio.services import auth, second_factor, users

from conftest import ROLE_USERS, skip_or_fail  # tests/ is on sys.path (rootdir conftest)
from .liveserver import live_server
from .webtools import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
PHONE_WIDTH = VIEWPORTS["phone"]["width"]


# --- the browser ------------------------------------------------------------------------------------------------

_shared: dict = {}  # one Playwright and one chromium per test run, whichever module's fixture starts them


@pytest.fixture(scope="session")
def chromium():
    """One headless chromium for the whole run (each test gets its own context: cookies, viewport, language).

    Every test module imports this fixture, which makes it one session fixture per module for pytest; they share
    the browser here, because the sync API allows only one Playwright per thread."""
    path = shutil.which("chromium")
    if not path:
        skip_or_fail("chromium is not installed (Debian package `chromium`; `make sysdeps` installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright Python package is not installed")
    owner = not _shared
    if owner:
        _shared["playwright"] = sync_playwright().start()
        try:
            _shared["browser"] = _shared["playwright"].chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Exception:
            _shared.pop("playwright").stop()
            raise
    try:
        yield _shared["browser"]
    finally:
        if owner:  # set up first, torn down last
            _shared.pop("browser").close()
            _shared.pop("playwright").stop()


@pytest.fixture(params=sorted(VIEWPORTS), ids=lambda name: name)
def viewport(request) -> str:
    """'desktop' (1280×800) or 'phone' (390×844): a test taking this fixture runs at both widths."""
    return request.param


# --- the vault and the server ---------------------------------------------------------------------------------------

class Authenticator:
    """A person's authenticator app: fresh codes only (the server refuses a replayed step and accepts ±1 step)."""

    def __init__(self, secret: str):
        self.totp = pyotp.TOTP(secret)
        self.last: int | None = None

    def code(self) -> str:
        now = int(time.time() // 30)
        step = now if self.last is None else max(now, self.last + 1)
        while step > int(time.time() // 30) + 1:  # used up this window and the next: wait for the clock
            time.sleep(0.5)
        self.last = step
        return self.totp.at(step * 30)

    def wrong_code(self) -> str:
        """Six digits that are no valid code right now."""
        now = time.time()
        valid = {self.totp.at(now + 30 * d) for d in (-1, 0, 1)}
        return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


@dataclass
class Site:
    base: str
    vault: object
    apps: dict[str, Authenticator] = field(default_factory=dict)

    def enrol(self, name: str) -> Authenticator:
        """Turn on two-step sign-in for `name` through the service (for tests not about enrolment)."""
        enrolment = second_factor.start_totp(vault=self.vault, actor=name)
        app = self.apps[name] = Authenticator(enrolment.secret)
        second_factor.confirm_totp(vault=self.vault, actor=name, code=app.code())
        return app

    def drain(self) -> None:
        """Run the background jobs (text extraction, OCR, indexing) the way the worker would."""
        while self.vault.jobs.drain():
            pass


@pytest.fixture
def web_vault(tmp_path, monkeypatch):
    """A vault on SQLite (browser tests need no second database) with one user per role and `olga` (a clerk
    limited to her own customers), every password PASSWORD."""
    monkeypatch.delenv("CLIENTFOLIO_MASTER_KEY", raising=False)
    monkeypatch.delenv("CLIENTFOLIO_DATABASE_URL", raising=False)
    home = tmp_path / "home"
    bootstrap.init_vault(home, admin="admin")
    vault = bootstrap.open_vault(home)
    for role, name in ROLE_USERS.items():
        if role != "admin":
            users.add_user(vault=vault, actor="admin", name=name, role=role)
    users.add_user(vault=vault, actor="admin", name="olga", role="clerk", own_customers_only=True)
    for name in [*ROLE_USERS.values(), "olga"]:
        auth.set_password(vault=vault, actor="admin", name=name, new_password=PASSWORD)
    yield vault
    bootstrap.dispose_engines()


@pytest.fixture
def site(web_vault):
    with live_server(web_vault) as base:
        yield Site(base, web_vault)


@pytest.fixture
def open_page(chromium, site, request):
    """open_page(viewport="desktop", locale="en-US") → a Playwright page in a fresh context (no cookies)."""
    contexts = []

    def make(viewport: str = "desktop", *, locale: str = "en-US"):
        context = chromium.new_context(viewport=VIEWPORTS[viewport], locale=locale, base_url=site.base,
                                       device_scale_factor=1, is_mobile=viewport == "phone",
                                       has_touch=viewport == "phone")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.viewport_name = viewport
        errors = page.js_errors = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


# --- what a person does --------------------------------------------------------------------------------------------

SECRET = re.compile(r"^[A-Z2-7]+$")


def sign_in(page, site: Site, name: str, password: str = PASSWORD, *, enrol: bool = True) -> None:
    """Through the sign-in page; a code from the person's app when asked; enrolment when the role requires it."""
    page.goto("/sign-in")
    page.locator("#f-name").fill(name)
    page.locator("#f-password").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_load_state()
    if page.url.endswith("/sign-in/code") or "/sign-in/code?" in page.url:
        page.locator("#f-code").fill(site.apps[name].code())
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()
    elif "/account/second-factor" in page.url and enrol:
        enrol_in_page(page, site, name)
        page.locator("main a.button.primary").click()  # "Continue" after the recovery codes
        page.wait_for_load_state()


def enrol_in_page(page, site: Site, name: str) -> list[str]:
    """On the enrolment page: start (unless the key is shown already), read the key, confirm a code; returns the
    recovery codes shown."""
    if not page.locator("[data-secret]").count():
        page.locator("form[action='/account/second-factor/start'] button").click()
    secret = page.locator("[data-secret]").inner_text().strip()
    assert SECRET.match(secret), secret
    app = site.apps[name] = Authenticator(secret)
    page.locator("#f-code").fill(app.code())
    page.locator("form[action='/account/second-factor/confirm'] button").click()
    return [c.strip() for c in page.locator("ol.codes code").all_inner_texts()]


def sign_out(page) -> None:
    page.locator("form[action='/sign-out'] button").click()
    page.wait_for_url(re.compile(r"/sign-in"))


def open_menu(page) -> None:
    """On a phone the main menu folds behind "Menu": open it (a no-op where it is open already)."""
    menu = page.locator("details.menu")
    if menu.count() and not menu.evaluate("d => d.open"):
        page.locator("details.menu > summary").click()


def go_by_menu(page, href: str) -> None:
    open_menu(page)
    page.locator(f"nav a[href='{href}']").click()
    page.wait_for_load_state()


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def assert_fits(page) -> None:
    """At phone width nothing may make the page scroll sideways."""
    if getattr(page, "viewport_name", "desktop") == "phone":
        width = page_width(page)
        if width > PHONE_WIDTH:
            wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > 391)
                .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                                 (e.className && typeof e.className === 'string' ? '.' + e.className : '') +
                                 ' right=' + Math.round(e.getBoundingClientRect().right))""")
            raise AssertionError(f"{page.url} is {width}px wide at 390px: {wide}")


def shot(page, name: str) -> Path:
    """A full-page screenshot test-artifacts/screenshots/<name>-<viewport>.png (after the width check)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{getattr(page, 'viewport_name', 'desktop')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def main_text(page) -> str:
    return page.locator("main").inner_text()


def drop_files(page, selector: str, files: list[dict]) -> None:
    """Drop files on an element the way a person dragging them from the desktop would: dragenter, dragover and
    drop events carrying a DataTransfer with the files (`files`: dicts of name, mimeType, buffer)."""
    payload = [{"name": f["name"], "type": f["mimeType"], "bytes": list(f["buffer"])} for f in files]
    page.locator(selector).evaluate("""(zone, files) => {
        const transfer = new DataTransfer();
        for (const f of files) transfer.items.add(new File([new Uint8Array(f.bytes)], f.name, {type: f.type}));
        for (const type of ["dragenter", "dragover", "drop"]) {
            zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
        }
    }""", payload)


def accept_confirmations(page) -> None:
    """Say yes to the page's "are you sure?" questions (form[data-confirm] asks with window.confirm)."""
    page.on("dialog", lambda dialog: dialog.accept())
