"""The audit head anchor: the newest (seq, hash) this machine saw committed, kept outside the database.

A hash chain alone cannot show that its newest events were deleted. The anchor can: `audit verify`
fails when the database's chain ends before the anchored event or disagrees with its hash. The anchor is
MAC'd under a key derived from the master key, so it cannot be forged; it only ever moves forward.
"""

from __future__ import annotations

import hmac
import os
import time
from pathlib import Path

from clientfolio.adapters.crypto import Keyring


class AuditAnchor:
    def __init__(self, path: Path, keyring: Keyring):
        self.path = path
        self._key = keyring.subkey("audit-anchor")

    def _mac(self, seq: int, head: str) -> str:
        return hmac.new(self._key, f"{seq}:{head}".encode(), "sha256").hexdigest()

    def read(self) -> tuple[int, str] | None:
        """The anchored head, or None if there is none or it is not authentic (then it is ignored)."""
        try:
            seq_text, head, mac = self.path.read_text().split()
            seq = int(seq_text)
        except (FileNotFoundError, ValueError):
            return None
        return (seq, head) if hmac.compare_digest(mac, self._mac(seq, head)) else None

    def advance(self, seq: int, head: str) -> None:
        """Move the anchor forward (never back); atomic replace, so readers never see half a file."""
        current = self.read()
        if current is not None and current[0] >= seq:
            return
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        try:
            tmp.write_text(f"{seq} {head} {self._mac(seq, head)}\n")
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)  # best effort: a lagging anchor is still a valid lower bound
        self._remove_stale_temps()

    def _remove_stale_temps(self, older_than: float = 3600) -> None:
        """Temp files of processes killed between write and rename (never one still being written)."""
        for path in self.path.parent.glob(f".{self.path.name}.*"):
            try:
                if time.time() - path.stat().st_mtime > older_than:
                    path.unlink()
            except OSError:
                pass
