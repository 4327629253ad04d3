"""Reading the audit trail and proving it intact."""

from __future__ import annotations

import json
from datetime import datetime

from clientfolio.domain.audit import ChainReport, verify_chain
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.policy import Action
from clientfolio.domain.queries import AuditFilter
from clientfolio.services.context import Vault, acting_user, authorize
from clientfolio.services.views import AuditEventView


def audit_log(*, vault: Vault, actor: str, customer_code: str | None = None, user: str | None = None,
              action: str | None = None, since: datetime | None = None, until: datetime | None = None,
              object_type: str | None = None, object_id: str | None = None,
              limit: int = 100, offset: int = 0) -> list[AuditEventView]:
    """Newest first. Reading the trail is itself recorded."""
    if not 1 <= limit <= 10000:
        raise InvalidInput("limit must be between 1 and 10000")
    with vault.uow() as uow:
        reader = acting_user(uow, actor)
        authorize(reader, Action.AUDIT_READ, object_type="audit", object_id="*")
        events = uow.audit.query(AuditFilter(
            customer_code=customer_code.upper() if customer_code else None, actor=user, action=action,
            since=since, until=until, object_type=object_type, object_id=object_id,
            limit=limit, offset=max(offset, 0)))
        views = [AuditEventView(seq=e.seq, at=e.at, actor=e.actor, action=e.action,
                                object_type=e.object_type, object_id=e.object_id, customer=e.customer_code,
                                outcome=e.outcome, details=json.loads(e.details), hash=e.hash) for e in events]
        uow.record(actor=reader.name, action="audit.read", object_type="audit", object_id="*",
                   customer_code=customer_code.upper() if customer_code else None,
                   details={"filters": sorted(k for k, v in dict(customer=customer_code, user=user, action=action,
                                                                  since=since, until=until).items() if v)})
        uow.commit()
        return views


def audit_verify(*, vault: Vault, actor: str) -> ChainReport:
    """Recompute the whole chain; the report names the first broken link."""
    anchor = vault.audit_anchor()  # read before the snapshot, so it is never ahead of it
    with vault.uow(read_only=True) as uow:  # a snapshot: writers go on while a long trail is checked
        reader = acting_user(uow, actor)
        authorize(reader, Action.AUDIT_READ, object_type="audit", object_id="chain")
        report = verify_chain(vault.audit_key, uow.audit.stream(), anchor)
    with vault.uow() as uow:
        uow.record(actor=actor, action="audit.verify", object_type="audit", object_id="chain",
                   outcome="ok" if report.ok else "broken",
                   details={"events": report.events, "first_broken_seq": report.first_broken_seq})
        uow.commit()
    return report


def verify_chain_unattended(vault: Vault) -> ChainReport:
    """For a restore drill, before any user acts on the new vault."""
    with vault.uow(read_only=True) as uow:
        return verify_chain(vault.audit_key, uow.audit.stream())
