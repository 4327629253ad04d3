"""The inbox: ingested files no customer could be matched to, waiting for a person to file them.

An inbox item is stored exactly like a version (encrypted blob, sealed original name, extracted text as an
encrypted blob) but belongs to no customer yet. Filing it makes version 1 of a new document over the same
blobs (nothing is copied or re-extracted), through the same checks and audit event as an upload.

Who may do what: the inbox is open to users who may file documents and are not limited to their own
customers (an item has no owner yet). Its content may hold anything, ID cards included, so reading an
item's bytes needs the right to read sensitive documents; filing it does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from clientfolio.domain.errors import InvalidInput, NotFound
from clientfolio.domain.model import InboxItem, TagRule, User, utcnow
from clientfolio.domain.policy import Action
from clientfolio.domain.ports import StoredBlob
from clientfolio.services.content import read_verified
from clientfolio.services.context import UnitOfWork, Vault, acting_user, authorize, customer_or_404
from clientfolio.services.documents import document_view, file_document
from clientfolio.services.fields import attach_proposal
from clientfolio.services.textjobs import TextOutcome, apply_outcome, near_duplicate, schedule_index
from clientfolio.services.versions import Download
from clientfolio.services.views import DocumentView, Page, View

STATUSES = ("waiting", "filed", "discarded")


@dataclass
class InboxView(View):
    id: int
    original_name: str | None
    source: str | None  # the folder below the consumption root it came from
    media_type: str
    size: int
    sha256: str
    received_at: datetime
    received_by: str | None
    text_status: str
    text_confidence: float | None
    pages: int | None
    suggestion: dict | None
    reason: str
    status: str
    document_id: int | None


def receive(uow: UnitOfWork, vault: Vault, user: User, blob: StoredBlob, media_type: str, *,
            original_name: str | None, source: str | None, outcome: TextOutcome | None,
            suggestion: dict | None, reason: str) -> InboxItem:
    """Put a stored blob in the inbox, inside the caller's unit of work (ingestion)."""
    authorize(user, Action.INBOX_USE, object_type="inbox", object_id="*")
    item = InboxItem(blob_id=blob.blob_id, sha256=blob.sha256, size=blob.size, media_type=media_type,
                     received_by=user.id, reason=reason)
    if original_name:
        item.original_name_sealed = vault.fields.seal(original_name[:1000], context=f"blob:{blob.blob_id}:name")
    if source:
        item.source_sealed = vault.fields.seal(source[:1000], context=f"blob:{blob.blob_id}:source")
    if outcome is not None:
        apply_outcome(vault, uow, item, outcome)
    item.suggestion = json.dumps(suggestion, ensure_ascii=False) if suggestion else None
    uow.inbox.add(item)
    uow.record(actor=user.name, action="inbox.receive", object_type="inbox", object_id=str(item.id),
               details={"sha256": blob.sha256, "size": blob.size, "media_type": media_type, "reason": reason})
    return item


def list_inbox(*, vault: Vault, actor: str, status: str = "waiting", limit: int = 100, offset: int = 0) -> Page:
    if status not in STATUSES:
        raise InvalidInput(f"unknown inbox status {status!r}: use one of {', '.join(STATUSES)}")
    if not 1 <= limit <= 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    with vault.uow() as uow:
        user = _inbox_user(uow, actor, "*")
        rows, total = uow.inbox.list(status=status, limit=limit, offset=max(offset, 0))
        names = uow.users.names({r.received_by for r in rows})
        return Page(items=[_view(vault, r, names) for r in rows], total=total, limit=limit, offset=offset)


def show_item(*, vault: Vault, actor: str, item_id: int) -> InboxView:
    with vault.uow() as uow:
        _inbox_user(uow, actor, str(item_id))
        item = _item(uow, item_id)
        return _view(vault, item, uow.users.names({item.received_by}))


def read_item(*, vault: Vault, actor: str, item_id: int) -> Download:
    """The item's bytes (for the person filing it to look at), verified and audited."""
    with vault.uow() as uow:
        user = _inbox_user(uow, actor, str(item_id))
        authorize(user, Action.SENSITIVE_READ, object_type="inbox", object_id=str(item_id))
        item = _item(uow, item_id)
        audit = dict(actor=user.name, action="inbox.read", object_type="inbox", object_id=str(item.id))
        uow.record(**audit)
        uow.commit()
        view = _view(vault, item, uow.users.names({item.received_by}))
    return Download(view, read_verified(vault, blob_id=item.blob_id, sha256=item.sha256, audit=audit))


def file_item(*, vault: Vault, actor: str, item_id: int, customer_code: str, category: str | None = None,
              subtype: str | None = None, title: str | None = None, tags: list[str] | None = None,
              sensitive: bool | None = None, issued_on: date | None = None, expires_on: date | None = None,
              allow_duplicate: bool = False) -> DocumentView:
    """Make the item version 1 of a new document of this customer; category defaults to the suggestion."""
    with vault.uow() as uow:
        user = _inbox_user(uow, actor, str(item_id))
        item = _item(uow, item_id)
        if item.status != "waiting":
            raise InvalidInput(f"inbox item {item_id} is already {item.status}")
        suggestion = json.loads(item.suggestion) if item.suggestion else {}
        if category is None:
            category, subtype = suggestion.get("category"), subtype or suggestion.get("subtype")
            if not category:
                raise InvalidInput("no category given and none suggested: give --category")
        customer = customer_or_404(uow, user, customer_code)
        blob = StoredBlob(item.blob_id, item.size, item.sha256)
        document, version = file_document(
            uow, vault, user, customer, blob, item.media_type, category=category, subtype=subtype, title=title,
            tags=TagRule().clean(tags if tags is not None else suggestion.get("tags") or []), sensitive=sensitive,
            issued_on=issued_on, expires_on=expires_on, paper_location=None, note=None, original_name=None,
            allow_duplicate=allow_duplicate, details={"from_inbox": item.id})
        version.original_name_sealed = item.original_name_sealed  # sealed under the same blob context
        for field in ("text_status", "text_blob_id", "text_confidence", "text_pages", "text_error",
                      "rendition_blob_id", "text_signature"):
            setattr(version, field, getattr(item, field))
        version.near_duplicate_of = near_duplicate(vault, uow, customer.id, document.id, item.text_signature)
        if item.text_blob_id:
            attach_proposal(vault, version, vault.blobs.read(item.text_blob_id).decode("utf-8", errors="replace"),
                            category=category)
        item.status, item.document_id = "filed", document.id
        item.handled_by, item.handled_at = user.id, utcnow()
        uow.record(actor=user.name, action="inbox.file", object_type="inbox", object_id=str(item.id),
                   customer_code=customer.code, details={"document_id": document.id})
        uow.commit()
        view, document_id = document_view(vault, document, customer), document.id
    schedule_index(vault, document_id)
    return view


def discard_item(*, vault: Vault, actor: str, item_id: int) -> InboxView:
    """Set an item aside (not a document after all). Its bytes are kept: nothing received is destroyed."""
    with vault.uow() as uow:
        user = _inbox_user(uow, actor, str(item_id))
        authorize(user, Action.DOCUMENT_DELETE, object_type="inbox", object_id=str(item_id))
        item = _item(uow, item_id)
        if item.status != "waiting":
            raise InvalidInput(f"inbox item {item_id} is already {item.status}")
        item.status, item.handled_by, item.handled_at = "discarded", user.id, utcnow()
        uow.record(actor=user.name, action="inbox.discard", object_type="inbox", object_id=str(item.id))
        uow.commit()
        return _view(vault, item, uow.users.names({item.received_by}))


def already_received(uow: UnitOfWork, sha256: str) -> int | None:
    """The inbox item (waiting) holding these exact bytes, if any: ingestion is resumable by hash."""
    return uow.inbox.waiting_with_hash(sha256)


def _inbox_user(uow: UnitOfWork, actor: str, object_id: str) -> User:
    user = acting_user(uow, actor)
    authorize(user, Action.INBOX_USE, object_type="inbox", object_id=object_id)
    return user


def _item(uow: UnitOfWork, item_id: int) -> InboxItem:
    item = uow.inbox.get(item_id)
    if item is None:
        raise NotFound(f"no inbox item with id {item_id}")
    return item


def _view(vault: Vault, item: InboxItem, names: dict[int, str]) -> InboxView:
    def opened(sealed: bytes | None, what: str) -> str | None:
        return vault.fields.open(sealed, context=f"blob:{item.blob_id}:{what}") if sealed else None

    return InboxView(
        id=item.id, original_name=opened(item.original_name_sealed, "name"),
        source=opened(item.source_sealed, "source"), media_type=item.media_type, size=item.size,
        sha256=item.sha256, received_at=item.received_at, received_by=names.get(item.received_by),
        text_status=item.text_status, text_confidence=item.text_confidence, pages=item.text_pages,
        suggestion=json.loads(item.suggestion) if item.suggestion else None, reason=item.reason,
        status=item.status, document_id=item.document_id)
