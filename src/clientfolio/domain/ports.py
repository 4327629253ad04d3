"""Interfaces the services need from the outside world; adapters implement them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
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

    def open(self, blob_id: str, *, expected_sha256: str | None = None, offset: int = 0) -> Iterator[bytes]:
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


class PageRenderer(Protocol):
    """Pages of a file drawn as PNG images from its bytes in memory (never a temporary file). Raises
    errors.NoPreview for a kind of file without pages to draw, or one that cannot be drawn."""

    def can_render(self, media_type: str) -> bool: ...

    def page_count(self, data: bytes, media_type: str) -> int: ...

    def render(self, data: bytes, media_type: str, *, page: int, width: int) -> bytes:
        """Page `page` (from 1; errors.NotFound past the last) as a PNG `width` pixels wide at most."""


class TableWriter(Protocol):
    """Rows as a file a spreadsheet opens, made in memory; cells that would run as formulas are defused."""

    formats: tuple[str, ...]  # "csv", "xlsx"

    def write(self, fmt: str, header: list[str], rows: Iterable[list]) -> bytes: ...


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


class PasswordHasher(Protocol):
    """A slow, salted password hash (argon2id)."""

    def hash(self, password: str) -> str: ...

    def verify(self, stored: str, password: str) -> bool:
        """False on a mismatch or an unreadable hash; never raises for a wrong password."""

    def needs_rehash(self, stored: str) -> bool:
        """Made with parameters other than the current ones: hash again after a successful sign-in."""

    def verify_dummy(self, password: str) -> None:
        """The same work as `verify`, for a user who does not exist (no timing oracle)."""


class SecondFactor(Protocol):
    """Time-based one-time passwords (RFC 6238) and recovery codes."""

    def new_secret(self) -> str: ...

    def provisioning(self, secret: str, *, account: str, issuer: str) -> tuple[str, str]:
        """The otpauth:// URI and an SVG QR code of it."""

    def matching_step(self, secret: str, code: str, *, at: datetime, after_step: int | None) -> int | None:
        """The time step the code is valid for, if later than `after_step` (no replays); else None."""

    def recovery_codes(self, count: int = 10) -> list[str]: ...
