"""Rendering a page: the Jinja2 environment, the language and formats of the request, flash messages."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from urllib.parse import quote, unquote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape

from clientfolio.domain.policy import PERMISSIONS, Action, Role
from clientfolio.entrypoints.web import i18n

FLASH_COOKIE = "cf_flash"


@pass_context
def _gettext(ctx, message: str) -> str:
    return ctx["translations"].gettext(message)


@pass_context
def _ngettext(ctx, singular: str, plural: str, n: int) -> str:
    return ctx["translations"].ngettext(singular, plural, n)


@cache
def templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("clientfolio.entrypoints.web", "templates"),
                      autoescape=select_autoescape(default=True), extensions=["jinja2.ext.i18n"],
                      trim_blocks=True, lstrip_blocks=True)
    # Newstyle gettext: `_("Hello %(name)s", name=x)` escapes x; the catalogue comes from each page's context.
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    return Jinja2Templates(env=env)


def locale_of(request: Request) -> str:
    return i18n.choose_locale(request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language"))


def language(request: Request) -> str:
    """The taxonomy's label language for the request: "zh" or "en"."""
    return "zh" if locale_of(request).startswith("zh") else "en"


def translate(request: Request, message: str, **values) -> str:
    text = i18n.translations(locale_of(request)).gettext(message)
    return text % values if values else text


def page(request: Request, template: str, *, status: int = 200, visitor=None, **context) -> HTMLResponse:
    """Render `template` in the request's language; `visitor` (web.session.Visitor) fills the header."""
    locale = locale_of(request)
    actions = PERMISSIONS[Role(visitor.role)] if visitor and not visitor.enrolment_only else frozenset()
    flash = unquote(request.cookies.get(FLASH_COOKIE, ""))[:300]
    response = templates().TemplateResponse(request, template, {
        "translations": i18n.translations(locale), "locale": locale, "html_lang": locale.replace("_", "-"),
        "locales": i18n.NAMES, "fmt": i18n.Formats(locale, ZoneInfo(request.app.state.vault.time_zone)),
        "now": datetime.now(timezone.utc), "visitor": visitor, "may": {a.name.lower() for a in actions},
        "Action": Action, "flash": flash, **context}, status_code=status)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(to: str, *, flash: str | None = None) -> RedirectResponse:
    """After a form: 303 to the page that shows the result (so a reload does not post again)."""
    response = RedirectResponse(to, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash[:300]), max_age=60, httponly=True, samesite="strict",
                            path="/")
    return response


def safe_next(target: str | None) -> str:
    """Only a path on this site: `next=//evil.example` or `next=https://…` would be an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
