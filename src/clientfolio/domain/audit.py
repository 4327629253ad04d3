"""The audit trail as a keyed hash chain.

Each event's hash is HMAC-SHA256(audit key, previous hash || canonical event). Editing, deleting,
inserting or reordering any row breaks the chain from that row on; because the hash is keyed by a
key derived from the master key, someone with write access to the database alone cannot re-forge a
consistent chain after tampering.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

GENESIS = "0" * 64


class AuditEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    customer_code: str | None
    outcome: str
    details: str  # canonical JSON of field names and non-secret facts
    prev_hash: str
    hash: str

    def __init__(self, *, seq: int, at: datetime, actor: str, action: str, object_type: str,
                 object_id: str, customer_code: str | None, outcome: str, details: dict,
                 prev_hash: str, key: bytes):
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.object_type = object_type
        self.object_id = object_id
        self.customer_code = customer_code
        self.outcome = outcome
        self.details = canonical_json(details)
        self.prev_hash = prev_hash
        self.hash = chain_hash(key, prev_hash, canonical_event(self))


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def format_time(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_event(event) -> bytes:
    """The bytes the chain covers: every column but the hashes, in a fixed order."""
    return canonical_json([event.seq, format_time(event.at), event.actor, event.action,
                           event.object_type, event.object_id, event.customer_code, event.outcome,
                           event.details]).encode()


def chain_hash(key: bytes, prev_hash: str, canonical: bytes) -> str:
    return hmac.new(key, prev_hash.encode() + canonical, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head_hash: str = GENESIS


def verify_chain(key: bytes, events: Iterable, anchor: tuple[int, str] | None = None) -> ChainReport:
    """Walk events in seq order; name the first one whose link or hash does not hold.

    `anchor` is the newest (seq, hash) known to have been committed, kept outside the database: a chain
    that ends before it, or disagrees with it, has lost its newest events.
    """
    prev, expected_seq, count = GENESIS, 1, 0
    for event in events:
        if event.seq != expected_seq:
            why = "a row is missing" if event.seq > expected_seq else "rows are out of order"
            return ChainReport(False, count, expected_seq, f"sequence gap: {why} at {expected_seq}", prev)
        if event.prev_hash != prev:
            return ChainReport(False, count, event.seq, "link to the previous event is broken", prev)
        if not hmac.compare_digest(chain_hash(key, prev, canonical_event(event)), event.hash):
            return ChainReport(False, count, event.seq, "event content does not match its hash", prev)
        if anchor is not None and event.seq == anchor[0] and event.hash != anchor[1]:
            return ChainReport(False, count, event.seq, "event differs from the anchored head", prev)
        prev, expected_seq, count = event.hash, expected_seq + 1, count + 1
    if anchor is not None and anchor[0] > count:
        return ChainReport(False, count, count + 1,
                           f"the trail ends at event {count} but event {anchor[0]} was committed: "
                           "the newest events were deleted", prev)
    return ChainReport(True, count, head_hash=prev)
