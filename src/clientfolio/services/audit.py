"""Reading the audit trail and proving it intact."""

from __future__ import annotations

import itertools
import json
from datetime import datetime

from clientfolio.domain.audit import ChainReport, format_time, verify_chain
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
        events = uow.audit.query(_filter(customer_code, user, action, since, until, object_type, object_id,
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


EXPORT_LIMIT = 100_000
EXPORT_COLUMNS = ["seq", "at", "actor", "action", "object_type", "object_id", "customer", "outcome", "details",
                  "hash"]


def export_audit(*, vault: Vault, actor: str, fmt: str, customer_code: str | None = None, user: str | None = None,
                 action: str | None = None, since: datetime | None = None, until: datetime | None = None,
                 object_type: str | None = None, object_id: str | None = None) -> bytes:
    """Every matching event, oldest first, as a CSV (UTF-8 with BOM) or XLSX file; the export is recorded."""
    if fmt not in vault.tables.formats:
        raise InvalidInput(f"unknown format {fmt!r}: use one of {', '.join(vault.tables.formats)}")
    f = _filter(customer_code, user, action, since, until, object_type, object_id)
    written = 0

    def rows(events):
        nonlocal written
        for e in events:
            written += 1
            yield [e.seq, format_time(e.at), e.actor, e.action, e.object_type, e.object_id, e.customer_code,
                   e.outcome, e.details, e.hash]

    with vault.uow(read_only=True) as uow:  # a snapshot: writers go on while a long trail is read
        reader = acting_user(uow, actor)
        authorize(reader, Action.AUDIT_READ, object_type="audit", object_id="*")
        if (count := uow.audit.count(f)) > EXPORT_LIMIT:
            raise InvalidInput(f"{count:,} events match, more than the {EXPORT_LIMIT:,} an export holds: "
                               "narrow the filters (a shorter time span)")
        data = vault.tables.write(fmt, EXPORT_COLUMNS, rows(itertools.islice(uow.audit.matching(f), EXPORT_LIMIT)))
    filters = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in dict(
        customer=f.customer_code, user=user, action=action, since=since, until=until, object_type=object_type,
        object_id=object_id).items() if v}
    with vault.uow() as uow:
        uow.record(actor=actor, action="audit.export", object_type="audit", object_id="*",
                   customer_code=f.customer_code, details={"format": fmt, "filters": filters, "rows": written})
        uow.commit()
    return data


def _filter(customer_code, user, action, since, until, object_type, object_id, **page) -> AuditFilter:
    return AuditFilter(customer_code=customer_code.upper() if customer_code else None, actor=user, action=action,
                       since=since, until=until, object_type=object_type, object_id=object_id, **page)


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
