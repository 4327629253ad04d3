"""The inbox: ingested files no customer could be matched to, until a person files or discards them.

A list (waiting, filed, discarded) with paging; an item's page with what ingestion learned (folder, file name,
suggested kind), its file (shown when it is an image a browser draws itself, else a download: there is no
page renderer for inbox items) and the forms to file it under a customer or discard it (kept, not erased).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import StreamingResponse

from clientfolio.domain.errors import Duplicate, InvalidInput, NotFound
from clientfolio.entrypoints.api.routes_documents import content_disposition
from clientfolio.entrypoints.api.schemas import RecordId
from clientfolio.entrypoints.web.pages_documents import parse_date, split_kind, split_tags
from clientfolio.entrypoints.web.pages_upload import form_context, labels
from clientfolio.entrypoints.web.render import page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import inbox
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
INLINE = {"image/png", "image/jpeg", "image/gif", "image/webp"}  # what an <img> shows without help


@router.get("/inbox")
def inbox_list(request: Request, status: str = "waiting", offset: int = Query(0, ge=0, le=10_000_000),
               who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    status = status if status in inbox.STATUSES else "waiting"
    found = inbox.list_inbox(vault=v, actor=who.actor, status=status, limit=PAGE_SIZE, offset=offset)
    return page(request, "inbox/list.html", visitor=who, found=found, state=status, states=inbox.STATUSES,
                **labels(request, v))


def _item_page(request: Request, who: Visitor, v: Vault, item_id: int, *, status: int = 200, typed=None,
               error: str | None = None):
    item = inbox.show_item(vault=v, actor=who.actor, item_id=item_id)
    s = item.suggestion or {}
    typed = typed or dict(customer="", kind="/".join(filter(None, (s.get("category"), s.get("subtype")))),
                          title="", tags=", ".join(s.get("tags") or []), expires_on="", allow_duplicate="")
    return page(request, "inbox/item.html", status=status, visitor=who, item=item, inline=item.media_type in INLINE,
                typed=typed, error=error, **form_context(request, who, v))


@router.get("/inbox/{item_id}")
def item_page(request: Request, item_id: RecordId, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return _item_page(request, who, v, item_id)


@router.get("/inbox/{item_id}/content")
def item_content(item_id: RecordId, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    """The file as received (the read is audited); never cached by the browser or a proxy."""
    got = inbox.read_item(vault=v, actor=who.actor, item_id=item_id)
    headers = {"Content-Disposition": content_disposition(got.version.original_name or f"inbox-{item_id}"),
               "Content-Length": str(got.version.size), "Cache-Control": "private, no-store"}
    return StreamingResponse(got.chunks, media_type=got.version.media_type, headers=headers)


@router.post("/inbox/{item_id}/file")
def file_item(request: Request, item_id: RecordId, customer: str = Form(""), kind: str = Form(""),
              title: str = Form(""), tags: str = Form(""), expires_on: str = Form(""),
              allow_duplicate: str = Form(""), who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    typed = dict(customer=customer.strip().upper(), kind=kind, title=title, tags=tags, expires_on=expires_on,
                 allow_duplicate=allow_duplicate)
    try:
        if not typed["customer"]:
            raise InvalidInput(translate(request, "Choose a customer."))
        doc = inbox.file_item(vault=v, actor=who.actor, item_id=item_id, customer_code=typed["customer"],
                              title=title.strip() or None, tags=split_tags(tags),
                              expires_on=parse_date(expires_on, translate(request, "Expires on")),
                              allow_duplicate=bool(allow_duplicate), **split_kind(kind))
    except (InvalidInput, NotFound, Duplicate) as exc:
        return _item_page(request, who, v, item_id, status=409 if isinstance(exc, Duplicate) else 422,
                          typed=typed, error=exc.message)
    return redirect(f"/documents/{doc.id}", flash=translate(request, "Filed from the inbox."))


@router.post("/inbox/{item_id}/discard")
def discard_item(request: Request, item_id: RecordId, who: Visitor = Depends(form_visitor),
                 v: Vault = Depends(vault)):
    inbox.discard_item(vault=v, actor=who.actor, item_id=item_id)
    return redirect("/inbox", flash=translate(request, "Discarded: it no longer waits in the inbox."))
