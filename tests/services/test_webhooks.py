"""Webhooks end to end on SQLite and PostgreSQL: audited actions become signed deliveries to a real HTTP
endpoint on loopback, with retries, back-off and a record of every delivery; nothing secret in payloads."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from clientfolio.domain import webhooks as rules
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.model import utcnow
from clientfolio.services import customers, documents, webhooks
from webhook_receiver import Receiver  # tests/ is on sys.path (rootdir conftest)

NAME = "钱七"
RID = "11010519491231002X"


def run_worker(v) -> None:
    v.jobs.drain()  # the jobs the actions queued, deliver_webhooks among them


def test_actions_become_signed_deliveries(vault):
    v = vault
    with Receiver() as rx:
        made = webhooks.register_webhook(vault=v, actor="admin", url=rx.url, description="CRM")
        code = customers.add_customer(vault=v, actor="admin", name=NAME, kind="person", tier="key",
                                      identifiers={"resident_id": RID}).code
        doc = documents.add_document(vault=v, actor="admin", customer_code=code, content=[b"contract"],
                                     original_name="c.txt", category="contract")
        customers.edit_customer(vault=v, actor="admin", code=code, tier="standard")
        run_worker(v)
        events = {r["headers"]["X-Clientfolio-Event"]: r for r in rx.requests}
        assert set(events) == {"customer.created", "document.added", "customer.changed"}
        for r in rx.requests:
            header = r["headers"][rules.SIGNATURE_HEADER]
            assert rules.verify_signature(made.secret, header, r["body"], now=int(time.time()))
            assert not rules.verify_signature("whsec_wrong", header, r["body"], now=int(time.time()))
            assert not rules.verify_signature(made.secret, header, r["body"], now=int(time.time()) + 3600)
            body = json.loads(r["body"])
            assert body["id"] == r["headers"]["X-Clientfolio-Delivery"] and body["customer"] == code
            assert NAME not in r["body"].decode() and RID not in r["body"].decode()  # ids, never content
        assert json.loads(events["document.added"]["body"])["object"] == {"type": "document", "id": str(doc.id)}
        page = webhooks.list_deliveries(vault=v, actor="admin", webhook_id=made.webhook.id)
        assert page.total == 3 and {d.status for d in page.items} == {"delivered"}
        run_worker(v)
        assert len(rx.requests) == 3  # each event once


def test_a_failing_endpoint_is_retried_with_back_off_then_given_up(vault):
    v = vault
    with Receiver(status=500) as rx:
        hook = webhooks.register_webhook(vault=v, actor="admin", url=rx.url, events=["customer.created"]).webhook
        started = time.monotonic()
        customers.add_customer(vault=v, actor="admin", name=NAME, kind="person", tier="key")
        assert time.monotonic() - started < 5  # the action never waits for the endpoint
        run_worker(v)
        [d] = webhooks.list_deliveries(vault=v, actor="admin", webhook_id=hook.id).items
        assert (d.status, d.attempts, d.last_status) == ("pending", 1, 500)
        assert d.next_attempt_at > utcnow() + timedelta(seconds=20)
        now = utcnow()
        for attempt in range(2, rules.MAX_ATTEMPTS + 1):
            now += rules.retry_delay(attempt - 1) + timedelta(seconds=1)
            webhooks.dispatch(vault=v, sender=v.webhook_sender, now=now)
        [d] = webhooks.list_deliveries(vault=v, actor="admin", webhook_id=hook.id).items
        assert (d.status, d.attempts) == ("dead", rules.MAX_ATTEMPTS)
        assert len(rx.requests) == rules.MAX_ATTEMPTS
        rx.status = 200
        webhooks.redeliver(vault=v, actor="admin", delivery_id=d.id)
        webhooks.dispatch(vault=v, sender=v.webhook_sender)
        [d] = webhooks.list_deliveries(vault=v, actor="admin", webhook_id=hook.id).items
        assert d.status == "delivered" and d.delivered_at is not None


def test_an_unreachable_endpoint_does_not_hold_up_the_others(vault):
    v = vault
    with Receiver() as rx:
        webhooks.register_webhook(vault=v, actor="admin", url="http://127.0.0.1:9/nobody-listens")
        good = webhooks.register_webhook(vault=v, actor="admin", url=rx.url).webhook
        customers.add_customer(vault=v, actor="admin", name=NAME, kind="person", tier="key")
        run_worker(v)
        assert [r["headers"]["X-Clientfolio-Event"] for r in rx.requests] == ["customer.created"]
        assert webhooks.list_deliveries(vault=v, actor="admin", webhook_id=good.id).items[0].status == "delivered"


def test_documents_about_to_expire_are_announced_once(vault):
    v = vault
    code = customers.add_customer(vault=v, actor="admin", name=NAME, kind="person", tier="key").code
    soon = date.today() + timedelta(days=10)
    doc = documents.add_document(vault=v, actor="admin", customer_code=code, content=[b"id card"],
                                 original_name="id.txt", category="id_document", expires_on=soon)
    documents.add_document(vault=v, actor="admin", customer_code=code, content=[b"later"], original_name="l.txt",
                           category="id_document", expires_on=date.today() + timedelta(days=200))
    with Receiver() as rx:
        webhooks.register_webhook(vault=v, actor="admin", url=rx.url, events=[rules.EXPIRING])
        webhooks.dispatch(vault=v, sender=v.webhook_sender)
        webhooks.dispatch(vault=v, sender=v.webhook_sender, now=utcnow() + timedelta(hours=2))
        bodies = [json.loads(r["body"]) for r in rx.requests]
        assert [(b["type"], b["object"]["id"], b["expires_on"], b["days_left"]) for b in bodies] == [
            (rules.EXPIRING, str(doc.id), soon.isoformat(), 10)]


def test_addresses_events_and_secrets(vault):
    v = vault
    for bad in ("http://hooks.example/x", "ftp://127.0.0.1/x", "https://user:pw@hooks.example/x", "not a url"):
        with pytest.raises(InvalidInput):
            webhooks.register_webhook(vault=v, actor="admin", url=bad)
    with pytest.raises(InvalidInput, match="unknown webhook event"):
        webhooks.register_webhook(vault=v, actor="admin", url="https://hooks.example/x", events=["everything"])
    made = webhooks.register_webhook(vault=v, actor="admin", url="https://hooks.example/x?key=s3cr3t-in-url")
    assert made.webhook.endpoint == "https://hooks.example"
    with v.uow() as uow:
        rows = [tuple(r) for r in uow.session.execute(text("SELECT * FROM webhooks"))]
        trail = [tuple(r) for r in uow.session.execute(text("SELECT details FROM audit_events"))]
    flat = repr(rows) + repr(trail)
    assert "s3cr3t-in-url" not in flat and made.secret not in flat
    removed = webhooks.remove_webhook(vault=v, actor="admin", webhook_id=made.webhook.id)
    assert removed.active is False and webhooks.list_webhooks(vault=v, actor="admin") == []
