"""Streaming content in and out of the blob store: size limits, sniffing, audited integrity failures."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from clientfolio.domain import media
from clientfolio.domain.errors import IntegrityFailure, InvalidInput, TooLarge
from clientfolio.domain.ports import StoredBlob
from clientfolio.services.context import Vault


def store_stream(vault: Vault, chunks: Iterable[bytes]) -> tuple[StoredBlob, str]:
    """Sniff the media type from the first bytes, enforce the size limit while streaming, store."""
    stream = iter(chunks)
    head, first = b"", []
    for chunk in stream:
        first.append(chunk)
        head += chunk[: media.SNIFF_BYTES]
        if len(head) >= media.SNIFF_BYTES:
            break
    if not any(first):
        raise InvalidInput("refused: the file is empty")
    media_type = media.sniff(head)
    media.refuse_unwanted(media_type)
    blob = vault.blobs.put(_limited(itertools.chain(first, stream), vault.max_upload_bytes))
    return blob, media_type


def _limited(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise TooLarge(f"refused: the file is larger than the limit of {limit:,} bytes")
        yield chunk


def read_verified(vault: Vault, *, blob_id: str, sha256: str, audit: dict, offset: int = 0) -> Iterator[bytes]:
    """Yield plaintext (from `offset`); on a failed check, record an integrity event and raise (never wrong
    bytes)."""
    try:
        yield from vault.blobs.open(blob_id, expected_sha256=sha256, offset=offset)
    except IntegrityFailure as exc:
        with vault.uow() as uow:
            uow.record(**audit, outcome="integrity-failed", details={"error": exc.message})
            uow.commit()
        raise


def file_chunks(fileobj, size: int = 1 << 20) -> Iterator[bytes]:
    while chunk := fileobj.read(size):
        yield chunk
