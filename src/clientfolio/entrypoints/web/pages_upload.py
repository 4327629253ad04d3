"""Upload: many files at once for one customer and kind of document, with a clear result per file (stored,
duplicate, refused and why, too large) and, for files filed "automatically", the classifier's suggestion.

The form is multipart and is read as it streams in, by the API's upload parser (python-multipart's push
parser; Starlette's form parsing would spool large files to disk in plaintext): the short fields come first
(the CSRF token, customer, kind, ...), then each `file` part goes to `documents.add_document` chunk by chunk.
With JavaScript (static/upload.js) each file is posted on its own to the same route with `?rows=1` and the
answer is that file's result row, so both ways show the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse

from clientfolio.domain.errors import (ClientfolioError, Duplicate, InvalidInput, NothingToChange,
                                       PermissionDenied, TooLarge)
from clientfolio.entrypoints.api import uploads
from clientfolio.entrypoints.api.deps import check_same_origin
from clientfolio.entrypoints.api.schemas import RecordId
from clientfolio.entrypoints.web.pages_documents import (kind_label, kinds, parse_date, reads_content, split_kind,
                                                         split_tags)
from clientfolio.entrypoints.web.render import language, page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.entrypoints.web.streamed_form import FRAMING, END_OF_FILE, FilePart, FileStart, drain, form_events
from clientfolio.services import auth, classification, customers, documents
from clientfolio.services.context import Vault
from clientfolio.services.ingest import FALLBACK_CATEGORY
from clientfolio.services.views import DocumentView

router = APIRouter(include_in_schema=False)

MAX_FILES = 50  # in one form; the browser path sends one per request
CHOICES = 200  # up to this many customers the picker is a plain <select>; beyond it, type to search


# --- what the pages show -------------------------------------------------------------------------------------


@dataclass
class UploadForm:
    """What the person chose, as typed (shown again after a refusal)."""
    customer: str = ""
    kind: str = ""  # "" (automatic), "contract" or "contract/formal"
    title: str = ""
    tags: str = ""
    expires_on: str = ""
    allow_duplicate: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, request: Request, fields: dict[str, str]) -> UploadForm:
        form = cls(customer=fields.get("customer", "").strip().upper(), kind=fields.get("kind", "").strip(),
                   title=fields.get("title", ""), tags=fields.get("tags", ""),
                   expires_on=fields.get("expires_on", "").strip(), allow_duplicate=bool(fields.get("allow_duplicate")))
        if not form.customer:
            form.errors["customer"] = translate(request, "Choose a customer.")
        try:
            parse_date(form.expires_on, translate(request, "Expires on"))
        except InvalidInput as exc:
            form.errors["expires_on"] = exc.message
        return form

    @property
    def automatic(self) -> bool:
        return not self.kind

    def service_args(self) -> dict:
        kind = split_kind(self.kind) or {"category": FALLBACK_CATEGORY, "subtype": None}
        return dict(customer_code=self.customer, title=self.title.strip() or None, tags=split_tags(self.tags),
                    expires_on=parse_date(self.expires_on, "expires_on"), allow_duplicate=self.allow_duplicate,
                    **kind)


@dataclass
class Result:
    """One file's outcome: stored | duplicate | refused | too_large | failed."""
    name: str | None
    outcome: str
    reason: str | None = None
    document: DocumentView | None = None
    existing_id: int | None = None  # the document a duplicate is already
    automatic: bool = False  # filed under the fallback category: a suggestion is worth asking for


def customer_choices(v: Vault, who: Visitor) -> list | None:
    """Every customer the visitor may see, by name, when there are few enough for a <select>; else None."""
    found = customers.list_customers(vault=v, actor=who.actor, sort="name", status="active", limit=max(CHOICES, 1))
    return found.items if found.total <= CHOICES else None


def labels(request: Request, v: Vault) -> dict:
    """The taxonomy for the templates: option groups for the kind select, names of a category and subtype."""
    lang = language(request)
    return dict(kinds=kinds(v, lang), may_suggest=reads_content,
                kind_label=lambda category, subtype=None: kind_label(v, lang, category, subtype))


def form_context(request: Request, who: Visitor, v: Vault) -> dict:
    """What the customer picker and the kind select need (the inbox's filing form uses them too)."""
    return dict(customer_choices=customer_choices(v, who), **labels(request, v))


def _upload_page(request: Request, who: Visitor, v: Vault, form: UploadForm, *, status: int = 200,
                 results: list[Result] | None = None, error: str | None = None):
    return page(request, "upload.html", status=status, visitor=who, form=form, results=results or [], error=error,
                max_bytes=v.max_upload_bytes, max_files=MAX_FILES,
                **form_context(request, who, v))


@router.get("/upload")
def upload_form(request: Request, customer: str = "", kind: str = "", who: Visitor = Depends(visitor),
                v: Vault = Depends(vault)):
    return _upload_page(request, who, v, UploadForm(customer=customer.strip().upper(), kind=kind))


@router.post("/upload/customers")
def find_customers(q: str = Form("", max_length=200), who: Visitor = Depends(form_visitor),
                   v: Vault = Depends(vault)) -> JSONResponse:
    """Search-as-you-type for the customer picker (a POST: what is typed stays out of URLs and logs)."""
    q = q.strip()
    found = customers.list_customers(vault=v, actor=who.actor, query=q, sort="name", status="active",
                                     limit=10) if q else None
    return JSONResponse([{"code": c.code, "name": c.name} for c in (found.items if found else [])],
                        headers={"Cache-Control": "no-store"})


class FormRefused(Exception):
    """The form itself is wrong (customer, kind, dates, rights): no file could be stored with it."""

    def __init__(self, error: ClientfolioError, form: UploadForm, name: str | None):
        self.error, self.form, self.name = error, form, name


def _store(v: Vault, who: Visitor, form: UploadForm, name: str | None, part: FilePart) -> Result:
    try:
        doc = documents.add_document(vault=v, actor=who.actor, content=part, original_name=name,
                                     **form.service_args())
    except ClientfolioError as exc:
        if not part.touched:  # refused before reading a byte: the same would happen to every file
            raise FormRefused(exc, form, name) from exc
        outcome = ("too_large" if isinstance(exc, TooLarge) else "duplicate" if isinstance(exc, Duplicate)
                   else "refused" if isinstance(exc, InvalidInput) else "failed")
        return Result(name, outcome, exc.message, existing_id=getattr(exc, "existing_id", None))
    return Result(name, "stored", document=doc, automatic=form.automatic)


def read_upload(request: Request, who: Visitor, v: Vault) -> tuple[UploadForm, list[Result]]:
    """Check the CSRF token and the form when the first file arrives, then store each file as it streams."""
    events = form_events(request, MAX_FILES * (v.max_upload_bytes + FRAMING))
    fields: dict[str, str] = {}
    form, results = None, []
    for event in events:
        if isinstance(event, tuple):
            fields.setdefault(*event)
            continue
        if event is END_OF_FILE or not isinstance(event, FileStart):
            continue  # bytes of a part that was skipped
        part = FilePart(events)
        if form is None:
            auth.check_csrf(vault=v, session=who.session, token=fields.get("csrf"))
            form = UploadForm.of(request, fields)
            if form.errors:
                drain(events)
                return form, results
        if event.name is None and part.empty():
            continue
        if len(results) >= MAX_FILES:
            results.append(Result(event.name, "refused", f"more than {MAX_FILES} files in one upload"))
        else:
            try:
                results.append(_store(v, who, form, event.name, part))
            except FormRefused:
                drain(events)
                raise
        part.skip()
    if form is None:
        auth.check_csrf(vault=v, session=who.session, token=fields.get("csrf"))
        form = UploadForm.of(request, fields)
    return form, results


@router.post("/upload")
def upload(request: Request, rows: bool = False, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    """The form (every file in one request), or with `rows=1` one file from upload.js: its result row only."""
    check_same_origin(request)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FILES * (v.max_upload_bytes + FRAMING):
        raise uploads.too_large(v.max_upload_bytes)
    name, error = None, None
    try:
        form, results = read_upload(request, who, v)
    except FormRefused as refused:
        if isinstance(refused.error, PermissionDenied):
            raise refused.error from None
        form, results, name, error = refused.form, [], refused.name, refused.error.message
    if form.errors:
        error = " ".join(form.errors.values()) if rows else None
    elif not results and not error:
        error = translate(request, "Choose at least one file.")
    status = 422 if error or form.errors else 200
    if rows:
        return page(request, "upload_parts.html", status=status, visitor=who, fragment="rows",
                    results=[Result(name, "refused", error)] if error else results, **labels(request, v))
    return _upload_page(request, who, v, form, status=status, results=results, error=error)


# --- the classifier's suggestion for a document filed automatically -----------------------------------------


def _suggestion(request: Request, who: Visitor, v: Vault, document_id: int, fragment: bool, **extra):
    doc = documents.show_document(vault=v, actor=who.actor, document_id=document_id)
    made = None
    if doc.text_status == "done" and reads_content(who, doc):
        made = classification.suggest_for_document(vault=v, actor=who.actor, document_id=document_id)
    context = dict(visitor=who, doc=doc, suggestion=made, **labels(request, v), **extra)
    if fragment:
        return page(request, "upload_parts.html", fragment="suggestion", **context)
    return page(request, "upload_suggestion.html", **context)


@router.get("/upload/suggestion/{document_id}")
def suggestion(request: Request, document_id: RecordId, fragment: bool = False, who: Visitor = Depends(visitor),
               v: Vault = Depends(vault)):
    """What the classifier would file this document as, once its text is read (upload.js asks again while
    the text is still being read)."""
    return _suggestion(request, who, v, document_id, fragment)


@router.post("/upload/suggestion/{document_id}")
def apply_suggestion(request: Request, document_id: RecordId, kind: str = Form(""), tags: str = Form(""),
                     fragment: bool = False, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    """File the document as suggested: its kind, and the suggested tags added to its own."""
    if not kind:
        raise InvalidInput("no category given")
    doc = documents.show_document(vault=v, actor=who.actor, document_id=document_id)
    wanted = list(dict.fromkeys([*doc.tags, *split_tags(tags)]))
    try:
        documents.edit_document(vault=v, actor=who.actor, document_id=document_id, tags=wanted, **split_kind(kind))
    except NothingToChange:
        pass
    if fragment:
        return _suggestion(request, who, v, document_id, True, applied=True)
    return redirect(f"/documents/{document_id}", flash=translate(request, "Filed as suggested."))
