"""Webhooks: administrators register endpoints; the worker turns audited actions (and documents about to
expire) into signed deliveries and sends them with retries and back-off. A dead endpoint only ever delays its
own deliveries: the actions that raised the events committed long before."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from clientfolio.domain import webhooks as rules
from clientfolio.domain.errors import NotFound
from clientfolio.domain.model import utcnow
from clientfolio.domain.policy import Action
from clientfolio.services.context import Vault, acting_user, authorize
from clientfolio.services.views import Page, View

CURSOR = "webhooks.audit_seq"
EXPIRY_SCAN = "webhooks.expiry_scanned_at"
BATCH = 500
LEASE = timedelta(minutes=2)  # a claimed delivery is not sent by another worker meanwhile
_URL, _SECRET = "webhook-url", "webhook-secret"


@dataclass
class WebhookView(View):
    id: int
    endpoint: str  # scheme://host:port: the full address (which may carry a key) is shown only once
    events: list[str]
    description: str
    active: bool
    created_at: datetime


@dataclass
class NewWebhook(View):
    secret: str = field(repr=False)  # shown once: receivers check X-Clientfolio-Signature with it
    webhook: WebhookView | None = None


@dataclass
class DeliveryView(View):
    id: int
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict


def register_webhook(*, vault: Vault, actor: str, url: str, events: list[str] | None = None,
                     description: str = "") -> NewWebhook:
    url, chosen = rules.check_url(url), rules.check_events(events)
    secret = "whsec_" + secrets.token_urlsafe(32)
    now = utcnow()
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.WEBHOOK_MANAGE, object_type="webhook", object_id="new")
        head = uow.audit.head()[0]
        if uow.meta.get(CURSOR) is None:
            uow.meta.set(CURSOR, str(head))
        parts = urlsplit(url)
        endpoint = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        webhook_id = uow.webhooks.add(
            url_sealed=vault.fields.seal(url, context=_URL), secret_sealed=vault.fields.seal(secret, context=_SECRET),
            endpoint=endpoint, events=json.dumps(chosen), description=(description or "")[:200], active=True,
            after_seq=head, created_by=user.id, created_at=now)
        uow.record(actor=user.name, action="webhook.create", object_type="webhook", object_id=str(webhook_id),
                   details={"endpoint": endpoint, "events": chosen})
        uow.commit()
        return NewWebhook(secret=secret, webhook=_view(uow.webhooks.get(webhook_id)))


def list_webhooks(*, vault: Vault, actor: str, include_removed: bool = False) -> list[WebhookView]:
    with vault.uow() as uow:
        authorize(acting_user(uow, actor), Action.WEBHOOK_MANAGE, object_type="webhook", object_id="*")
        return [_view(row) for row in uow.webhooks.list(include_removed=include_removed)]


def remove_webhook(*, vault: Vault, actor: str, webhook_id: int) -> WebhookView:
    """Stop sending to it (its delivery history stays)."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.WEBHOOK_MANAGE, object_type="webhook", object_id=str(webhook_id))
        row = _webhook_or_404(uow, webhook_id)
        uow.webhooks.remove(row.id, utcnow())
        uow.record(actor=user.name, action="webhook.remove", object_type="webhook", object_id=str(row.id),
                   details={"endpoint": row.endpoint})
        uow.commit()
        return _view(uow.webhooks.get(row.id))


def list_deliveries(*, vault: Vault, actor: str, webhook_id: int, limit: int = 50, offset: int = 0) -> Page:
    with vault.uow() as uow:
        authorize(acting_user(uow, actor), Action.WEBHOOK_MANAGE, object_type="webhook", object_id=str(webhook_id))
        _webhook_or_404(uow, webhook_id)
        rows, total = uow.webhooks.deliveries(webhook_id, limit=max(1, min(limit, 500)), offset=max(0, offset))
        return Page([_delivery_view(r) for r in rows], total, limit, offset)


def redeliver(*, vault: Vault, actor: str, delivery_id: int) -> DeliveryView:
    """Send a delivery again (a dead one, or a delivered one a receiver lost), at the next worker run."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.WEBHOOK_MANAGE, object_type="webhook_delivery", object_id=str(delivery_id))
        row = uow.webhooks.delivery(delivery_id) if 0 < delivery_id < 2**31 else None
        if row is None:
            raise NotFound(f"no webhook delivery with id {delivery_id}")
        uow.webhooks.set_delivery(row.id, status="pending", next_attempt_at=utcnow(), attempts=0)
        uow.record(actor=user.name, action="webhook.redeliver", object_type="webhook_delivery",
                   object_id=str(row.id), details={"event_type": row.event_type})
        uow.commit()
        return _delivery_view(uow.webhooks.delivery(row.id))


# --- the worker's part ---------------------------------------------------------------------------------------

def dispatch(*, vault: Vault, sender, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Queue deliveries for new events, then send what is due; returns counts."""
    queued = _collect_audit_events(vault) + _collect_expiring(vault, now or utcnow())
    sent = failed = 0
    for job in _claim_due(vault, now or utcnow(), limit):  # (what was just queued is due too)
        status, error = sender.post(job["url"], job["body"], job["headers"])
        ok = status is not None and 200 <= status < 300
        sent, failed = sent + ok, failed + (not ok)
        _record_attempt(vault, job, status, error, ok)
    return {"queued": queued, "delivered": sent, "failed": failed}


def _collect_audit_events(vault: Vault) -> int:
    made = 0
    while True:
        with vault.uow() as uow:
            hooks = [(row, json.loads(row.events)) for row in uow.webhooks.list()]
            cursor = int(uow.meta.get(CURSOR) or 0)
            if not hooks:  # nothing listens: move the cursor so a new hook never gets old news
                uow.meta.set(CURSOR, str(uow.audit.head()[0]))
                uow.commit()
                return made
            events = uow.webhooks.audit_after(cursor, BATCH)
            for e in events:
                event_type = rules.EVENTS_BY_ACTION.get(e.action)
                if event_type is None or e.outcome != "ok":
                    continue
                payload = {"type": event_type, "occurred_at": _iso(e.at), "actor": e.actor,
                           "object": {"type": e.object_type, "id": e.object_id}, "customer": e.customer_code,
                           "audit_seq": e.seq}
                for hook, subscribed in hooks:
                    if event_type in subscribed and e.seq > hook.after_seq:
                        made += _queue(uow, hook.id, event_type, f"audit:{e.seq}", payload)
            if events:
                uow.meta.set(CURSOR, str(events[-1].seq))
            uow.commit()
            if len(events) < BATCH:
                return made


def _collect_expiring(vault: Vault, now: datetime) -> int:
    """Once an hour: every active document expiring within 30 days, once per hook and expiry date."""
    made = 0
    with vault.uow() as uow:
        last = uow.meta.get(EXPIRY_SCAN)
        if last and now - datetime.fromisoformat(last) < timedelta(hours=1):
            return 0
        hooks = [row for row in uow.webhooks.list() if rules.EXPIRING in json.loads(row.events)]
        today = now.date()
        for doc in (uow.webhooks.expiring(today, today + timedelta(days=rules.EXPIRING_WITHIN_DAYS), 10_000)
                    if hooks else []):
            payload = {"type": rules.EXPIRING, "occurred_at": _iso(now), "object": {"type": "document",
                       "id": str(doc.id)}, "customer": doc.code, "category": doc.category,
                       "subtype": doc.subtype, "expires_on": doc.expires_on.isoformat(),
                       "days_left": (doc.expires_on - today).days}
            for hook in hooks:
                made += _queue(uow, hook.id, rules.EXPIRING, f"expiring:{doc.id}:{doc.expires_on}", payload)
        uow.meta.set(EXPIRY_SCAN, now.isoformat())
        uow.commit()
    return made


def _queue(uow, webhook_id: int, event_type: str, key: str, payload: dict) -> int:
    event_id = str(uuid.uuid4())
    body = {"id": event_id, **payload}
    return int(uow.webhooks.add_delivery_once(
        webhook_id=webhook_id, event_id=event_id, event_type=event_type, event_key=key,
        payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")), status="pending", attempts=0,
        next_attempt_at=utcnow(), created_at=utcnow()))


def _claim_due(vault: Vault, now: datetime, limit: int) -> list[dict]:
    """The due deliveries, leased to this worker; addresses and secrets opened in memory only."""
    jobs = []
    with vault.uow() as uow:
        for row in uow.webhooks.due(now, limit):
            uow.webhooks.set_delivery(row.id, next_attempt_at=now + LEASE)
            secret = vault.fields.open(row.secret_sealed, context=_SECRET)
            body = row.payload.encode("utf-8")
            timestamp = int(now.timestamp())
            jobs.append({"id": row.id, "attempts": row.attempts, "url": vault.fields.open(row.url_sealed, context=_URL),
                         "body": body, "headers": {
                             "X-Clientfolio-Event": row.event_type, "X-Clientfolio-Delivery": row.event_id,
                             rules.SIGNATURE_HEADER: rules.signature(secret, timestamp, body)}})
        uow.commit()
    return jobs


def _record_attempt(vault: Vault, job: dict, status: int | None, error: str | None, ok: bool) -> None:
    attempts, now = job["attempts"] + 1, utcnow()
    values = {"attempts": attempts, "last_status": status, "last_error": None if ok else (error or f"HTTP {status}")}
    if ok:
        values.update(status="delivered", delivered_at=now)
    elif attempts >= rules.MAX_ATTEMPTS:
        values.update(status="dead")
    else:
        values.update(next_attempt_at=now + rules.retry_delay(attempts))
    with vault.uow() as uow:
        uow.webhooks.set_delivery(job["id"], **values)
        uow.commit()


def _webhook_or_404(uow, webhook_id: int):
    row = uow.webhooks.get(webhook_id) if 0 < webhook_id < 2**31 else None
    if row is None:
        raise NotFound(f"no webhook with id {webhook_id}")
    return row


def _view(row) -> WebhookView:
    return WebhookView(id=row.id, endpoint=row.endpoint, events=json.loads(row.events), description=row.description,
                       active=row.active, created_at=row.created_at)


def _delivery_view(row) -> DeliveryView:
    return DeliveryView(id=row.id, event_id=row.event_id, event_type=row.event_type, status=row.status,
                        attempts=row.attempts, next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
                        last_status=row.last_status, last_error=row.last_error, created_at=row.created_at,
                        delivered_at=row.delivered_at, payload=json.loads(row.payload))


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
