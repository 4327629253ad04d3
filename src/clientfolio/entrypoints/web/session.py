"""Who is looking at a page: the session cookie set at sign-in, resolved by the auth services.

Pages need a signed-in session (API tokens are for programs, not pages). A form that changes anything carries
the session's CSRF token in a hidden `csrf` field and must come from this site.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Depends, Form, Request

from clientfolio.domain.errors import NotAuthenticated
from clientfolio.entrypoints.api.deps import SESSION_COOKIE, check_same_origin
from clientfolio.services import auth
from clientfolio.services.context import Vault
from clientfolio.services.views import SessionInfo


class SignInNeeded(Exception):
    """Raised by a page dependency; answered with a redirect to the sign-in page (or to enrolment)."""

    def __init__(self, to: str):
        self.to = to


@dataclass
class Visitor:
    actor: str  # a Principal: pass as `actor` to services
    session: SessionInfo
    token: str
    csrf: str

    @property
    def name(self) -> str:
        return self.session.user

    @property
    def role(self) -> str:
        return self.session.role

    @property
    def enrolment_only(self) -> bool:
        return self.session.enrolment_only


def vault(request: Request) -> Vault:
    return request.app.state.vault


def _resolve(request: Request) -> Visitor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    v = request.app.state.vault
    try:
        session = auth.resolve_session(vault=v, token=token)
    except NotAuthenticated:
        return None
    return Visitor(session.principal, session, token, auth.csrf_token(vault=v, session=session))


def maybe_visitor(request: Request) -> Visitor | None:
    return _resolve(request)


def enrolling_visitor(request: Request) -> Visitor:
    """Signed in, possibly only far enough to set up the second factor the role requires."""
    visitor = _resolve(request)
    if visitor is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded("/sign-in?next=" + quote(target, safe=""))
    return visitor


def visitor(who: Visitor = Depends(enrolling_visitor)) -> Visitor:
    """Signed in completely: a session that must still enrol a second factor is sent to enrolment."""
    if who.enrolment_only:
        raise SignInNeeded("/account/second-factor")
    return who


def _checked(request: Request, csrf: str, who: Visitor) -> Visitor:
    check_same_origin(request)
    auth.check_csrf(vault=request.app.state.vault, session=who.session, token=csrf)
    return who


def form_visitor(request: Request, csrf: str = Form(""), who: Visitor = Depends(visitor)) -> Visitor:
    """For a POSTed form: same site, and the session's CSRF token in the form."""
    return _checked(request, csrf, who)


def enrolling_form_visitor(request: Request, csrf: str = Form(""),
                           who: Visitor = Depends(enrolling_visitor)) -> Visitor:
    return _checked(request, csrf, who)
