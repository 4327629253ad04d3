"""Who is calling: an API token (Authorization: Bearer) or a session cookie, resolved by the auth services.
Every state-changing request made with a session cookie must carry the session's CSRF token."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from clientfolio.domain.errors import NotAuthenticated, PermissionDenied
from clientfolio.services import auth, tokens
from clientfolio.services.context import Vault
from clientfolio.services.views import SessionInfo

SESSION_COOKIE = "cf_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

bearer_scheme = HTTPBearer(auto_error=False, description="An API token (`clientfolio token create`)")
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                             description=f"The session of a signed-in browser; unsafe methods also need {CSRF_HEADER}")


@dataclass
class Caller:
    actor: str  # a domain.credentials.Principal: pass it as `actor` to services (it carries the token's scope)
    session: SessionInfo | None = None
    session_token: str | None = None


def vault(request: Request) -> Vault:
    return request.app.state.vault


def caller(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(bearer_scheme),
           cookie: str | None = Depends(cookie_scheme)) -> Caller:
    v = request.app.state.vault
    if request.headers.get("authorization"):
        if bearer is None:
            raise NotAuthenticated("use an API token as: Authorization: Bearer <token>")
        return Caller(tokens.resolve_token(vault=v, token=bearer.credentials).principal)
    if not cookie:
        raise NotAuthenticated("not signed in: sign in, or send an API token as Authorization: Bearer <token>")
    session = auth.resolve_session(vault=v, token=cookie)
    if request.method not in SAFE_METHODS:
        check_same_origin(request)
        auth.check_csrf(vault=v, session=session, token=request.headers.get(CSRF_HEADER))
    return Caller(session.principal, session, cookie)


def check_same_origin(request: Request) -> None:
    """A browser names the page a request came from; one from another site is refused before the CSRF check."""
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise PermissionDenied("permission denied: the request came from another site", action="csrf",
                               object_type="session", object_id="-")
