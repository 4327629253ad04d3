"""Filings to confirm: the documents the classifier filed at ingestion (or left waiting under "other") that no
person has settled yet, newest first, to confirm by the page or by the checked row instead of one document
page at a time. Only for roles that may edit documents (the services refuse the others)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request

from clientfolio.domain.errors import ClientfolioError, NotFound, NothingToChange, PermissionDenied
from clientfolio.entrypoints.web import i18n
from clientfolio.entrypoints.web.errors import N_
from clientfolio.entrypoints.web.pages_documents import kind_label, suggested
from clientfolio.entrypoints.web.render import language, locale_of, page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import documents
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
REASONS = (  # why a filing could not be confirmed, in a few words (the flash message is short)
    (NothingToChange, N_("already settled")), (NotFound, N_("not found")), (PermissionDenied, N_("not allowed")))


def reason(request: Request, error: ClientfolioError) -> str:
    """A few words for a known refusal; the service's own message otherwise (a class gone from the taxonomy)."""
    return next((translate(request, words) for kind, words in REASONS if isinstance(error, kind)), error.message)


def _back(filing: str, offset: int) -> str:
    query = {k: v for k, v in (("filing", filing), ("offset", offset)) if v}
    return "/filing" + (f"?{urlencode(query)}" if query else "")


@router.get("/filing")
def filing_list(request: Request, filing: str = "", offset: int = Query(0, ge=0, le=10_000_000),
                who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    filing = filing if filing in documents.FILINGS else ""

    def listed(start: int):
        return documents.list_documents(vault=v, actor=who.actor, suggestion_pending=True, filing=filing or None,
                                        sort="-id", limit=PER_PAGE, offset=start)
    found = listed(offset)
    if not found.items and found.total:  # past the end (the rows confirmed a moment ago): the last page
        found = listed((found.total - 1) // PER_PAGE * PER_PAGE)
    lang = language(request)
    rows = [(d, kind_label(v, lang, d.category, d.subtype), suggested(v, lang, d)) for d in found.items]
    return page(request, "filing.html", visitor=who, found=found, rows=rows, filing=filing,
                filings=documents.FILINGS)


@router.post("/filing/confirm")
def confirm(request: Request, scope: str = Form(""), ids: list[int] = Form([]), page_ids: list[int] = Form([]),
            filing: str = Form(""), offset: int = Form(0, ge=0, le=10_000_000),
            who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    """Settle the checked rows ("selected") or every row the page showed ("page"), each on its own."""
    to = _back(filing if filing in documents.FILINGS else "", offset)
    chosen = page_ids if scope == "page" else ids
    if not chosen:
        return redirect(to, flash=translate(request, "Nothing was selected."))
    outcomes = documents.accept_suggestions(vault=v, actor=who.actor, document_ids=chosen)
    failed = [got for _, got in outcomes if isinstance(got, ClientfolioError)]
    catalogue = i18n.translations(locale_of(request))
    done = len(outcomes) - len(failed)
    message = catalogue.ngettext("%(num)s filing confirmed.", "%(num)s filings confirmed.", done) % {"num": done}
    if failed:
        why = ", ".join(dict.fromkeys(reason(request, e) for e in failed))
        message += " " + catalogue.ngettext("%(num)s could not be confirmed: %(why)s",
                                            "%(num)s could not be confirmed: %(why)s",
                                            len(failed)) % {"num": len(failed), "why": why}
    return redirect(to, flash=message)
