"""Search, the audit trail, and user administration."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from clientfolio.domain.errors import NothingToChange
from clientfolio.entrypoints.api.deps import Caller, caller, vault
from clientfolio.entrypoints.api.problems import responses
from clientfolio.entrypoints.api.schemas import (AuditPage, NewUser, PasswordChange, SearchQuery, SearchResults,
                                                 UserChanges, UserList)
from clientfolio.services import audit, auth, search, second_factor, users
from clientfolio.services.context import Vault
from clientfolio.services.views import UserView

router = APIRouter()


@router.post("/search", response_model=SearchResults, tags=["search"], responses=responses(401, 403, 404, 422))
def run_search(body: SearchQuery, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Full text over extracted text and metadata, ranked, with highlighted snippets (only of documents the
    caller may read); an exact ID number finds its customer. A POST, so search words stay out of URLs and logs."""
    page = search.search(vault=v, actor=who.actor, query=body.query, customer_code=body.customer,
                         category=body.category, subtype=body.subtype, tags=body.tags,
                         sensitivity=body.sensitivity, issued_from=body.issued_from, issued_to=body.issued_to,
                         expires_before=body.expires_before, limit=body.limit, offset=body.offset)
    return SearchResults(page.query, page.total, page.limit, page.offset, page.hits, page.customers)


@router.get("/audit", response_model=AuditPage, tags=["audit"], responses=responses(401, 403, 422))
def audit_log(customer: str | None = Query(None, max_length=16), user: str | None = Query(None, max_length=64),
              action: str | None = Query(None, max_length=64), since: datetime | None = None,
              until: datetime | None = None, object_type: str | None = Query(None, max_length=32),
              object_id: str | None = Query(None, max_length=64), limit: int = Query(100, ge=1, le=10_000),
              offset: int = Query(0, ge=0, le=100_000_000), who: Caller = Depends(caller),
              v: Vault = Depends(vault)):
    """Newest first; reading the trail is itself recorded."""
    events = audit.audit_log(vault=v, actor=who.actor, customer_code=customer, user=user, action=action,
                             since=since, until=until, object_type=object_type, object_id=object_id,
                             limit=limit, offset=offset)
    return AuditPage(events, limit, offset)


@router.get("/audit/verify", tags=["audit"], responses=responses(401, 403))
def audit_verify(who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """Walk the whole hash chain and name the first event that does not hold."""
    r = audit.audit_verify(vault=v, actor=who.actor)
    return {"ok": r.ok, "events": r.events, "first_broken_seq": r.first_broken_seq, "reason": r.reason,
            "head_hash": r.head_hash}


@router.get("/users", response_model=UserList, tags=["users"], responses=responses(401, 403))
def list_users(who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return UserList(users.list_users(vault=v, actor=who.actor))


@router.post("/users", status_code=201, response_model=UserView, tags=["users"],
             responses=responses(401, 403, 409, 422))
def add_user(body: NewUser, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return users.add_user(vault=v, actor=who.actor, name=body.name, role=body.role,
                          own_customers_only=body.own_customers_only)


@router.patch("/users/{name}", response_model=UserView, tags=["users"], responses=responses(401, 403, 404, 422))
def edit_user(name: str, body: UserChanges, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    try:
        return users.set_role(vault=v, actor=who.actor, name=name, **body.model_dump(exclude_unset=True))
    except NothingToChange:  # PATCH is idempotent: the same values again leave the record as it is
        return next((u for u in users.list_users(vault=v, actor=who.actor) if u.name == name), None)


@router.put("/users/{name}/password", status_code=204, tags=["users"], responses=responses(401, 403, 404, 422))
def set_user_password(name: str, body: PasswordChange, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """An administrator sets another user's password; that user's sessions end."""
    auth.set_password(vault=v, actor=who.actor, name=name, new_password=body.new_password,
                      current_password=body.current_password)


@router.post("/users/{name}/sign-out", tags=["users"], responses=responses(401, 403, 404))
def sign_out_user(name: str, who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """End every session of a user (administrators)."""
    return {"sessions_ended": auth.sign_out_everywhere(vault=v, actor=who.actor, name=name)}


@router.post("/users/{name}/unlock", response_model=UserView, tags=["users"], responses=responses(401, 403, 404))
def unlock_user(name: str, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return auth.unlock_user(vault=v, actor=who.actor, name=name)


@router.post("/users/{name}/reset-second-factor", response_model=UserView, tags=["users"],
             responses=responses(401, 403, 404))
def reset_second_factor(name: str, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return second_factor.reset_second_factor(vault=v, actor=who.actor, name=name)
