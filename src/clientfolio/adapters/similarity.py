"""Near-duplicate detection without text at rest: a keyed MinHash signature of a document's text.

A re-scan of a paper already in the vault has a different SHA-256 (other pixels) but nearly the same text.
The signature is a MinHash (datasketch) over character 4-grams of the normalized text, each shingle hashed
with BLAKE2b under a key derived from the master key, so the stored signature reveals no shingle and cannot
be compared against signatures someone computes from guessed text without the key.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

NUM_PERM = 128
SHINGLE = 4
MIN_CHARS = 40  # shorter texts (a photo with a few words) give no signature: too little to compare
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


class KeyedMinHash:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("similarity key too short")
        self._key = key[:64]

    def _hash(self, shingle: bytes) -> int:
        return int.from_bytes(hashlib.blake2b(shingle, key=self._key, digest_size=4).digest(), "little")

    def signature(self, text: str) -> bytes | None:
        flat = _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())
        if len(flat) < MIN_CHARS:
            return None
        from datasketch import MinHash  # imports scipy (2 s): only the text jobs that sign pay for it

        m = MinHash(num_perm=NUM_PERM, hashfunc=self._hash)
        m.update_batch(flat[i:i + SHINGLE].encode("utf-8") for i in range(len(flat) - SHINGLE + 1))
        return m.hashvalues.astype("<u4").tobytes()

    @staticmethod
    def similarity(a: bytes, b: bytes) -> float:
        """Estimated Jaccard similarity of the two texts' shingle sets (0..1)."""
        va, vb = np.frombuffer(a, dtype="<u4"), np.frombuffer(b, dtype="<u4")
        if va.shape != vb.shape or not len(va):
            return 0.0
        return float(np.count_nonzero(va == vb)) / len(va)
