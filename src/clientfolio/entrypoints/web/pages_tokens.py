"""API tokens: one's own (make one, shown once in the answer to the form; revoke) and, for administrators and
auditors, every user's."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from clientfolio.domain.credentials import NOT_BY_TOKEN, as_utc
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.model import utcnow
from clientfolio.domain.policy import Action
from clientfolio.entrypoints.web.render import page, redirect, safe_next, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import tokens, users
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)
SCOPES = [a.value for a in Action if a.value not in NOT_BY_TOKEN]  # the page offers those of the visitor's role


def states(rows) -> dict[int, str]:
    """Each token's state for the badge: revoked, expired or active."""
    now = utcnow()
    return {t.id: "revoked" if t.revoked_at else "expired" if as_utc(t.expires_at) <= now else "active" for t in rows}


@router.get("/account/tokens")
def my_tokens(request: Request, revoked: bool = False, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return _mine(request, who, v, revoked=revoked)


def _mine(request: Request, who: Visitor, v: Vault, *, status: int = 200, revoked: bool = False, **context):
    rows = tokens.list_tokens(vault=v, actor=who.actor, include_revoked=revoked)
    return page(request, "admin/my_tokens.html", status=status, visitor=who, tokens=rows, states=states(rows),
                revoked=revoked, scopes=SCOPES, max_days=v.auth.token_max_days, **context)


@router.post("/account/tokens")
def create_token(request: Request, name: str = Form(""), scope_mode: str = Form("some"),
                 scope: list[str] = Form([]), days: str = Form("90"), who: Visitor = Depends(form_visitor),
                 v: Vault = Depends(vault)):
    form = {"name": name, "scope_mode": scope_mode, "scope": scope, "days": days}
    try:
        if not days.strip().isdigit():
            raise InvalidInput(translate(request, "Enter the number of days until the token expires."))
        made = tokens.create_token(vault=v, actor=who.actor, name=name, expires_in_days=int(days),
                                   scope=None if scope_mode == "role" else scope)
    except InvalidInput as exc:
        return _mine(request, who, v, status=422, error=exc.message, form=form)
    # The token text is in this answer only: never in a URL, a cookie or a cache.
    response = _mine(request, who, v, new_token=made)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int, next: str = Form("/account/tokens"),
                 who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    revoked = tokens.revoke_token(vault=v, actor=who.actor, token_id=token_id)
    return redirect(safe_next(next), flash=translate(request, "The token %(name)s (%(prefix)s) is revoked.",
                                                     name=revoked.name, prefix=revoked.prefix))


@router.get("/admin/tokens")
def all_tokens(request: Request, user: str = "", revoked: bool = False, who: Visitor = Depends(visitor),
               v: Vault = Depends(vault)):
    people = users.list_users(vault=v, actor=who.actor)
    chosen = [p.name for p in people if not user or p.name == user]
    rows = [t for name in chosen for t in tokens.list_tokens(vault=v, actor=who.actor, user=name,
                                                             include_revoked=revoked)]
    return page(request, "admin/tokens.html", visitor=who, people=people, user=user, revoked=revoked,
                tokens=rows, states=states(rows))
