"""Ingestion: a file on disk in, a filed document (or an inbox item) out, in ordered small steps.

    read -> sniff the type from content -> refuse what is not a document -> skip what is already in (by hash)
    -> extract text (OCR included) -> classify -> match the customer -> store (through file_document, so the
    permission checks and the audit event are an upload's) -> index (a background job)

`prepare` runs the steps that need no database writes and may run in a worker process (OCR is the heavy
part); `store` runs in the one process that writes. `ingest_file` is both, for one file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from clientfolio.domain import matching, media
from clientfolio.domain.errors import ClientfolioError
from clientfolio.domain.model import Customer
from clientfolio.domain.ports import StoredBlob
from clientfolio.services import inbox
from clientfolio.domain.policy import Action, allows, may_see_customer
from clientfolio.services.context import UnitOfWork, Vault, acting_user, authorize
from clientfolio.services.documents import FALLBACK_CATEGORY, file_document
from clientfolio.services.fields import attach_proposal
from clientfolio.services.textjobs import (TextOutcome, apply_outcome, near_duplicate, run_extraction,
                                           schedule_index)


@dataclass
class Prepared:
    """What a file turned out to be, before anything is stored."""
    relative: str
    data: bytes | None = field(default=None, repr=False)
    sha256: str | None = None
    media_type: str | None = None
    refused: str | None = None
    already: str | None = None  # "document 12" / "inbox item 3": these exact bytes are in already
    outcome: TextOutcome | None = field(default=None, repr=False)
    suggestion: dict | None = None


@dataclass
class IngestResult:
    path: str
    outcome: str  # stored | duplicate | refused | inbox | failed
    reason: str | None = None
    document_id: int | None = None
    customer: str | None = None
    matched_by: str | None = None
    inbox_id: int | None = None
    category: str | None = None
    subtype: str | None = None
    text_status: str | None = None
    near_duplicate_of: int | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def prepare(vault: Vault, root: Path, path: Path) -> Prepared:
    """Read, sniff, refuse, skip, extract and classify one file. Never raises for a bad file."""
    relative = path.relative_to(root).as_posix()
    try:
        size = path.stat().st_size
        if size > vault.max_upload_bytes:
            return Prepared(relative, refused=f"larger than the limit of {vault.max_upload_bytes // 2**20} MB")
        data = path.read_bytes()
    except OSError as exc:
        return Prepared(relative, refused=f"cannot read the file: {exc.strerror or type(exc).__name__}")
    found = Prepared(relative, data=data, sha256=hashlib.sha256(data).hexdigest(),
                     media_type=media.sniff(data[:media.SNIFF_BYTES]))
    found.refused = "the file is empty" if not data else media.refuse_for_ingestion(found.media_type)
    if found.refused:
        found.data = None
        return found
    found.already = already_in(vault, found.sha256)
    if found.already:
        found.data = None
        return found
    try:
        found.outcome = run_extraction(vault, data, found.media_type)
    except Exception as exc:  # noqa: BLE001 - an engine crash: the file is still stored, its text marked failed
        found.outcome = TextOutcome("failed", error=f"{type(exc).__name__} during extraction")
    found.suggestion = suggest(vault, found)
    return found


def already_in(vault: Vault, sha256: str) -> str | None:
    with vault.uow(read_only=True) as uow:
        document_id = uow.documents.any_with_content(sha256)
        if document_id is not None:
            return f"already stored as document {document_id}"
        item_id = inbox.already_received(uow, sha256)
        return f"already waiting in the inbox as item {item_id}" if item_id is not None else None


def suggest(vault: Vault, found: Prepared) -> dict | None:
    """Category, subtype, tags and a confidence, when a classifier is configured."""
    if vault.classifier is None or found.outcome is None or found.outcome.status != "done":
        return None
    made = vault.classifier.suggest(found.outcome.text, Path(found.relative).name)
    return made.to_dict() if made is not None else None


def store(vault: Vault, actor: str, found: Prepared, *, auto_file_threshold: float | None = None) -> IngestResult:
    """File a prepared file under its matched customer, or put it in the inbox. One transaction."""
    return store_batch(vault, actor, [found], auto_file_threshold=auto_file_threshold)[0]


class _Alone(Exception):
    """A file in a batch that must be stored on its own (it would be refused, or be recorded as denied)."""


def store_batch(vault: Vault, actor: str, batch: list[Prepared], *,
                auto_file_threshold: float | None = None) -> list[IngestResult]:
    """Prepared files in one transaction: one commit (and one fsync of the database) for the lot, which is
    most of what storing costs. A file that would be refused or denied inside the transaction sends the
    batch back to one transaction per file, so one file's problem stays its own and is recorded once.
    A suggestion at or above auto_file_threshold (default: the vault's, from config.toml) files the document
    under its category; below it, under "other" with the suggestion kept."""
    if auto_file_threshold is None:
        auto_file_threshold = vault.auto_file_threshold
    with vault.uow(read_only=True) as uow:  # one who may not file documents may not ingest: a denial, audited
        authorize(acting_user(uow, actor), Action.DOCUMENT_CREATE, object_type="ingest",
                  object_id=batch[0].relative[-64:] if len(batch) == 1 else f"{len(batch)} files")
    results = {i: _settled(f) for i, f in enumerate(batch) if f.refused or f.already}
    todo = [(i, f) for i, f in enumerate(batch) if i not in results]
    if len(todo) > 1:
        try:
            results |= _transaction(vault, actor, todo, auto_file_threshold, strict=True)
            todo = []
        except _Alone:
            pass
    for item in todo:
        results |= _transaction(vault, actor, [item], auto_file_threshold, strict=False)
    for r in results.values():
        if r.document_id is not None and r.outcome == "stored":
            schedule_index(vault, r.document_id)
    return [results[i] for i in range(len(batch))]


def _settled(found: Prepared) -> IngestResult:
    if found.refused:
        return IngestResult(found.relative, "refused", reason=found.refused)
    return IngestResult(found.relative, "duplicate", reason=found.already)


def _transaction(vault: Vault, actor: str, items: list[tuple[int, Prepared]], threshold: float, *,
                 strict: bool) -> dict[int, IngestResult]:
    out, unused = {}, []
    try:
        blobs = [vault.blobs.put([f.data]) for _, f in items]
        with vault.uow() as uow:
            for blob in blobs:
                uow.note_blob(blob.blob_id)
            user = acting_user(uow, actor)
            for (i, found), blob in zip(items, blobs):
                out[i] = _store_one(vault, uow, user, found, blob, threshold, strict=strict)
                if out[i].outcome == "duplicate":
                    unused.append(blob.blob_id)
            uow.commit()
    except ClientfolioError as exc:
        if strict:
            raise _Alone() from exc
        return {i: IngestResult(f.relative, "failed", reason=exc.message) for i, f in items}
    for blob_id in unused:  # bytes that turned out to be in already: their copy is not kept
        vault.blobs.delete(blob_id)
    return out


def _store_one(vault: Vault, uow: UnitOfWork, user, found: Prepared, blob: StoredBlob, threshold: float, *,
               strict: bool) -> IngestResult:
    again = uow.documents.any_with_content(blob.sha256)  # another process (or this batch) was faster
    if again is not None:
        return IngestResult(found.relative, "duplicate", reason=f"already stored as document {again}")
    customer, matched_by = match_customer(vault, uow, found)
    if strict and not _may_store_quietly(user, customer):
        raise _Alone()
    if customer is None:
        item = inbox.receive(uow, vault, user, blob, found.media_type, original_name=Path(found.relative).name,
                             source=str(Path(found.relative).parent), outcome=found.outcome,
                             suggestion=found.suggestion, reason="no customer matched")
        return IngestResult(found.relative, "inbox", reason=item.reason, inbox_id=item.id,
                            text_status=item.text_status, **_category(found, threshold))
    result = _file(vault, uow, user, customer, blob, found, threshold)
    result.matched_by = matched_by
    return result


def _may_store_quietly(user, customer: Customer | None) -> bool:
    """Whether storing would pass every check without a denial to record (denials are recorded one file
    at a time, outside a batch)."""
    if customer is None:
        return allows(user, Action.INBOX_USE) and not user.own_customers_only
    return customer.status == "active" and may_see_customer(user, customer)


def _file(vault: Vault, uow: UnitOfWork, user, customer: Customer, blob: StoredBlob, found: Prepared,
          threshold: float) -> IngestResult:
    chosen = _category(found, threshold)
    suggestion = found.suggestion or {}
    document, version = file_document(
        uow, vault, user, customer, blob, found.media_type, category=chosen["category"], subtype=chosen["subtype"],
        title=None, tags=suggestion.get("tags", []) if chosen["category"] != FALLBACK_CATEGORY else [],
        sensitive=None, issued_on=None, expires_on=None, paper_location=None, note="ingested",
        original_name=Path(found.relative).name, details={"ingested": True})
    if found.suggestion:
        document.suggestion = json.dumps(found.suggestion, ensure_ascii=False)
    if found.outcome is not None:
        apply_outcome(vault, uow, version, found.outcome)
        version.near_duplicate_of = near_duplicate(vault, uow, customer.id, document.id, version.text_signature)
        if found.outcome.status == "done":
            attach_proposal(vault, version, found.outcome.text, category=chosen["category"])
    return IngestResult(found.relative, "stored", document_id=document.id, customer=customer.code,
                        text_status=version.text_status, near_duplicate_of=version.near_duplicate_of,
                        reason=(f"near-duplicate of document {version.near_duplicate_of}"
                                if version.near_duplicate_of else None), **chosen)


def _category(found: Prepared, threshold: float) -> dict:
    s = found.suggestion or {}
    if s.get("category") and (s.get("confidence") or 0) >= threshold:
        return {"category": s["category"], "subtype": s.get("subtype")}
    return {"category": FALLBACK_CATEGORY, "subtype": None}


def match_customer(vault: Vault, uow: UnitOfWork, found: Prepared) -> tuple[Customer | None, str | None]:
    """Folder, then file name, then identifiers in the text; a clue naming two customers is no match."""
    clue = matching.folder_clue(found.relative)
    if clue and clue.code:
        customer = uow.customers.by_code(clue.code)
        if customer is not None and customer.status == "active":
            return customer, "folder"
    if clue and clue.name:
        named = uow.customers.by_exact_name(clue.name)
        if len(named) == 1:
            return named[0], "folder"
    code = matching.code_in_name(found.relative)
    if code:
        customer = uow.customers.by_code(code)
        if customer is not None and customer.status == "active":
            return customer, "file name"
    text = found.outcome.text if found.outcome is not None else ""
    for kind, value in matching.identifiers_in_text(text):
        owners = [c for c in uow.customers.by_identifier_hash(vault.fields.lookup_hash(kind, value))
                  if c.status == "active"]
        if len(owners) == 1:
            return owners[0], kind
    return None, None


def ingest_file(vault: Vault, actor: str, root: Path, path: Path, **options) -> IngestResult:
    return store(vault, actor, prepare(vault, root, path), **options)


def candidates(root: Path) -> list[Path]:
    """Files below root, in a stable order; hidden files and folders and partial downloads are skipped."""
    skipped_suffixes = (".part", ".tmp", ".crdownload", ".partial", ".download")
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).parts
        if any(part.startswith((".", "~$")) for part in rel) or path.name.endswith(skipped_suffixes):
            continue
        if path.is_file() and not path.is_symlink():
            found.append(path)
    return found
