"""Version use cases: add a version, history, read any version, restore, diff."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from clientfolio.domain import media
from clientfolio.domain.errors import InvalidInput, NotFound
from clientfolio.domain.model import User, utcnow
from clientfolio.domain.policy import Action
from clientfolio.domain.ports import StoredBlob
from clientfolio.services.content import read_verified, store_stream
from clientfolio.services.context import UnitOfWork, Vault, acting_user, authorize, document_or_404
from clientfolio.services.documents import (new_version, refuse_duplicate, canonical_name,
                                            document_view, open_original_name)
from clientfolio.services.textjobs import schedule_index, schedule_text
from clientfolio.services.views import DocumentView, VersionView

TEXT_DIFF_LIMIT = 5 * 1024 * 1024  # larger text files get a metadata diff only


def add_version(*, vault: Vault, actor: str, document_id: int, content: Iterable[bytes],
                original_name: str | None = None, note: str | None = None,
                allow_duplicate: bool = False) -> DocumentView:
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_EDIT, customer=customer, document=document)
    blob, media_type = store_stream(vault, content)
    with vault.uow() as uow:
        uow.note_blob(blob.blob_id)
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_EDIT, customer=customer, document=document)
        if blob.sha256 == document.latest.sha256:
            raise InvalidInput(f"no change: the content is identical to version {document.latest.number}")
        if not allow_duplicate:
            refuse_duplicate(uow, customer.id, blob.sha256)
        version = new_version(vault, document, blob, media_type, user, original_name, note)
        document.versions.append(version)
        uow.record(actor=user.name, action="version.add", object_type="document", object_id=document.id,
                   customer_code=customer.code,
                   details={"version": version.number, "sha256": blob.sha256, "size": blob.size,
                            "media_type": media_type})
        uow.commit()
        view, version_id = document_view(vault, document, customer), version.id
    schedule_text(vault, version_id)
    return view


def list_versions(*, vault: Vault, actor: str, document_id: int) -> list[VersionView]:
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        names = uow.users.names({v.uploaded_by for v in document.versions})
        return [_version_view(vault, document, customer, v, names) for v in document.versions]


@dataclass
class Download:
    version: VersionView
    chunks: Iterator[bytes]


def read_version(*, vault: Vault, actor: str, document_id: int, version: int | None = None,
                 offset: int = 0) -> Download:
    """The bytes of a version (from `offset`, for a Range request), verified as they stream; the read is
    audited before it starts."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer, chosen = readable_version(uow, user, document_id, version)
        audit = dict(actor=user.name, action="document.read", object_type="document",
                     object_id=str(document.id), customer_code=customer.code)
        uow.record(**audit, details={"version": chosen.number, **({"offset": offset} if offset else {})})
        uow.commit()
        view = _version_view(vault, document, customer, chosen, uow.users.names({chosen.uploaded_by}))
    return Download(view, read_verified(vault, blob_id=chosen.blob_id, sha256=chosen.sha256,
                                        audit={**audit, "action": "document.read"}, offset=offset))


def read_text(*, vault: Vault, actor: str, document_id: int, version: int | None = None) -> str | None:
    """The text read from a version (its text layer, OCR, or a Word/Excel file's words), decrypted in memory for
    a page to show; None while nothing has been read. Audited like any read of the content."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer, chosen = readable_version(uow, user, document_id, version)
        if not chosen.text_blob_id:
            return None
        uow.record(actor=user.name, action="document.read_text", object_type="document", object_id=str(document.id),
                   customer_code=customer.code, details={"version": chosen.number})
        uow.commit()
        blob_id = chosen.text_blob_id
    return vault.blobs.read(blob_id).decode("utf-8", errors="replace")


def readable_version(uow: UnitOfWork, user: User, document_id: int, number: int | None):
    """(document, customer, version) if the user may read the content of that version (latest: None)."""
    document, customer = document_or_404(uow, user, document_id)
    authorize(user, Action.DOCUMENT_READ_CONTENT, customer=customer, document=document)
    return document, customer, _version(document, number)


def version_size(*, vault: Vault, actor: str, document_id: int, version: int | None = None) -> int:
    """The byte size of a version (metadata: what a Range request is checked against)."""
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        document, _ = document_or_404(uow, user, document_id)
        return _version(document, version).size


def restore_version(*, vault: Vault, actor: str, document_id: int, version: int) -> DocumentView:
    """A new version with the old bytes (sharing the old blob): history is never rewritten."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_RESTORE, customer=customer, document=document)
        old = _version(document, version)
        if old.number == document.latest.number:
            raise InvalidInput(f"version {version} is already the current version")
        vault.blobs.verify(old.blob_id, expected_sha256=old.sha256)  # never restore damaged bytes
        blob = StoredBlob(old.blob_id, old.size, old.sha256)
        new = new_version(vault, document, blob, old.media_type, user, None, f"restored from version {old.number}")
        new.original_name_sealed = old.original_name_sealed
        for field in ("text_status", "text_blob_id", "text_confidence", "text_pages", "text_error",
                      "rendition_blob_id"):  # same bytes, same extracted text: share it too
            setattr(new, field, getattr(old, field))
        document.versions.append(new)
        document.updated_at = utcnow()
        uow.record(actor=user.name, action="version.restore", object_type="document", object_id=document.id,
                   customer_code=customer.code,
                   details={"from_version": old.number, "version": new.number, "sha256": old.sha256})
        uow.commit()
        view = document_view(vault, document, customer)
    schedule_index(vault, document_id)
    return view


@dataclass
class VersionDiff:
    document_id: int
    a: VersionView
    b: VersionView
    changed_fields: list[str]
    text_diff: list[str] | None  # unified diff lines, when both versions are text
    note: str | None = None

    def to_dict(self) -> dict:
        return {"document_id": self.document_id, "a": self.a.to_dict(), "b": self.b.to_dict(),
                "changed_fields": self.changed_fields, "text_diff": self.text_diff, "note": self.note}


def diff_versions(*, vault: Vault, actor: str, document_id: int, a: int, b: int) -> VersionDiff:
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_READ_CONTENT, customer=customer, document=document)
        va, vb = _version(document, a), _version(document, b)
        names = uow.users.names({va.uploaded_by, vb.uploaded_by})
        view_a, view_b = (_version_view(vault, document, customer, v, names) for v in (va, vb))
        audit = dict(actor=user.name, action="document.diff", object_type="document",
                     object_id=str(document.id), customer_code=customer.code)
        uow.record(**audit, details={"versions": [a, b]})
        uow.commit()
    fields = [f for f in ("sha256", "size", "media_type", "original_name", "uploaded_by", "note")
              if getattr(view_a, f) != getattr(view_b, f)]
    if not (media.is_text(va.media_type) and media.is_text(vb.media_type)):
        return VersionDiff(document_id, view_a, view_b, fields, None, "not text: metadata compared only")
    if max(va.size, vb.size) > TEXT_DIFF_LIMIT:
        return VersionDiff(document_id, view_a, view_b, fields, None, "text too large to compare line by line")
    texts = [b"".join(read_verified(vault, blob_id=v.blob_id, sha256=v.sha256, audit=audit))
             .decode("utf-8", errors="replace").splitlines() for v in (va, vb)]
    lines = list(difflib.unified_diff(texts[0], texts[1], f"v{a}", f"v{b}", lineterm=""))
    return VersionDiff(document_id, view_a, view_b, fields, lines)


def _version(document, number: int | None):
    if number is None:
        return document.latest
    found = document.version(number)
    if found is None:
        raise NotFound(f"document {document.id} has no version {number}")
    return found


def _version_view(vault: Vault, document, customer, version, names: dict[int, str]) -> VersionView:
    return VersionView(
        version=version.number, sha256=version.sha256, size=version.size, media_type=version.media_type,
        original_name=open_original_name(vault, version),
        canonical_name=canonical_name(vault, document, customer, version),
        uploaded_by=names.get(version.uploaded_by), uploaded_at=version.uploaded_at, note=version.note,
        text_status=version.text_status, text_confidence=version.text_confidence, text_error=version.text_error,
        near_duplicate_of=version.near_duplicate_of)
