"""Customers: the list (search box, filters, sorting, paging), a new customer, and a customer's page (details
with identifiers masked unless shown, documents by category, what expires, the timeline, edit, reviewed).

A name typed into the list's search box is a search query, so that form is a POST and its results are the
POST's response; filters without a name land on a plain GET list (bookmarkable, paged by links)."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request

from clientfolio.domain.errors import Conflict, InvalidInput, NotFound, NothingToChange
from clientfolio.domain.identifiers import IDENTIFIER_KINDS
from clientfolio.domain.queries import CUSTOMER_SORTS, CUSTOMER_STATUSES
from clientfolio.entrypoints.web.render import language, page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import customers, documents, history, requirements
from clientfolio.services.context import Vault, vault_today

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
DOCUMENTS_SHOWN = 500  # on a customer's page; beyond that the search page (filtered by customer) pages them
TIMELINE = 20
SOON = 90  # days: an expiry this close needs attention
_FORM_ERRORS = (InvalidInput, Conflict, NotFound)


def category_label(v: Vault, request: Request):
    """`label(category, subtype)`: the taxonomy's name in the page's language (the slug if it has none)."""
    lang = language(request)

    def label(category: str, subtype: str | None = None) -> str:
        try:
            return v.taxonomy.label(category, subtype, lang)
        except InvalidInput:
            return f"{category}/{subtype}" if subtype else category
    return label


def _filters(tier="", kind="", owner="", status="", sort="code") -> dict[str, str]:
    return {"tier": tier.strip(), "kind": kind.strip(), "owner": owner.strip(), "status": status.strip(),
            "sort": sort if sort in CUSTOMER_SORTS else "code"}


def _listing(request: Request, who: Visitor, v: Vault, filters: dict, q: str, offset: int):
    status = filters["status"]
    try:
        found = customers.list_customers(
            vault=v, actor=who.actor, query=q or None, tier=filters["tier"] or None, kind=filters["kind"] or None,
            owner=filters["owner"] or None, sort=filters["sort"],
            status=status if status in CUSTOMER_STATUSES else None, include_merged=status == "all",
            limit=PER_PAGE, offset=max(offset, 0))
        error = None
    except (InvalidInput, NotFound) as exc:
        found, error = None, exc.message
    response = page(request, "customers/list.html", status=422 if error else 200, visitor=who, found=found,
                    error=error, q=q, filters=filters, sorts=CUSTOMER_SORTS)
    if q:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/customers")
def customer_list(request: Request, tier: str = "", kind: str = "", owner: str = "", status: str = "",
                  sort: str = "code", offset: int = 0, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return _listing(request, who, v, _filters(tier, kind, owner, status, sort), "", offset)


@router.post("/customers")
def customer_search(request: Request, q: str = Form(""), tier: str = Form(""), kind: str = Form(""),
                    owner: str = Form(""), status: str = Form(""), sort: str = Form("code"), offset: int = Form(0),
                    who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    """The list's form. With a name or code typed in, the results are this response (the name stays out of
    URLs and logs); with filters only, a redirect to the GET list."""
    filters = _filters(tier, kind, owner, status, sort)
    if not q.strip():
        query = {k: val for k, val in filters.items() if val and not (k == "sort" and val == "code")}
        return redirect("/customers" + (f"?{urlencode(query)}" if query else ""))
    return _listing(request, who, v, filters, q.strip()[:200], offset)


@router.get("/customers/new")
def new_customer_form(request: Request, who: Visitor = Depends(visitor)):
    return page(request, "customers/new.html", visitor=who, values={"kind": "person", "tier": "standard"},
                identifier_kinds=IDENTIFIER_KINDS)


@router.post("/customers/new")
def new_customer(request: Request, name: str = Form(""), kind: str = Form(""), tier: str = Form(""),
                 owner: str = Form(""), phone: str = Form(""), email: str = Form(""),
                 id_resident_id: str = Form(""), id_passport: str = Form(""), id_credit_code: str = Form(""),
                 who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    values = {"name": name.strip(), "kind": kind, "tier": tier, "owner": owner.strip(), "phone": phone.strip(),
              "email": email.strip()}
    idents = {"resident_id": id_resident_id, "passport": id_passport, "credit_code": id_credit_code}
    try:
        made = customers.add_customer(vault=v, actor=who.actor, name=values["name"], kind=kind, tier=tier,
                                      owner=values["owner"] or None, phone=values["phone"] or None,
                                      email=values["email"] or None,
                                      identifiers={k: val.strip() for k, val in idents.items() if val.strip()})
    except _FORM_ERRORS as exc:  # identifiers are not echoed back into the page
        return page(request, "customers/new.html", status=422, visitor=who, values=values, error=exc.message,
                    identifier_kinds=IDENTIFIER_KINDS)
    return redirect(f"/customers/{made.code}", flash=translate(request, "Customer %(code)s added.", code=made.code))


def _customer_page(request: Request, who: Visitor, v: Vault, code: str, *, reveal: bool = False,
                   status: int = 200, edit_error: str | None = None, edit_values: dict | None = None,
                   events_offset: int = 0):
    customer = customers.show_customer(vault=v, actor=who.actor, code=code, reveal=reveal)
    docs = documents.list_documents(vault=v, actor=who.actor, customer_code=customer.code, sort="title",
                                    limit=DOCUMENTS_SHOWN)
    timeline = history.customer_timeline(vault=v, actor=who.actor, code=customer.code, limit=TIMELINE,
                                         offset=max(events_offset, 0))
    gaps = requirements.missing_documents(vault=v, actor=who.actor, code=customer.code)
    today = vault_today(v)
    soon = today + timedelta(days=SOON)
    label = category_label(v, request)
    order = {slug: i for i, slug in enumerate(v.taxonomy.slugs)}
    groups: dict[tuple, list] = {}
    for d in sorted(docs.items, key=lambda d: (order.get(d.category, 99), d.subtype or "", d.title)):
        groups.setdefault((d.category, d.subtype), []).append(d)
    attention = sorted((d for d in docs.items if d.expires_on and d.expires_on < soon),
                       key=lambda d: d.expires_on)
    response = page(request, "customers/show.html", status=status, visitor=who, customer=customer, docs=docs,
                    groups=groups, attention=attention, missing=gaps, today=today, timeline=timeline, label=label,
                    revealed=reveal, edit_error=edit_error, edit_values=edit_values or {},
                    identifier_kinds=IDENTIFIER_KINDS, soon_days=SOON)
    if reveal:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/customers/{code}")
def customer_page(request: Request, code: str, events: int = 0, who: Visitor = Depends(visitor),
                  v: Vault = Depends(vault)):
    return _customer_page(request, who, v, code, events_offset=events)


@router.post("/customers/{code}/reveal")
def reveal(request: Request, code: str, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    """The same page with identifiers in full: the service checks the right and records that they were shown."""
    return _customer_page(request, who, v, code, reveal=True)


@router.post("/customers/{code}/edit")
def edit(request: Request, code: str, name: str = Form(""), kind: str = Form(""), tier: str = Form(""),
         owner: str = Form(""), phone: str = Form(""), email: str = Form(""),
         id_resident_id: str = Form(""), id_passport: str = Form(""), id_credit_code: str = Form(""),
         remove: list[str] = Form([]), who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    """Only what differs from the record is sent (the service records every field it is given as changed)."""
    current = customers.show_customer(vault=v, actor=who.actor, code=code)
    given = {"name": name.strip(), "kind": kind, "tier": tier, "owner": owner.strip(), "phone": phone.strip(),
             "email": email.strip()}
    changes: dict = {k: given[k] for k in ("name", "kind", "tier", "owner")
                     if given[k] and given[k] != (getattr(current, k) or "")}
    for k in ("phone", "email"):  # blank removes; the same value again is no change
        if given[k] != (getattr(current, k) or ""):
            changes[k] = given[k] or None
    typed = {"resident_id": id_resident_id.strip(), "passport": id_passport.strip(),
             "credit_code": id_credit_code.strip()}
    identifiers = {k: val for k, val in typed.items() if val}
    identifiers |= {k: None for k in remove if k in IDENTIFIER_KINDS and k not in identifiers}
    if identifiers:
        changes["identifiers"] = identifiers
    if not changes:
        return redirect(f"/customers/{current.code}", flash=translate(request, "Nothing was changed."))
    try:
        customers.edit_customer(vault=v, actor=who.actor, code=current.code, **changes)
    except NothingToChange:
        return redirect(f"/customers/{current.code}", flash=translate(request, "Nothing was changed."))
    except _FORM_ERRORS as exc:
        return _customer_page(request, who, v, current.code, status=422, edit_error=exc.message,
                              edit_values=given)
    return redirect(f"/customers/{current.code}", flash=translate(request, "Saved."))


@router.post("/customers/{code}/reviewed")
def reviewed(request: Request, code: str, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    try:
        done = customers.review_customer(vault=v, actor=who.actor, code=code)
    except InvalidInput as exc:  # merged customers are not reviewed
        return redirect(f"/customers/{code.upper()}", flash=exc.message)
    return redirect(f"/customers/{done.code}", flash=translate(request, "Review recorded."))

