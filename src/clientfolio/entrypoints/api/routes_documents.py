"""Documents: list, upload (streamed), show, edit, delete/undelete, download (streamed, Range), versions."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from clientfolio.domain.errors import NothingToChange
from clientfolio.domain.queries import DOCUMENT_SORTS
from clientfolio.entrypoints.api.deps import Caller, caller, vault
from clientfolio.entrypoints.api.problems import ApiProblem, responses
from clientfolio.entrypoints.api.schemas import DocumentChanges, DocumentPage, RecordId
from clientfolio.entrypoints.api.uploads import consume_upload
from clientfolio.services import documents, fields, versions
from clientfolio.services.fields import FieldsView
from clientfolio.services.context import Vault
from clientfolio.services.views import DocumentView, VersionView

router = APIRouter(tags=["documents"])
UPLOAD_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary"}}}}}}}
Tags = Annotated[list[str] | None, Query(max_length=50)]


@router.get("/documents", response_model=DocumentPage, responses=responses(401, 403, 404, 422))
def list_documents(customer: str | None = Query(None, max_length=16), category: str | None = Query(None, max_length=40),
                   subtype: str | None = Query(None, max_length=40), tag: str | None = Query(None, max_length=40),
                   expires_before: date | None = None, include_deleted: bool = False,
                   suggestion_pending: bool = False, filing: Literal[*documents.FILINGS] | None = None,
                   sort: Literal[*DOCUMENT_SORTS] = "id",
                   limit: int = Query(50, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000),
                   who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """`sort`: id, -id (newest first), title, expires (soonest first, none last), -updated.
    `suggestion_pending`: only the classifier's filings no person has confirmed yet (needs the edit right);
    `filing` narrows them to those filed automatically (`auto-filed`) or `waiting` under "other"."""
    page = documents.list_documents(vault=v, actor=who.actor, customer_code=customer, category=category,
                                    subtype=subtype, tag=tag, expires_before=expires_before,
                                    include_deleted=include_deleted, suggestion_pending=suggestion_pending,
                                    filing=filing, sort=sort, limit=limit, offset=offset)
    return DocumentPage(page.items, page.total, page.limit, page.offset)


@router.post("/documents", status_code=201, response_model=DocumentView, openapi_extra=UPLOAD_BODY,
             responses=responses(401, 403, 404, 409, 413, 415, 422))
async def upload(request: Request, customer: str = Query(max_length=16), category: str = Query(max_length=40),
                 subtype: str | None = Query(None, max_length=40), title: str | None = Query(None, max_length=300),
                 tags: Tags = None, sensitive: bool | None = None, issued_on: date | None = None,
                 expires_on: date | None = None, paper_location: str | None = Query(None, max_length=200),
                 note: str | None = Query(None, max_length=500), allow_duplicate: bool = False,
                 who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """File a new document: the body is multipart/form-data with the file in a part named `file`; what it
    is goes in the query. The media type is sniffed from the content; the size limit applies while it streams."""
    def store(chunks, file_name):
        return documents.add_document(
            vault=v, actor=who.actor, customer_code=customer, content=chunks, original_name=file_name,
            category=category, subtype=subtype, title=title, tags=tags, sensitive=sensitive, issued_on=issued_on,
            expires_on=expires_on, paper_location=paper_location, note=note, allow_duplicate=allow_duplicate)
    return await consume_upload(request, store, limit=v.max_upload_bytes)


@router.get("/documents/{document_id}", response_model=DocumentView, responses=responses(401, 403, 404))
def show_document(document_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return documents.show_document(vault=v, actor=who.actor, document_id=document_id)


@router.patch("/documents/{document_id}", response_model=DocumentView, responses=responses(401, 403, 404, 422))
def edit_document(document_id: RecordId, body: DocumentChanges, who: Caller = Depends(caller),
                  v: Vault = Depends(vault)):
    """Only the fields sent change; `null` clears subtype, dates and paper location."""
    try:
        return documents.edit_document(vault=v, actor=who.actor, document_id=document_id,
                                       **body.model_dump(exclude_unset=True))
    except NothingToChange:  # PATCH is idempotent: the same values again leave the record as it is
        return documents.show_document(vault=v, actor=who.actor, document_id=document_id)


@router.delete("/documents/{document_id}", response_model=DocumentView, responses=responses(401, 403, 404, 409))
def delete_document(document_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Moves it to the deleted state (restorable by a manager); nothing is erased."""
    return documents.delete_document(vault=v, actor=who.actor, document_id=document_id)


@router.post("/documents/{document_id}/undelete", response_model=DocumentView,
             responses=responses(401, 403, 404, 409))
def undelete_document(document_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return documents.undelete_document(vault=v, actor=who.actor, document_id=document_id)


@router.post("/documents/{document_id}/suggestion/accept", response_model=DocumentView,
             responses=responses(401, 403, 404, 422))
def accept_suggestion(document_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Take the classifier's filing: confirm an automatic filing, or file a document waiting under "other" as
    suggested (category, subtype, tags). 422 when there is no suggestion left to accept."""
    return documents.accept_suggestion(vault=v, actor=who.actor, document_id=document_id)


BINARY = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


@router.get("/documents/{document_id}/content", response_class=StreamingResponse, responses={
    200: {"content": BINARY, "description": "the file, with its sniffed media type"},
    206: {"content": BINARY, "description": "the requested byte range"}, **responses(401, 403, 404, 416)})
def download(document_id: RecordId, request: Request, version: int | None = Query(None, ge=1, le=1_000_000),
             who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """The file as stored (the latest version unless `version`), under its canonical name; one byte range
    (`Range: bytes=a-b`) may be asked for."""
    size = versions.version_size(vault=v, actor=who.actor, document_id=document_id, version=version)
    span = parse_range(request.headers.get("range"), size)
    start, end = span if span else (0, size - 1)
    got = versions.read_version(vault=v, actor=who.actor, document_id=document_id, version=version, offset=start)
    headers = {"Content-Disposition": content_disposition(got.version.canonical_name),
               "Content-Length": str(max(0, end - start + 1)), "Accept-Ranges": "bytes",
               "ETag": f'"{got.version.sha256}"', "Cache-Control": "private, no-store"}
    if span:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(_cut(got.chunks, end - start + 1), status_code=206 if span else 200,
                             media_type=got.version.media_type, headers=headers)


def _cut(chunks, length: int):
    left = length
    for chunk in chunks:
        if left <= 0:
            break
        yield chunk[:left]
        left -= len(chunk)
    getattr(chunks, "close", lambda: None)()


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single `bytes=` range; None for no header or several ranges (the whole file is
    sent, as RFC 9110 allows); 416 when it lies outside the file."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    try:
        if not dash:
            raise ValueError
        if first == "":
            n = int(last)
            if n <= 0:
                raise ValueError
            start, end = max(0, size - n), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
    except ValueError:
        return None  # a malformed Range is ignored (RFC 9110 §14.2)
    if start < 0 or start >= size or end < start:
        raise ApiProblem("range-not-satisfiable", f"the range is outside the file ({size:,} bytes)", 416,
                         headers={"Content-Range": f"bytes */{size}"})
    return start, end


def content_disposition(name: str) -> str:
    """attachment with an ASCII fallback and the UTF-8 name (RFC 6266 / 5987), safe for Chinese names."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("/documents/{document_id}/versions", response_model=list[VersionView],
            responses=responses(401, 403, 404))
def list_versions(document_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return versions.list_versions(vault=v, actor=who.actor, document_id=document_id)


@router.post("/documents/{document_id}/versions", status_code=201, response_model=DocumentView,
             openapi_extra=UPLOAD_BODY, responses=responses(401, 403, 404, 409, 413, 415, 422))
async def add_version(document_id: RecordId, request: Request, note: str | None = Query(None, max_length=500),
                      allow_duplicate: bool = False, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """A new version of the document (multipart, part `file`); earlier versions stay."""
    def store(chunks, file_name):
        return versions.add_version(vault=v, actor=who.actor, document_id=document_id, content=chunks,
                                    original_name=file_name, note=note, allow_duplicate=allow_duplicate)
    return await consume_upload(request, store, limit=v.max_upload_bytes)


@router.post("/documents/{document_id}/versions/{number}/restore", response_model=DocumentView,
             responses=responses(401, 403, 404, 409, 422))
def restore_version(document_id: RecordId, number: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Make a new latest version with the bytes of version `number` (history is never rewritten)."""
    return versions.restore_version(vault=v, actor=who.actor, document_id=document_id, version=number)


@router.get("/documents/{document_id}/diff", responses=responses(401, 403, 404, 422))
def diff(document_id: RecordId, a: int = Query(ge=1, le=1_000_000), b: int = Query(ge=1, le=1_000_000),
         who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """What changed between versions a and b: metadata fields and, for text, a unified diff."""
    return versions.diff_versions(vault=v, actor=who.actor, document_id=document_id, a=a, b=b).to_dict()


@router.get("/documents/{document_id}/fields", response_model=FieldsView, responses=responses(401, 403, 404))
def show_fields(document_id: RecordId, version: int | None = Query(None, ge=1, le=1_000_000),
                who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Fields read from an ID document or licence (proposals until a person confirms them), beside the
    customer's current values; reading them is audited."""
    return fields.show_fields(vault=v, actor=who.actor, document_id=document_id, version=version)


@router.post("/documents/{document_id}/fields/confirm", response_model=FieldsView,
             responses=responses(401, 403, 404, 409, 422))
def confirm_fields(document_id: RecordId, only: Annotated[list[str] | None, Query(max_length=20)] = None,
                   who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Take the proposed values (all, or `only` these fields): the customer and the document's expiry change."""
    return fields.confirm_fields(vault=v, actor=who.actor, document_id=document_id, only=only)


@router.post("/documents/{document_id}/fields/reject", response_model=FieldsView,
             responses=responses(401, 403, 404, 409))
def reject_fields(document_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return fields.reject_fields(vault=v, actor=who.actor, document_id=document_id)
