"""Interfaces the services need from the outside world; adapters implement them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from clientfolio.domain.classification import Suggestion


@dataclass(frozen=True)
class StoredBlob:
    blob_id: str
    size: int
    sha256: str  # hex digest of the plaintext


class BlobStore(Protocol):
    def put(self, chunks: Iterable[bytes]) -> StoredBlob:
        """Encrypt and durably write (temp file, fsync, rename) before returning."""

    def open(self, blob_id: str, *, expected_sha256: str | None = None) -> Iterator[bytes]:
        """Yield verified plaintext chunks; raise IntegrityFailure / BlobMissing."""

    def verify(self, blob_id: str, *, expected_sha256: str | None = None) -> int:
        """Read through and check every tag (and the digest); return the plaintext size."""

    def exists(self, blob_id: str) -> bool: ...

    def delete(self, blob_id: str) -> None: ...

    def ids(self) -> Iterator[str]: ...


class FieldCipher(Protocol):
    """Seals small values (identifiers, contact details) bound to where they live."""

    def seal(self, plaintext: str, *, context: str) -> bytes: ...

    def open(self, sealed: bytes, *, context: str) -> str: ...

    def lookup_hash(self, kind: str, normalized: str) -> str: ...


class ExtractionResult(Protocol):
    status: str  # ok | needs_password | failed | refused
    message: str | None
    page_count: int

    @property
    def text(self) -> str: ...

    @property
    def mean_confidence(self) -> float | None: ...


class TextExtractor(Protocol):
    """Text from a file's bytes, in memory only (OCR included): never a temporary file."""

    max_bytes: int

    def extract(self, data: bytes, media_type: str) -> ExtractionResult: ...

    def rendition(self, data: bytes, media_type: str) -> bytes | None:
        """An archival PDF for an image (lossless), else None."""


class JobQueue(Protocol):
    def enqueue(self, kind: str, **args) -> None: ...


class TextSignature(Protocol):
    """A keyed similarity signature of a text: equal-ish texts give close signatures, and none reveals a word."""

    def signature(self, text: str) -> bytes | None: ...

    def similarity(self, a: bytes, b: bytes) -> float: ...


class DocumentClassifier(Protocol):
    """Rules plus a model learned from filed documents; the model sees keyed hashes of tokens only and is
    saved encrypted. Labels are "category/subtype" ("category/" when there is no subtype)."""

    def suggest(self, text: str, file_name: str = "") -> Suggestion | None: ...

    def evaluate(self, texts: list[str], labels: list[str], *, holdout: float = 0.25) -> dict:
        """Learn from a stratified part, report accuracy on the rest; nothing is saved."""

    def fit_and_save(self, texts: list[str], labels: list[str], tags: list[tuple[str, ...]]) -> dict:
        """Learn from all of them and write the encrypted model (atomically)."""

    def has_model(self) -> bool: ...
