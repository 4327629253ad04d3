"""Keys and small-value encryption, all from `cryptography` (AES-256-GCM, HKDF-SHA256, HMAC-SHA256).

One 32-byte master key per vault. Every use gets its own subkey,
HKDF-SHA256(master, salt=None, info=b"clientfolio/v1/" + purpose), so a leak or misuse in one place
(say, lookup hashes) never exposes another (field or blob encryption). Key bytes never appear in reprs,
exceptions or logs; only `key_id()`, a keyed fingerprint, is stored to recognise the right key.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from clientfolio.adapters.fsutil import fsync_dir
from clientfolio.domain.errors import IntegrityFailure, InvalidInput, WrongKey

MASTER_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
_INFO_PREFIX = b"clientfolio/v1/"
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def generate_master_key() -> bytes:
    return os.urandom(MASTER_KEY_BYTES)


def encode_master_key(key: bytes) -> str:
    if len(key) != MASTER_KEY_BYTES:
        raise InvalidInput(f"a master key must be {MASTER_KEY_BYTES} bytes, not {len(key)}")
    return base64.urlsafe_b64encode(key).rstrip(b"=").decode("ascii")


def decode_master_key(text: str) -> bytes:
    """Accept base64url with or without padding; the messages never echo the key text."""
    cleaned = "".join(text.split())
    if not _B64URL.fullmatch(cleaned):
        raise WrongKey("the master key is malformed: expected base64url text (A-Z a-z 0-9 - _)")
    try:
        key = base64.urlsafe_b64decode(cleaned.rstrip("=") + "=" * (-len(cleaned.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise WrongKey("the master key is malformed: not valid base64url") from None
    if len(key) != MASTER_KEY_BYTES:
        raise WrongKey(f"the master key must decode to {MASTER_KEY_BYTES} bytes, it decodes to {len(key)}")
    return key


def write_key_file(path: Path, key: bytes) -> None:
    """Create `path` readable by its owner only; never replace an existing key (that would orphan a vault)."""
    path = Path(path)
    data = (encode_master_key(key) + "\n").encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(f"key file {path} already exists; refusing to overwrite it") from None
    try:
        os.fchmod(fd, 0o600)  # the umask may only narrow the mode, but be explicit
        os.write(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)  # never leave a half-written key behind
        raise
    os.close(fd)
    fsync_dir(path.parent)


def read_key_file(path: Path) -> bytes:
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise WrongKey(f"no key file at {path}") from None
    if os.name == "posix" and stat.S_IMODE(info.st_mode) & ~0o600:
        raise WrongKey(f"key file {path} has mode {stat.S_IMODE(info.st_mode):04o}, which lets others read it; "
                       f"run `chmod 600 {path}`")
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        raise WrongKey(f"key file {path} is unreadable or not base64url text") from None
    return decode_master_key(text)


class Keyring:
    """Derives one independent subkey per purpose from the master key."""

    def __init__(self, master_key: bytes):
        if len(master_key) != MASTER_KEY_BYTES:
            raise WrongKey(f"the master key must be {MASTER_KEY_BYTES} bytes, not {len(master_key)}")
        self._master = bytes(master_key)
        self._subkeys: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"Keyring(key_id={self.key_id()!r})"

    def subkey(self, purpose: str) -> bytes:
        if purpose not in self._subkeys:
            hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO_PREFIX + purpose.encode())
            self._subkeys[purpose] = hkdf.derive(self._master)
        return self._subkeys[purpose]

    def mac(self, purpose: str, data: bytes) -> bytes:
        h = hmac.HMAC(self.subkey(purpose), hashes.SHA256())
        h.update(data)
        return h.finalize()

    def key_id(self) -> str:
        """A non-secret fingerprint of the master key, stored so a wrong key is detected up front."""
        return self.mac("key-id", b"clientfolio").hex()[:16]


class FieldCipher:
    """AES-256-GCM for small values; `context` (where the value lives) is bound as associated data,
    so a sealed value copied to another row or column fails to open."""

    def __init__(self, keyring: Keyring):
        self._keyring = keyring
        self._aead = AESGCM(keyring.subkey("field"))

    def __repr__(self) -> str:
        return f"FieldCipher(key_id={self._keyring.key_id()!r})"

    def seal(self, plaintext: str, *, context: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))

    def open(self, sealed: bytes, *, context: str) -> str:
        if len(sealed) < NONCE_BYTES + TAG_BYTES:
            raise IntegrityFailure("integrity check failed: sealed value is too short")
        try:
            data = self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode("utf-8"))
        except InvalidTag:
            raise IntegrityFailure("integrity check failed: sealed value was altered, moved, "
                                   "or sealed under another key") from None
        return data.decode("utf-8")

    def lookup_hash(self, kind: str, normalized: str) -> str:
        """Equal values of one kind give equal hashes (exact-match search) without storing the value."""
        return self._keyring.mac("lookup", f"{kind}\x00{normalized}".encode("utf-8")).hex()
