"""Document use cases: add, list, show, edit, accept the classifier's suggestion, delete and undelete."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

from clientfolio.domain import naming
from clientfolio.domain.errors import ClientfolioError, Duplicate, InvalidInput, NothingToChange
from clientfolio.domain.model import (Document, DocumentStatus, Sensitivity, TagRule, User, Version,
                                      utcnow)
from clientfolio.domain.policy import Action, allows
from clientfolio.domain.ports import StoredBlob
from clientfolio.domain.queries import DOCUMENT_SORTS, DocumentFilter
from clientfolio.services.content import store_stream
from clientfolio.services.context import (UnitOfWork, Vault, acting_user, authorize,
                                          customer_or_404, document_or_404)
from clientfolio.services.customers import require_active
from clientfolio.services.textjobs import schedule_index, schedule_text
from clientfolio.services.views import DocumentView, Page

_UNSET = object()
FALLBACK_CATEGORY = "other"  # a matched file whose kind is not known with confidence: filed, to be confirmed
FILINGS = ("auto-filed", "waiting")  # pending suggestions: filed under the suggested class, or under the fallback


def add_document(*, vault: Vault, actor: str, customer_code: str, content: Iterable[bytes],
                 original_name: str | None, category: str, subtype: str | None = None,
                 title: str | None = None, tags: list[str] | None = None, sensitive: bool | None = None,
                 issued_on: date | None = None, expires_on: date | None = None,
                 paper_location: str | None = None, note: str | None = None,
                 allow_duplicate: bool = False) -> DocumentView:
    """File new content for a customer as version 1 of a new document."""
    vault.taxonomy.validate(category, subtype)
    _check_dates(issued_on, expires_on)
    clean_tags = TagRule().clean(tags or [])
    with vault.uow() as uow:  # refuse before reading any bytes
        user = acting_user(uow, actor)
        check_may_file(uow, vault, user, customer_or_404(uow, user, customer_code), category, sensitive)
    blob, media_type = store_stream(vault, content)
    with vault.uow() as uow:
        uow.note_blob(blob.blob_id)
        user = acting_user(uow, actor)
        customer = customer_or_404(uow, user, customer_code)
        document, version = file_document(
            uow, vault, user, customer, blob, media_type, category=category, subtype=subtype, title=title,
            tags=clean_tags, sensitive=sensitive, issued_on=issued_on, expires_on=expires_on,
            paper_location=paper_location, note=note, original_name=original_name, allow_duplicate=allow_duplicate)
        uow.commit()
        view = document_view(vault, document, customer)
        version_id = version.id
    schedule_text(vault, version_id)
    return view


def check_may_file(uow: UnitOfWork, vault: Vault, user: User, customer, category: str,
                   sensitive: bool | None) -> None:
    authorize(user, Action.DOCUMENT_CREATE, customer=customer)
    require_active(uow, customer)
    if sensitive is False and vault.taxonomy.is_sensitive_by_default(category):
        # filing an ID document as normal is the same downgrade edit_document guards
        authorize(user, Action.SENSITIVE_READ, customer=customer, object_type="document", object_id="-")


def file_document(uow: UnitOfWork, vault: Vault, user: User, customer, blob: StoredBlob, media_type: str, *,
                  category: str, subtype: str | None, title: str | None, tags: list[str], sensitive: bool | None,
                  issued_on: date | None, expires_on: date | None, paper_location: str | None, note: str | None,
                  original_name: str | None, allow_duplicate: bool = False,
                  details: dict | None = None) -> tuple[Document, Version]:
    """Version 1 of a new document over a blob already stored, inside the caller's unit of work (the upload,
    ingestion and inbox paths all end here, so the checks and the audit event are the same for each)."""
    vault.taxonomy.validate(category, subtype)
    check_may_file(uow, vault, user, customer, category, sensitive)
    if not allow_duplicate:
        refuse_duplicate(uow, customer.id, blob.sha256)
    if sensitive is None:
        sensitive = vault.taxonomy.is_sensitive_by_default(category)
    document = Document(
        customer_id=customer.id, category=category, subtype=subtype,
        title=_clean_title(title) or vault.taxonomy.label(category, subtype, "zh"),
        sensitivity=Sensitivity.SENSITIVE if sensitive else Sensitivity.NORMAL,
        issued_on=issued_on, expires_on=expires_on, paper_location=_clean_location(paper_location),
        created_by=user.id)
    document.set_tags(tags)
    uow.documents.add(document)
    version = new_version(vault, document, blob, media_type, user, original_name, note)
    document.versions.append(version)
    uow.documents.add(document)
    uow.record(actor=user.name, action="document.create", object_type="document",
               object_id=document.id, customer_code=customer.code,
               details={"category": category, "subtype": subtype, "version": 1,
                        "sha256": blob.sha256, "size": blob.size, "media_type": media_type,
                        "sensitivity": document.sensitivity, "duplicate_allowed": allow_duplicate,
                        **(details or {})})
    return document, version


def list_documents(*, vault: Vault, actor: str, customer_code: str | None = None,
                   category: str | None = None, subtype: str | None = None, tag: str | None = None,
                   expires_before: date | None = None, include_deleted: bool = False, sort: str = "id",
                   suggestion_pending: bool = False, filing: str | None = None,
                   limit: int = 100, offset: int = 0) -> Page:
    """Documents the user may see; sensitivity and ownership limits are part of the query.

    `suggestion_pending`: only the classifier's filings no person has settled yet (the review queue), which
    is for those who may settle them (the document edit right); `filing` narrows it to the "auto-filed" ones
    (filed under the suggested class) or the ones "waiting" under the fallback category."""
    vault.taxonomy.validate_filter(category, subtype)
    if sort not in DOCUMENT_SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(DOCUMENT_SORTS)}")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    if filing is not None and filing not in FILINGS:
        raise InvalidInput(f"filing must be one of {', '.join(FILINGS)}")
    suggestion_pending = suggestion_pending or filing is not None
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.DOCUMENT_READ_META, object_type="document", object_id="*")
        if suggestion_pending:
            authorize(user, Action.DOCUMENT_EDIT, object_type="document", object_id="*")
        customer_id = customer_or_404(uow, user, customer_code).id if customer_code else None
        statuses = ("active", "archived") + (("deleted",) if include_deleted and allows(user, Action.DOCUMENT_RESTORE) else ())
        rows, total = uow.documents.list(DocumentFilter(
            include_sensitive=allows(user, Action.SENSITIVE_META),
            owner_id=user.id if user.own_customers_only else None, customer_id=customer_id,
            category=FALLBACK_CATEGORY if filing == "waiting" else category, subtype=subtype, tag=tag,
            category_not=FALLBACK_CATEGORY if filing == "auto-filed" else None,
            suggestion_pending=suggestion_pending, statuses=statuses,
            expires_before=expires_before, sort=sort, limit=limit, offset=max(offset, 0)))
        customers = uow.customers.many({d.customer_id for d in rows})
        items = [document_view(vault, d, customers[d.customer_id]) for d in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)


def show_document(*, vault: Vault, actor: str, document_id: int) -> DocumentView:
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        return document_view(vault, document, customer)


def edit_document(*, vault: Vault, actor: str, document_id: int, title: str | None = None,
                  category: str | None = None, subtype=_UNSET, tags: list[str] | None = None,
                  sensitive: bool | None = None, issued_on=_UNSET, expires_on=_UNSET,
                  paper_location=_UNSET) -> DocumentView:
    """Change metadata; making a sensitive document normal needs the sensitive right."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_EDIT, customer=customer, document=document)
        changed = []
        if category is not None or subtype is not _UNSET:
            new_cat = category or document.category
            new_sub = document.subtype if subtype is _UNSET else subtype
            if new_cat != document.category and subtype is _UNSET:
                new_sub = None
            vault.taxonomy.validate(new_cat, new_sub)
            if (new_cat, new_sub) != (document.category, document.subtype):
                document.category, document.subtype = new_cat, new_sub
                document.suggestion = None  # a person filed it: the classifier's proposal is settled
                changed.append("category")
        if title is not None and _clean_title(title) != document.title:
            document.title = _clean_title(title) or document.title
            changed.append("title")
        if tags is not None and TagRule().clean(tags) != document.tags:
            document.set_tags(TagRule().clean(tags))
            changed.append("tags")
        if sensitive is not None and sensitive != document.is_sensitive:
            authorize(user, Action.SENSITIVE_READ, customer=customer, document=document)
            document.sensitivity = (Sensitivity.SENSITIVE if sensitive else Sensitivity.NORMAL).value
            changed.append("sensitivity")
        for field, value in (("issued_on", issued_on), ("expires_on", expires_on)):
            if value is not _UNSET and value != getattr(document, field):
                setattr(document, field, value)
                changed.append(field)
        if paper_location is not _UNSET and paper_location != document.paper_location:
            document.paper_location = _clean_location(paper_location)
            changed.append("paper_location")
        _check_dates(document.issued_on, document.expires_on)
        if not changed:
            raise NothingToChange("nothing to change: give at least one field with a new value")
        document.updated_at = utcnow()
        uow.record(actor=user.name, action="document.edit", object_type="document",
                   object_id=document.id, customer_code=customer.code, details={"fields": changed})
        uow.commit()
        view = document_view(vault, document, customer)
    schedule_index(vault, document_id)
    return view


def accept_suggestion(*, vault: Vault, actor: str, document_id: int) -> DocumentView:
    """A person takes the classifier's filing: its category and subtype, its tags added to the document's own.
    Confirms an auto-filed document or files one waiting under "other"; either way the suggestion is settled,
    so the document may teach the classifier from then on."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_EDIT, customer=customer, document=document)
        if not document.suggestion:
            raise NothingToChange(f"document {document_id} has no suggestion to accept: "
                                  "a person filed it or already confirmed its filing")
        made = json.loads(document.suggestion)
        category, subtype = made.get("category") or "", made.get("subtype") or None
        try:
            vault.taxonomy.validate(category, subtype)
        except InvalidInput:
            kind = "/".join(filter(None, (category, subtype))) or "(none)"
            raise InvalidInput(f"the suggested category {kind} is no longer in the taxonomy: "
                               "choose a category by editing the document") from None
        auto_filed = (category, subtype) == (document.category, document.subtype)
        document.category, document.subtype = category, subtype
        document.set_tags(TagRule().clean([*document.tags, *(made.get("tags") or [])]))
        if not document.is_sensitive and vault.taxonomy.is_sensitive_by_default(category):
            document.sensitivity = Sensitivity.SENSITIVE.value  # as filing it so at ingestion would have
        document.suggestion = None
        document.updated_at = utcnow()
        uow.record(actor=user.name, action="document.filing_confirm", object_type="document",
                   object_id=document.id, customer_code=customer.code,
                   details={"category": category, "subtype": subtype, "confidence": made.get("confidence"),
                            "auto_filed": auto_filed, "sensitivity": document.sensitivity})
        uow.commit()
        view = document_view(vault, document, customer)
    schedule_index(vault, document_id)
    return view


def accept_suggestions(*, vault: Vault, actor: str,
                       document_ids: Iterable[int]) -> list[tuple[int, DocumentView | ClientfolioError]]:
    """accept_suggestion for each document on its own (one that cannot be settled does not stop the others):
    for each id, in the order given (repeats once), the document as filed or the error that refused it.
    A user without the document edit right is refused once, before any document is looked at."""
    ids = list(dict.fromkeys(document_ids))
    with vault.uow(read_only=True) as uow:
        authorize(acting_user(uow, actor), Action.DOCUMENT_EDIT, object_type="document", object_id="*")
    outcomes: list[tuple[int, DocumentView | ClientfolioError]] = []
    for document_id in ids:  # each in its own unit of work: one refused rolls back nothing of the others
        try:
            outcomes.append((document_id, accept_suggestion(vault=vault, actor=actor, document_id=document_id)))
        except ClientfolioError as exc:
            outcomes.append((document_id, exc))
    return outcomes


def delete_document(*, vault: Vault, actor: str, document_id: int) -> DocumentView:
    """Mark deleted: hidden from lists, history and bytes kept (a manager can undelete)."""
    return _set_status(vault, actor, document_id, DocumentStatus.DELETED, "document.delete")


def undelete_document(*, vault: Vault, actor: str, document_id: int) -> DocumentView:
    return _set_status(vault, actor, document_id, DocumentStatus.ACTIVE, "document.undelete")


def _set_status(vault: Vault, actor: str, document_id: int, status: DocumentStatus, action: str) -> DocumentView:
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        undeleting = status == DocumentStatus.ACTIVE
        document, customer = document_or_404(uow, user, document_id, include_deleted=undeleting)
        needed = Action.DOCUMENT_RESTORE if undeleting else Action.DOCUMENT_DELETE
        authorize(user, needed, customer=customer, document=document)
        if document.status == status.value:
            raise InvalidInput(f"document {document_id} is already {status.value}")
        document.status = status.value
        document.updated_at = utcnow()
        uow.record(actor=user.name, action=action, object_type="document", object_id=document.id,
                   customer_code=customer.code, details={"status": status.value})
        uow.commit()
        view = document_view(vault, document, customer)
    schedule_index(vault, document_id)
    return view


def refuse_duplicate(uow: UnitOfWork, customer_id: int, sha256: str) -> None:
    existing = uow.documents.with_content(customer_id, sha256)
    if existing is not None:
        # No title: the existing document may be one the uploader may not see (a sensitive one).
        raise Duplicate(f"duplicate: the same content is already document {existing.id}; "
                        "use --allow-duplicate to keep both", existing_id=existing.id)


def new_version(vault: Vault, document: Document, blob, media_type: str, user: User,
                 original_name: str | None, note: str | None) -> Version:
    number = max((v.number for v in document.versions), default=0) + 1
    version = Version(number=number, blob_id=blob.blob_id, sha256=blob.sha256, size=blob.size,
                      media_type=media_type, uploaded_by=user.id, note=_clean_note(note))
    if original_name:
        # Kept as data only (sealed: names often carry a customer's name), never used as a path.
        version.original_name_sealed = vault.fields.seal(original_name[:1000], context=f"blob:{blob.blob_id}:name")
    return version


def open_original_name(vault: Vault, version: Version) -> str | None:
    if not version.original_name_sealed:
        return None
    return vault.fields.open(version.original_name_sealed, context=f"blob:{version.blob_id}:name")


def canonical_name(vault: Vault, document: Document, customer, version: Version) -> str:
    when = document.issued_on or version.uploaded_at.date()
    return naming.canonical_name(
        vault.naming_template, customer_code=customer.code, customer_name=customer.name,
        category=document.category, subtype=document.subtype or "", date=when.strftime("%Y%m%d"),
        version=version.number, ext=naming.extension_for(version.media_type, None),
        title=document.title, document_id=document.id)


def document_view(vault: Vault, document: Document, customer) -> DocumentView:
    latest = document.latest
    return DocumentView(
        id=document.id, customer=customer.code, customer_name=customer.name,
        category=document.category, subtype=document.subtype, title=document.title,
        tags=document.tags, sensitivity=document.sensitivity, issued_on=document.issued_on,
        expires_on=document.expires_on, paper_location=document.paper_location,
        status=document.status, version=latest.number, sha256=latest.sha256, size=latest.size,
        media_type=latest.media_type, canonical_name=canonical_name(vault, document, customer, latest),
        created_at=document.created_at, updated_at=document.updated_at, text_status=latest.text_status,
        near_duplicate_of=latest.near_duplicate_of,
        suggestion=json.loads(document.suggestion) if document.suggestion else None,
        fields_status=latest.fields_status)


def _check_dates(issued_on: date | None, expires_on: date | None) -> None:
    if issued_on and expires_on and expires_on < issued_on:
        raise InvalidInput("the expiry date is before the issued date")


def _clean_text(value: str | None, *, limit: int, what: str) -> str | None:
    """Collapse white space (and control characters with it); None for nothing left."""
    if value is None:
        return None
    value = " ".join("".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in value).split())
    if len(value) > limit:
        raise InvalidInput(f"{what} must be at most {limit} characters")
    return value or None


def _clean_title(title: str | None) -> str | None:
    return _clean_text(title, limit=300, what="title")


def _clean_location(location: str | None) -> str | None:
    return _clean_text(location, limit=300, what="paper location")


def _clean_note(note: str | None) -> str | None:
    return _clean_text(note, limit=500, what="change note")
