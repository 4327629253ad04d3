"""The document page: details and their editing, the classifier's suggestion to confirm or apply, every page as an
image (or a text file's words), the fields read from an ID document, the document's own trail, delete and
undelete. Versions: pages_versions.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from clientfolio.domain import media
from clientfolio.domain.errors import InvalidInput, NoPreview, NothingToChange
from clientfolio.domain.model import Role
from clientfolio.domain.policy import PERMISSIONS
from clientfolio.entrypoints.api.schemas import RecordId
from clientfolio.entrypoints.web.render import language, page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import documents, fields, history, previews, textjobs, versions
from clientfolio.services.context import Vault
from clientfolio.services.views import ActivityView, DocumentView

router = APIRouter(include_in_schema=False)

NO_STORE = {"Cache-Control": "private, no-store"}  # decrypted content never rests in a browser or proxy cache
WIDTHS = (400, 800, 1200, 1600)  # srcset steps: a phone's screen up to a wide desktop column
MAX_PAGES_SHOWN = 300
TEXT_CHARS = 200_000  # more is for the download
TEXT_SHOWN = 1 << 20  # a text file up to 1 MiB is shown on the page; a longer one is downloaded
FIELD_CATEGORIES = {"id_document", "other"}  # the categories whose text is read for ID fields
CONFIRMABLE = fields.IDENTIFIER_FIELDS | set(fields.DATE_TARGETS)  # what "take over" writes somewhere
TRAIL_EVENTS, TRAIL_ROWS = 300, 60
_TAG_SPLIT = re.compile(r"[\s,，、;；]+")


@dataclass
class Preview:
    pages: int = 0  # page images shown (at most MAX_PAGES_SHOWN)
    total: int = 0  # pages in the file
    text: str | None = None  # a text file's own words, when it has no pages to draw
    reason: str | None = None  # why there are no page images


@dataclass
class TrailRow:
    """One event of the trail, or a run of the same event (pages viewed one by one) folded into one row."""
    event: ActivityView  # the newest of the run
    count: int = 1
    oldest: datetime | None = None
    pages: list[int] = field(default_factory=list)


def role_allows(who: Visitor) -> set[str]:
    """The `may` set of the templates: only to leave out what the role could never do (the service decides)."""
    return {a.name.lower() for a in PERMISSIONS[Role(who.role)]}


def reads_content(who: Visitor, doc: DocumentView) -> bool:
    may = role_allows(who)
    return "document_read_content" in may and (doc.sensitivity != "sensitive" or "sensitive_read" in may)


def preview_of(v: Vault, who: Visitor, doc: DocumentView, version: int, media_type: str, size: int) -> Preview:
    try:
        total = previews.page_count(vault=v, actor=who.actor, document_id=doc.id, version=version)
    except NoPreview as exc:  # no pictures (a text, Word or Excel file): its words instead
        text = versions.read_text(vault=v, actor=who.actor, document_id=doc.id, version=version)
        if text is None and media.is_text(media_type) and size <= TEXT_SHOWN:  # not read yet: the file itself
            text = text_of(v, who, doc.id, version)
        return Preview(text=text[:TEXT_CHARS] if text else None, reason=exc.message)
    return Preview(pages=min(total, MAX_PAGES_SHOWN), total=total)


def text_of(v: Vault, who: Visitor, document_id: int, version: int) -> str:
    """A text file's words (read through the audited download path, checked in full before shown)."""
    data = b"".join(versions.read_version(vault=v, actor=who.actor, document_id=document_id, version=version).chunks)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    for encoding in ("utf-8-sig", "gb18030"):  # what Chinese Windows saves when it is not UTF-8
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", "replace")


def compact_trail(events: list[ActivityView], most: int = TRAIL_ROWS) -> list[TrailRow]:
    """Newest first; consecutive events that differ only in the page drawn become one row."""
    rows: list[TrailRow] = []
    for event in events:
        key = (event.actor, event.action, event.outcome, {k: v for k, v in event.details.items() if k != "page"})
        last = rows[-1] if rows else None
        if last and (last.event.actor, last.event.action, last.event.outcome,
                     {k: v for k, v in last.event.details.items() if k != "page"}) == key:
            last.count, last.oldest = last.count + 1, event.at
        else:
            last = TrailRow(event)
            rows.append(last)
        if "page" in event.details and event.details["page"] not in last.pages:
            last.pages.append(event.details["page"])
    for row in rows:
        row.pages.sort()
    return rows[:most]


def kinds(v: Vault, lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The taxonomy as option groups: each category alone ("contract"), then with each subtype ("contract/formal")."""
    groups = []
    for c in v.taxonomy.categories:
        label = c.label_zh if lang == "zh" else c.label_en
        subtypes = [(f"{c.slug}/{s.slug}", f"{label} · {s.label_zh if lang == 'zh' else s.label_en}")
                    for s in c.subtypes]
        groups.append((label, [(c.slug, label), *subtypes]))
    return groups


def kind_label(v: Vault, lang: str, category: str, subtype: str | None) -> str:
    try:
        return " · ".join(v.taxonomy.label(category, s, lang) for s in ((None, subtype) if subtype else (None,)))
    except InvalidInput:  # a category the taxonomy no longer has: shown as stored
        return category + (f" / {subtype}" if subtype else "")


def suggested(v: Vault, lang: str, doc: DocumentView) -> dict | None:
    """The classifier's pending suggestion as the page shows it: filed by it already ("auto-filed"), or waiting."""
    s = doc.suggestion
    if not s or not s.get("category"):
        return None
    category, subtype = s["category"], s.get("subtype") or None
    return {"kind": kind_label(v, lang, category, subtype), "confidence": round((s.get("confidence") or 0) * 100),
            "auto_filed": (category, subtype) == (doc.category, doc.subtype), "tags": s.get("tags") or []}


def document_page(request: Request, who: Visitor, v: Vault, document_id: int, *, status: int = 200,
                  **extra) -> HTMLResponse:
    """The whole page; forms that failed pass their message (and what was typed) in `extra`."""
    doc = documents.show_document(vault=v, actor=who.actor, document_id=document_id)
    all_versions = versions.list_versions(vault=v, actor=who.actor, document_id=document_id)
    content = reads_content(who, doc)
    preview = preview_of(v, who, doc, doc.version, doc.media_type, doc.size) if content else None
    id_fields = None
    # Reading the fields is audited (they hold ID numbers): only when there are some.
    if content and doc.category in FIELD_CATEGORIES and doc.status != "deleted" and doc.fields_status != "none":
        id_fields = fields.show_fields(vault=v, actor=who.actor, document_id=document_id)
    trail = history.document_history(vault=v, actor=who.actor, document_id=document_id, limit=TRAIL_EVENTS)
    lang = language(request)
    return private(page(request, "documents/document.html", status=status, visitor=who, doc=doc,
                        versions=list(reversed(all_versions)), preview=preview, reads_content=content,
                        id_fields=id_fields, confirmable=CONFIRMABLE, trail=compact_trail(trail), kinds=kinds(v, lang),
                        kind=kind_label(v, lang, doc.category, doc.subtype), suggested=suggested(v, lang, doc),
                        widths=WIDTHS, **extra))


def private(response: Response) -> Response:
    """The page may hold a text file's words or an ID number: no copy in a browser's or a proxy's cache."""
    response.headers.update(NO_STORE)
    return response


@router.get("/documents/{document_id}")
def show(request: Request, document_id: RecordId, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return document_page(request, who, v, document_id)


@router.get("/documents/{document_id}/pages/{number}.png")
def page_image(document_id: RecordId, number: RecordId, version: int | None = Query(None, alias="v", ge=1, le=1_000_000),
               width: int = Query(1000, alias="w", ge=100, le=4000), who: Visitor = Depends(visitor),
               v: Vault = Depends(vault)):
    png = previews.render_page(vault=v, actor=who.actor, document_id=document_id, version=version, page=number,
                               width=width)
    return Response(png, media_type="image/png", headers=NO_STORE)


def split_kind(kind: str) -> dict:
    """"contract/formal" -> category and subtype; "contract" -> the category with no subtype; "" -> unchanged."""
    if not kind:
        return {}
    category, _, subtype = kind.partition("/")
    return {"category": category, "subtype": subtype or None}


def split_tags(text: str) -> list[str]:
    """Tags as typed in one field: separated by commas (Latin or Chinese), semicolons or spaces."""
    return [t for t in _TAG_SPLIT.split(text) if t]


def parse_date(value: str, what: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{what}: write the date as YYYY-MM-DD") from None


@router.post("/documents/{document_id}/edit")
def edit(request: Request, document_id: RecordId, title: str = Form(""), kind: str = Form(""),
         tags: str = Form(""), sensitivity: str = Form(""), issued_on: str = Form(""), expires_on: str = Form(""),
         paper_location: str = Form(""), who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    typed = dict(title=title, kind=kind, tags=tags, sensitivity=sensitivity, issued_on=issued_on,
                 expires_on=expires_on, paper_location=paper_location)
    to = f"/documents/{document_id}"
    try:
        documents.edit_document(
            vault=v, actor=who.actor, document_id=document_id, title=title.strip() or None,
            tags=split_tags(tags),
            sensitive={"sensitive": True, "normal": False}.get(sensitivity),
            issued_on=parse_date(issued_on, translate(request, "Issued on")),
            expires_on=parse_date(expires_on, translate(request, "Expires on")),
            paper_location=paper_location.strip() or None, **split_kind(kind))
    except NothingToChange:
        return redirect(to, flash=translate(request, "Nothing changed."))
    except InvalidInput as exc:
        return document_page(request, who, v, document_id, status=422, edit_error=exc.message, typed=typed)
    return redirect(to, flash=translate(request, "Saved."))


@router.post("/documents/{document_id}/suggestion/accept")
def accept_suggestion(request: Request, document_id: RecordId, who: Visitor = Depends(form_visitor),
                      v: Vault = Depends(vault)):
    """Confirm an automatic filing, or file a document waiting under "other" as the classifier suggests."""
    to = f"/documents/{document_id}"
    try:
        doc = documents.accept_suggestion(vault=v, actor=who.actor, document_id=document_id)
    except NothingToChange:
        return redirect(to, flash=translate(request, "There is no suggestion to accept any more."))
    except InvalidInput as exc:
        return document_page(request, who, v, document_id, status=422, suggestion_error=exc.message)
    if doc.sensitivity == "sensitive" and "sensitive_read" not in role_allows(who):
        to = f"/customers/{doc.customer}"  # filed as an ID document: now beyond this role's sight
    return redirect(to, flash=translate(request, "The filing was confirmed."))


@router.post("/documents/{document_id}/text/retry")
def retry_text(request: Request, document_id: RecordId, version: int | None = Form(None, ge=1, le=1_000_000),
               who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    textjobs.retry_text(vault=v, actor=who.actor, document_id=document_id, version=version)
    return redirect(f"/documents/{document_id}", flash=translate(request, "The text will be read again shortly."))


@router.post("/documents/{document_id}/fields/confirm")
def confirm_fields(request: Request, document_id: RecordId, only: list[str] = Form([]), every: str = Form(""),
                   who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    try:
        fields.confirm_fields(vault=v, actor=who.actor, document_id=document_id, only=None if every else only)
    except InvalidInput as exc:
        return document_page(request, who, v, document_id, status=422, fields_error=exc.message)
    return redirect(f"/documents/{document_id}#fields", flash=translate(request, "The fields were taken over."))


@router.post("/documents/{document_id}/fields/reject")
def reject_fields(request: Request, document_id: RecordId, who: Visitor = Depends(form_visitor),
                  v: Vault = Depends(vault)):
    try:
        fields.reject_fields(vault=v, actor=who.actor, document_id=document_id)
    except InvalidInput as exc:
        return document_page(request, who, v, document_id, status=422, fields_error=exc.message)
    return redirect(f"/documents/{document_id}#fields", flash=translate(request, "The fields were set aside."))


@router.post("/documents/{document_id}/delete")
def delete(request: Request, document_id: RecordId, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    doc = documents.delete_document(vault=v, actor=who.actor, document_id=document_id)
    return redirect(f"/customers/{doc.customer}", flash=translate(request, "The document was deleted."))


@router.post("/documents/{document_id}/undelete")
def undelete(request: Request, document_id: RecordId, who: Visitor = Depends(form_visitor),
             v: Vault = Depends(vault)):
    documents.undelete_document(vault=v, actor=who.actor, document_id=document_id)
    return redirect(f"/documents/{document_id}", flash=translate(request, "The document is back."))
