"""Customers: list, create, show (identifiers masked unless revealed, which is audited), edit, review, merge,
lookup."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Query

from clientfolio.domain.errors import NothingToChange
from clientfolio.entrypoints.api.deps import Caller, caller, vault
from clientfolio.entrypoints.api.problems import responses
from clientfolio.entrypoints.api.schemas import CustomerChanges, CustomerPage, IdentifierLookup, NewCustomer
from clientfolio.services import customers
from clientfolio.services.context import Vault
from clientfolio.services.views import CustomerView

router = APIRouter(tags=["customers"])
_UNSET_IF_ABSENT = ("phone", "email")


@router.get("/customers", response_model=CustomerPage, responses=responses(401, 403, 404, 422))
def list_customers(q: str | None = Query(None, max_length=200, description="name or code contains"),
                   tier: str | None = Query(None, max_length=16), kind: str | None = Query(None, max_length=16),
                   owner: str | None = Query(None, max_length=64),
                   sort: Literal["code", "name", "created", "-created", "review_due"] = "code",
                   include_merged: bool = False, status: Literal["active", "merged"] | None = None,
                   review_due_before: date | None = Query(None, description="reviews due before this day"),
                   limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000),
                   who: Caller = Depends(caller), v: Vault = Depends(vault)):
    page = customers.list_customers(vault=v, actor=who.actor, tier=tier, kind=kind, query=q, owner=owner,
                                    sort=sort, include_merged=include_merged, status=status,
                                    review_due_before=review_due_before, limit=limit, offset=offset)
    return CustomerPage(page.items, page.total, page.limit, page.offset)


@router.post("/customers", status_code=201, response_model=CustomerView, responses=responses(401, 403, 409, 422))
def add_customer(body: NewCustomer, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return customers.add_customer(vault=v, actor=who.actor, **body.model_dump())


@router.post("/customers/lookup", response_model=list[CustomerView], responses=responses(401, 403, 422))
def lookup(body: IdentifierLookup, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Customers with this exact identifier (matched by keyed hash). A POST, so the number stays out of URLs
    and access logs."""
    return customers.find_by_identifier(vault=v, actor=who.actor, kind=body.kind, value=body.value)


@router.get("/customers/{code}", response_model=CustomerView, responses=responses(401, 403, 404))
def show_customer(code: str, reveal: bool = False, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """`reveal=true` shows identifiers in full (needs identifier.unmask; audited)."""
    return customers.show_customer(vault=v, actor=who.actor, code=code, reveal=reveal)


@router.patch("/customers/{code}", response_model=CustomerView, responses=responses(401, 403, 404, 409, 422))
def edit_customer(code: str, body: CustomerChanges, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    changes = body.model_dump(exclude_unset=True)
    for key in _UNSET_IF_ABSENT:  # "" removes a contact; absent leaves it
        if key in changes and changes[key] == "":
            changes[key] = None
    try:
        return customers.edit_customer(vault=v, actor=who.actor, code=code, **changes)
    except NothingToChange:  # PATCH is idempotent: the same values again leave the record as it is
        return customers.show_customer(vault=v, actor=who.actor, code=code)


@router.post("/customers/{code}/review", response_model=CustomerView, responses=responses(401, 403, 404, 422))
def review(code: str, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Record the periodic (KYC) review as done today: `review_due` moves one interval of the tier ahead."""
    return customers.review_customer(vault=v, actor=who.actor, code=code)


@router.post("/customers/{code}/merge-into/{target}", response_model=CustomerView,
             responses=responses(401, 403, 404, 409, 422))
def merge(code: str, target: str, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Move every document and identifier of `code` to `target`; `code` stays as a pointer to it."""
    return customers.merge_customers(vault=v, actor=who.actor, source_code=code, into_code=target)
