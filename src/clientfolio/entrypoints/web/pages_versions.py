"""A document's versions on the page: add one (the file streamed into the vault as it arrives), restore one,
compare two side by side."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from fastapi import APIRouter, Depends, Query, Request

from clientfolio.domain.errors import ClientfolioError, Duplicate, InvalidInput, NoPreview
from clientfolio.entrypoints.api.deps import check_same_origin
from clientfolio.entrypoints.api.problems import STATUS
from clientfolio.entrypoints.api.schemas import RecordId
from clientfolio.entrypoints.web.pages_documents import WIDTHS, document_page, private, reads_content
from clientfolio.entrypoints.web.render import page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.entrypoints.web.streamed_form import FRAMING, FileStart, FilePart, drain, form_events
from clientfolio.services import auth, documents, previews, versions
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)

MAX_PAIRS = 50  # pages of two versions shown side by side
INLINE_LIMIT = 2000  # longer changed lines are marked whole, not character by character
_TOKENS = re.compile(r"[A-Za-z0-9_.,:/-]*[A-Za-z0-9_]|\s+|.", re.S)
_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")
SHOWN_FIELDS = ("uploaded_at", "uploaded_by", "size", "media_type", "original_name", "note", "sha256", "text_status")


@router.post("/documents/{document_id}/versions")
def add_version(request: Request, document_id: RecordId, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    """A multipart form (csrf, note, then file), streamed: no plaintext temporary file, no whole file in memory.
    The CSRF token must come before the file: it is checked before a byte of it is stored."""
    check_same_origin(request)
    events = form_events(request, v.max_upload_bytes + FRAMING)
    fields: dict[str, str] = {}
    try:
        for event in events:
            if isinstance(event, tuple):
                fields.setdefault(*event)
            elif isinstance(event, FileStart):
                auth.check_csrf(vault=v, session=who.session, token=fields.get("csrf"))
                added = versions.add_version(vault=v, actor=who.actor, document_id=document_id,
                                             content=FilePart(events), original_name=event.name,
                                             note=fields.get("note", "").strip() or None)
                drain(events)
                break
        else:
            auth.check_csrf(vault=v, session=who.session, token=fields.get("csrf"))
            raise InvalidInput(translate(request, "Choose a file for the new version."))
    except (InvalidInput, Duplicate) as exc:
        drain(events)
        return document_page(request, who, v, document_id, status=_status(exc), version_error=exc.message)
    return redirect(f"/documents/{document_id}#versions",
                    flash=translate(request, "Version %(n)s was added.", n=added.version))


def _status(exc: ClientfolioError) -> int:
    return getattr(exc, "status", None) or STATUS.get(exc.code, 422)


@router.post("/documents/{document_id}/versions/{number}/restore")
def restore(request: Request, document_id: RecordId, number: RecordId, who: Visitor = Depends(form_visitor),
            v: Vault = Depends(vault)):
    try:
        restored = versions.restore_version(vault=v, actor=who.actor, document_id=document_id, version=number)
    except InvalidInput as exc:
        return document_page(request, who, v, document_id, status=422, version_error=exc.message)
    return redirect(f"/documents/{document_id}#versions",
                    flash=translate(request, "Version %(old)s is current again, as version %(new)s.",
                                    old=number, new=restored.version))


@dataclass
class Side:
    number: int | None = None  # the line's number in its version; None: nothing on this side
    parts: list[tuple[str, bool]] = field(default_factory=list)  # (text, changed)
    kind: str = "empty"  # same | del | ins | empty


@dataclass
class Row:
    left: Side
    right: Side
    hunk: tuple[int, int] | None = None  # a new stretch of the files starts here: (line in a, line in b)


def side_by_side(unified: list[str]) -> list[Row]:
    """A unified diff as rows of two columns; changed lines face each other, the changed characters marked."""
    rows: list[Row] = []
    removed: list[tuple[int, str]] = []
    added: list[tuple[int, str]] = []
    a = b = 0

    def flush():
        for i in range(max(len(removed), len(added))):
            old, new = (removed[i] if i < len(removed) else None), (added[i] if i < len(added) else None)
            left_parts, right_parts = inline(old[1] if old else None, new[1] if new else None)
            rows.append(Row(Side(old[0], left_parts, "del") if old else Side(),
                            Side(new[0], right_parts, "ins") if new else Side()))
        removed.clear()
        added.clear()

    body = unified[2:] if len(unified) >= 2 and unified[0].startswith("---") and unified[1].startswith("+++") \
        else unified
    for line in body:
        hunk = _HUNK.match(line)
        if hunk:
            flush()
            a, b = int(hunk.group(1)), int(hunk.group(2))
            rows.append(Row(Side(), Side(), hunk=(a, b)))
        elif line.startswith("-"):
            removed.append((a, line[1:]))
            a += 1
        elif line.startswith("+"):
            added.append((b, line[1:]))
            b += 1
        elif line.startswith(" ") or line == "":
            flush()
            rows.append(Row(Side(a, [(line[1:], False)], "same"), Side(b, [(line[1:], False)], "same")))
            a, b = a + 1, b + 1
    flush()
    return rows


def inline(old: str | None, new: str | None) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]]]:
    """The two lines cut into pieces, the pieces that differ marked: Latin words and numbers whole, anything
    else (Chinese has no spaces between words) character by character."""
    if old is None or new is None or max(len(old), len(new)) > INLINE_LIMIT:  # the line as a whole
        return ([(old, False)] if old is not None else []), ([(new, False)] if new is not None else [])
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    left: list[tuple[str, bool]] = []
    right: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if i2 > i1:
            left.append(("".join(a[i1:i2]), op != "equal"))
        if j2 > j1:
            right.append(("".join(b[j1:j2]), op != "equal"))
    return left, right


def page_total(v: Vault, who: Visitor, document_id: int, version: int) -> int:
    try:
        return previews.page_count(vault=v, actor=who.actor, document_id=document_id, version=version)
    except NoPreview:
        return 0


@router.get("/documents/{document_id}/diff")
def diff(request: Request, document_id: RecordId, a: int = Query(ge=1, le=1_000_000),
         b: int = Query(ge=1, le=1_000_000), who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    doc = documents.show_document(vault=v, actor=who.actor, document_id=document_id)
    compared = versions.diff_versions(vault=v, actor=who.actor, document_id=document_id, a=a, b=b)
    rows = side_by_side(compared.text_diff) if compared.text_diff is not None else None
    pages, pairs = None, range(0)
    if rows is None and reads_content(who, doc):  # not text: the pages of both, side by side
        pages = (page_total(v, who, document_id, a), page_total(v, who, document_id, b))
        pairs = range(1, min(max(pages), MAX_PAIRS) + 1)
    numbers = [x.version for x in versions.list_versions(vault=v, actor=who.actor, document_id=document_id)]
    return private(page(request, "documents/diff.html", visitor=who, doc=doc, diff=compared, rows=rows,
                        pages=pages, pairs=pairs, numbers=list(reversed(numbers)), shown_fields=SHOWN_FIELDS,
                        widths=WIDTHS))
