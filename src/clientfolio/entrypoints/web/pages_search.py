"""Search: one box for words, a customer's name or code, or an ID number, with filters.

The form is a POST and the results are its response: the query never appears in a URL, a log line or the
browser's history, and paging posts the form again with another offset. The service decides what the user may
see (sensitive documents and their snippets never reach a user without the right); it hands snippets back
HTML-escaped with matches in <mark>, which this page takes apart and renders escaped again (no `|safe`)."""

from __future__ import annotations

import html
import re

from fastapi import APIRouter, Depends, Form, Request

from clientfolio.domain.errors import InvalidInput, NotFound
from clientfolio.entrypoints.web.pages_customers import category_label
from clientfolio.entrypoints.web.pages_documents import parse_date, split_tags
from clientfolio.entrypoints.web.render import page
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import customers, search
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
CUSTOMERS_SHOWN = 10  # customers whose name or code matches, above the documents
_MARK = re.compile(r"(<mark>.*?</mark>)", re.S)


def snippet_parts(snippet: str | None) -> list[tuple[str, bool]]:
    """The service's escaped snippet as (plain text, highlighted) pieces; the template escapes each piece."""
    if not snippet:
        return []
    parts = []
    for piece in _MARK.split(snippet):
        if piece.startswith("<mark>") and piece.endswith("</mark>"):
            parts.append((html.unescape(piece[6:-7]), True))
        elif piece:
            parts.append((html.unescape(piece), False))
    return parts


def _form(v: Vault, request: Request, who: Visitor, *, status: int = 200, **context):
    label = category_label(v, request)
    categories = [(c.slug, label(c.slug), [(s.slug, label(c.slug, s.slug)) for s in c.subtypes])
                  for c in v.taxonomy.categories]
    context.setdefault("values", {})
    response = page(request, "search.html", status=status, visitor=who, categories=categories, label=label,
                    parts=snippet_parts, **context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/search")
def search_page(request: Request, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return _form(v, request, who)


@router.post("/search")
def run_search(request: Request, q: str = Form(""), customer: str = Form(""), category: str = Form(""),
               subtype: str = Form(""), tags: str = Form(""), issued_from: str = Form(""), issued_to: str = Form(""),
               expires_before: str = Form(""), offset: int = Form(0), who: Visitor = Depends(form_visitor),
               v: Vault = Depends(vault)):
    values = dict(q=q, customer=customer.strip(), category=category, subtype=subtype, tags=tags,
                  issued_from=issued_from, issued_to=issued_to, expires_before=expires_before)
    try:
        found = search.search(
            vault=v, actor=who.actor, query=q.strip(), customer_code=values["customer"] or None,
            category=category or None, subtype=subtype or None, tags=split_tags(tags),
            issued_from=parse_date(issued_from, "issued from"), issued_to=parse_date(issued_to, "issued to"),
            expires_before=parse_date(expires_before, "expires before"), limit=PER_PAGE, offset=max(offset, 0))
    except (InvalidInput, NotFound) as exc:
        return _form(v, request, who, status=422, values=values, error=exc.message)
    return _form(v, request, who, values=values, found=found,
                 matches=_customers(v, who, q.strip(), found.customers) if found.offset == 0 else [])


def _customers(v: Vault, who: Visitor, q: str, by_identifier: list[str]) -> list:
    """Customers to show above the documents: those the ID number in the query belongs to, then those whose
    name or code contains the query."""
    shown = [customers.show_customer(vault=v, actor=who.actor, code=code) for code in by_identifier]
    if q and not by_identifier:
        named = customers.list_customers(vault=v, actor=who.actor, query=q[:200], limit=CUSTOMERS_SHOWN)
        shown += named.items
    return shown
