"""Webhook endpoints and deliveries, and the two reads that feed them: audit events after a cursor and
documents about to expire."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.orm import Session

from clientfolio.adapters import orm

h, d = orm.webhooks.c, orm.webhook_deliveries.c


class WebhookRepository:
    def __init__(self, session: Session):
        self.session = session

    # endpoints
    def add(self, **values) -> int:
        return self.session.execute(insert(orm.webhooks).values(**values).returning(h.id)).scalar_one()

    def get(self, webhook_id: int):
        return self.session.execute(select(orm.webhooks).where(h.id == webhook_id)).first()

    def list(self, *, include_removed: bool = False) -> list:
        stmt = select(orm.webhooks).order_by(h.id)
        if not include_removed:
            stmt = stmt.where(h.active.is_(True))
        return list(self.session.execute(stmt))

    def remove(self, webhook_id: int, at: datetime) -> None:
        self.session.execute(update(orm.webhooks).where(h.id == webhook_id).values(active=False, removed_at=at))

    # deliveries
    def add_delivery_once(self, **values) -> bool:
        """A delivery unless this hook already has one for the same event key."""
        exists = self.session.execute(select(d.id).where(d.webhook_id == values["webhook_id"],
                                                         d.event_key == values["event_key"])).first()
        if exists:
            return False
        self.session.execute(insert(orm.webhook_deliveries).values(**values))
        return True

    def due(self, now: datetime, limit: int) -> list:
        stmt = (select(orm.webhook_deliveries, h.url_sealed, h.secret_sealed)
                .join(orm.webhooks, h.id == d.webhook_id)
                .where(d.status == "pending", d.next_attempt_at <= now, h.active.is_(True))
                .order_by(d.next_attempt_at, d.id).limit(limit))
        return list(self.session.execute(stmt))

    def set_delivery(self, delivery_id: int, **values) -> None:
        self.session.execute(update(orm.webhook_deliveries).where(d.id == delivery_id).values(**values))

    def deliveries(self, webhook_id: int, *, limit: int, offset: int) -> tuple[list, int]:
        where = d.webhook_id == webhook_id
        rows = self.session.execute(select(orm.webhook_deliveries).where(where)
                                    .order_by(d.id.desc()).limit(limit).offset(offset))
        total = self.session.execute(select(func.count()).select_from(orm.webhook_deliveries).where(where)).scalar()
        return list(rows), total

    def delivery(self, delivery_id: int):
        return self.session.execute(select(orm.webhook_deliveries).where(d.id == delivery_id)).first()

    # what events come from
    def audit_after(self, seq: int, limit: int) -> list:
        a = orm.audit_events.c
        return list(self.session.execute(
            select(a.seq, a.at, a.actor, a.action, a.object_type, a.object_id, a.customer_code, a.outcome)
            .where(a.seq > seq).order_by(a.seq).limit(limit)))

    def expiring(self, start: date, end: date, limit: int) -> list:
        doc, cust = orm.documents.c, orm.customers.c
        return list(self.session.execute(
            select(doc.id, doc.expires_on, doc.category, doc.subtype, cust.code)
            .join(orm.customers, cust.id == doc.customer_id)
            .where(and_(doc.status == "active", doc.expires_on >= start, doc.expires_on <= end))
            .order_by(doc.expires_on, doc.id).limit(limit)))
