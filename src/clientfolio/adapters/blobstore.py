"""LocalBlobStore: encrypted, immutable files in a local folder.

Layout: `root/<id[0:2]>/<id[2:4]>/<id>`, where the id is a random uuid4 hex (never derived from the
content, so equal files do not reveal themselves). Files are written in `root/.tmp/`, fsynced and renamed
into place, so a crash leaves at most a stale temp file, never a half-written blob under its name.

File format, version 1 (all integers big-endian):

    header  = b"CFB1" | format = 1 (1 byte) | chunk size (4) | wrap nonce (12)
            | wrapped data key (48) | nonce prefix (7)                                      76 bytes
    chunk i = AES-256-GCM(data key, nonce = prefix | i (4) | last (1),
                          plaintext piece, aad = header | blob id)                   piece + 16 bytes

The data key is 32 fresh random bytes per file, wrapped with AES-256-GCM under the keyring's "blob-kek"
subkey with aad b"dek:" + blob id. Every piece is `chunk size` bytes except the final one (1..chunk size
bytes; an empty file is exactly one empty final chunk), and only the final chunk has last = 1.

This is the STREAM construction (online authenticated encryption, as in Tink's streaming AEAD): any size
is written and read in O(chunk size) memory; reordered or dropped chunks break the counter, truncation
loses the chunk with last = 1, appended bytes follow it, and a file moved to another id fails the key
unwrap because the id is bound as associated data.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clientfolio.adapters.crypto import Keyring
from clientfolio.adapters.fsutil import fsync_dir
from clientfolio.domain.errors import BlobMissing, IntegrityFailure, InvalidInput, NotFound
from clientfolio.domain.ports import StoredBlob

MAGIC = b"CFB1"
FORMAT = 1
TAG = 16
HEADER = struct.Struct(f">4sBI12s{32 + TAG}s7s")
MAX_CHUNK_SIZE = 64 << 20  # bounds what a damaged header can make us read into memory
_MAX_CHUNKS = 1 << 32  # the counter is 4 bytes; a nonce must never repeat under one data key
_BLOB_ID = re.compile(r"[0-9a-f]{32}")


class LocalBlobStore:
    def __init__(self, root: Path, keyring: Keyring, *, chunk_size: int = 1 << 20, durable: bool = True):
        if not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise InvalidInput(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE} bytes")
        self.root = Path(root)
        self.chunk_size = chunk_size
        self.durable = durable
        self._tmp = self.root / ".tmp"
        self._kek = AESGCM(keyring.subkey("blob-kek"))

    def __repr__(self) -> str:
        return f"LocalBlobStore(root={str(self.root)!r})"

    # -- paths and housekeeping --------------------------------------------------------------------
    def relative_path(self, blob_id: str) -> str:
        _check_id(blob_id)
        return f"{blob_id[:2]}/{blob_id[2:4]}/{blob_id}"

    def raw_path(self, blob_id: str) -> Path:
        """Where the encrypted file lives (backups copy it as it is)."""
        return self.root / self.relative_path(blob_id)

    def exists(self, blob_id: str) -> bool:
        return _BLOB_ID.fullmatch(blob_id) is not None and self.raw_path(blob_id).is_file()

    def age_seconds(self, blob_id: str) -> float:
        """Seconds since the blob was written (the check command spares young orphans)."""
        try:
            return time.time() - self.raw_path(blob_id).stat().st_mtime
        except FileNotFoundError:
            raise BlobMissing(f"blob {blob_id} is missing") from None

    def delete(self, blob_id: str) -> None:
        self.raw_path(blob_id).unlink(missing_ok=True)

    def ids(self) -> Iterator[str]:
        for first in _subdirs(self.root):
            for second in _subdirs(first):
                for entry in sorted(os.scandir(second), key=lambda e: e.name):
                    name = entry.name
                    if _BLOB_ID.fullmatch(name) and name.startswith(first.name + second.name) and entry.is_file():
                        yield name

    def stale_temp_files(self) -> list[Path]:
        """Temp files left by a crash (or by a put still running: callers decide by age)."""
        return sorted(p for p in self._tmp.iterdir() if p.is_file()) if self._tmp.is_dir() else []

    # -- writing -----------------------------------------------------------------------------------
    def put(self, chunks: Iterable[bytes]) -> StoredBlob:
        """Encrypt while streaming into a temp file; fsync and rename into place before returning."""
        blob_id = uuid.uuid4().hex
        self._tmp.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp / f"{blob_id}.part"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                size, sha256 = self._write_stream(out, blob_id, chunks)
                out.flush()
                if self.durable:
                    os.fsync(out.fileno())
            final = self.raw_path(blob_id)
            self._make_dirs(final.parent)
            os.replace(tmp, final)
            if self.durable:
                fsync_dir(final.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return StoredBlob(blob_id, size, sha256)

    def _write_stream(self, out, blob_id: str, chunks: Iterable[bytes]) -> tuple[int, str]:
        data_key, wrap_nonce, prefix = AESGCM.generate_key(256), os.urandom(12), os.urandom(7)
        wrapped = self._kek.encrypt(wrap_nonce, data_key, b"dek:" + blob_id.encode())
        header = HEADER.pack(MAGIC, FORMAT, self.chunk_size, wrap_nonce, wrapped, prefix)
        aead, aad = AESGCM(data_key), header + blob_id.encode()
        out.write(header)
        digest, size = hashlib.sha256(), 0
        for counter, (piece, last) in enumerate(_rechunk(chunks, self.chunk_size)):
            if counter >= _MAX_CHUNKS:
                raise InvalidInput("file too large for this chunk size")
            digest.update(piece)
            size += len(piece)
            out.write(aead.encrypt(_nonce(prefix, counter, last), piece, aad))
        return size, digest.hexdigest()

    def _make_dirs(self, directory: Path) -> None:
        """Create the two fan-out levels; fsync each new entry's parent so the rename below survives a crash."""
        for level in (directory.parent, directory):
            if not level.is_dir():
                level.mkdir(parents=True, exist_ok=True)
                if self.durable:
                    fsync_dir(level.parent)

    # -- reading -----------------------------------------------------------------------------------
    def open(self, blob_id: str, *, expected_sha256: str | None = None, offset: int = 0) -> Iterator[bytes]:
        """Yield authenticated plaintext chunks; damage of any kind raises IntegrityFailure.

        Chunks are yielded as they verify, so a consumer may see early chunks before a later failure or
        a digest mismatch: stream to a place that is discarded on error (an HTTP response that aborts).
        From an `offset` (a Range request), reading starts at the chunk holding it: every chunk read is still
        authenticated, truncation still detected, but the whole-file SHA-256 cannot be, so it is not checked.
        """
        path = self.raw_path(blob_id)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"blob {blob_id} is missing") from None
        with f:
            aead, aad, prefix, chunk_size = self._read_header(blob_id, f.read(HEADER.size))
            digest, sealed_size = hashlib.sha256(), chunk_size + TAG
            counter, skip = divmod(max(0, offset), chunk_size)
            if counter:
                f.seek(HEADER.size + counter * sealed_size)
                expected_sha256 = None
            current = f.read(sealed_size)
            if counter and not current:
                return  # at or past the end
            while True:
                # A full chunk is the last one only if nothing follows it: read one ahead to know.
                following = f.read(sealed_size) if len(current) == sealed_size else b""
                last = not following
                piece = _open_chunk(aead, _nonce(prefix, counter, last), current, aad, blob_id, counter)
                digest.update(piece)
                if skip:
                    piece, skip, expected_sha256 = piece[skip:], 0, None
                yield piece
                if last:
                    break
                current, counter = following, counter + 1
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256.lower():
            raise IntegrityFailure(f"integrity check failed: blob {blob_id} does not match its recorded SHA-256")

    def read(self, blob_id: str, *, expected_sha256: str | None = None) -> bytes:
        return b"".join(self.open(blob_id, expected_sha256=expected_sha256))

    def verify(self, blob_id: str, *, expected_sha256: str | None = None) -> int:
        return sum(len(piece) for piece in self.open(blob_id, expected_sha256=expected_sha256))

    def _read_header(self, blob_id: str, header: bytes) -> tuple[AESGCM, bytes, bytes, int]:
        if len(header) != HEADER.size:
            raise IntegrityFailure(f"integrity check failed: blob {blob_id} is truncated (short header)")
        magic, fmt, chunk_size, wrap_nonce, wrapped, prefix = HEADER.unpack(header)
        if magic != MAGIC or fmt != FORMAT or not 0 < chunk_size <= MAX_CHUNK_SIZE:
            raise IntegrityFailure(f"integrity check failed: blob {blob_id} has a damaged header")
        try:
            data_key = self._kek.decrypt(wrap_nonce, wrapped, b"dek:" + blob_id.encode())
        except InvalidTag:
            raise IntegrityFailure(f"integrity check failed: blob {blob_id} data key does not unwrap "
                                   "(damaged header, file moved from another id, or another master key)") from None
        return AESGCM(data_key), header + blob_id.encode(), prefix, chunk_size


def _check_id(blob_id: str) -> None:
    if not isinstance(blob_id, str) or not _BLOB_ID.fullmatch(blob_id):
        raise NotFound("no such blob")  # hostile ids ("../x") never reach the file system


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def _open_chunk(aead: AESGCM, nonce: bytes, sealed: bytes, aad: bytes, blob_id: str, counter: int) -> bytes:
    try:
        return aead.decrypt(nonce, sealed, aad)
    except InvalidTag:
        raise IntegrityFailure(f"integrity check failed: blob {blob_id} chunk {counter} "
                               "(altered, reordered, truncated or extended)") from None


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """Pieces of exactly `size` bytes flagged (piece, is_last); the last holds 1..size bytes (0 if empty input).

    A piece is released only once a byte beyond it has arrived, so the final piece is never followed by an
    empty one. Offsets into the buffer avoid re-copying it when a caller hands over one huge bytes object.
    """
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > size:
            start = 0
            with memoryview(buffer) as view:
                while len(buffer) - start > size:
                    yield bytes(view[start:start + size]), False
                    start += size
            del buffer[:start]
    yield bytes(buffer), True


def _subdirs(directory: Path) -> list[Path]:
    """Sorted two-hex-digit fan-out folders (skips .tmp and anything else)."""
    if not directory.is_dir():
        return []
    return sorted(Path(e.path) for e in os.scandir(directory)
                  if len(e.name) == 2 and all(c in "0123456789abcdef" for c in e.name) and e.is_dir())

