"""Webhooks, pure rules: which audited actions become which events, how a payload is signed, when a failed
delivery is tried again, and which endpoint addresses are acceptable.

Events are read from the audit trail (an outbox that already commits with every change), so no service has to
remember to raise them and a dead endpoint can never hold up the action that caused one.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import timedelta
from urllib.parse import urlsplit

from clientfolio.domain.errors import InvalidInput

# audit action -> webhook event
EVENTS_BY_ACTION = {
    "customer.create": "customer.created",
    "customer.edit": "customer.changed",
    "customer.reviewed": "customer.changed",
    "customer.merge": "customer.changed",
    "document.create": "document.added",
    "document.edit": "document.changed",
    "document.filing_confirm": "document.changed",
    "document.delete": "document.changed",
    "document.undelete": "document.changed",
    "version.add": "version.added",
    "version.restore": "version.added",
}
EXPIRING = "document.expiring"
EVENT_TYPES = tuple(sorted({*EVENTS_BY_ACTION.values(), EXPIRING}))
EXPIRING_WITHIN_DAYS = 30

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)
SIGNATURE_HEADER = "X-Clientfolio-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300  # what receivers are told to accept: replayed older deliveries are refused


def retry_delay(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failure: 30 s, 1 min, 2 min, ... at most 6 h."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), LONGEST_WAIT)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`: the timestamp is signed with the body,
    so a receiver that checks it (within SIGNATURE_TOLERANCE_SECONDS) is safe from replays."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, now: int) -> bool:
    """What a receiver does (and what the tests do, as one)."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def check_url(url: str) -> str:
    """HTTPS anywhere, or plain HTTP to this machine only; nothing with credentials in it."""
    if not isinstance(url, str) or len(url) > 2000 or any(ch.isspace() for ch in url):
        raise InvalidInput("the webhook address must be a URL of at most 2,000 characters without spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput("the webhook address must start with https:// (or http:// to this machine)")
    if parts.username or parts.password:
        raise InvalidInput("put no user name or password in the webhook address; payloads are signed instead")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise InvalidInput("plain http:// is allowed only to this machine (127.0.0.1, ::1, localhost): use https://")
    return url


def check_events(events: list[str] | None) -> list[str]:
    chosen = sorted(set(events or EVENT_TYPES))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise InvalidInput(f"unknown webhook event {unknown[0]!r}; known: {', '.join(EVENT_TYPES)}")
    return chosen


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
