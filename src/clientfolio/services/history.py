"""What happened to one customer or one document, for whoever may see it (not only auditors).

The audit trail itself stays behind AUDIT_READ (services/audit.py). These are views of it bounded by the
object: reading a customer lets a user see its timeline, reading a document's metadata its history. Events
about sensitive documents stay hidden from users who may not know of them, and details are cut to plain
facts (`SAFE_DETAILS`).
"""

from __future__ import annotations

import json

from clientfolio.domain.audit import AuditEvent
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.policy import Action, allows
from clientfolio.domain.queries import AuditFilter
from clientfolio.services.context import Vault, acting_user, customer_or_404, document_or_404
from clientfolio.services.views import ActivityView, Page

SAFE_DETAILS = ("version", "versions", "from_version", "page", "fields", "status", "into", "kinds")


def customer_timeline(*, vault: Vault, actor: str, code: str, limit: int = 50, offset: int = 0) -> Page:
    """Events about a customer and its documents, newest first (items: ActivityView)."""
    _check_limit(limit, 500)
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        customer = customer_or_404(uow, user, code)
        f = AuditFilter(customer_code=customer.code, hide_sensitive=not allows(user, Action.SENSITIVE_META),
                        limit=limit, offset=max(offset, 0))
        items = with_titles(uow, user, [activity_view(e) for e in uow.audit.query(f)])
        return Page(items=items, total=uow.audit.count(f), limit=limit, offset=offset)


def document_history(*, vault: Vault, actor: str, document_id: int, limit: int = 100) -> list[ActivityView]:
    """The document's own events (created, read, previewed, edited, versions, denials), newest first."""
    _check_limit(limit, 1000)
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        document, _ = document_or_404(uow, user, document_id)
        events = uow.audit.query(AuditFilter(object_type="document", object_id=str(document.id), limit=limit))
        return [activity_view(e) for e in events]


def with_titles(uow, user, items: list[ActivityView]) -> list[ActivityView]:
    """Name the documents events are about, in one query, as far as the reader may see them (sensitive ones
    only with their metadata right, deleted ones only for those who may restore them)."""
    ids = {int(e.object_id) for e in items if e.object_type == "document" and e.object_id.isdigit()}
    titles = uow.documents.titles(ids, include_sensitive=allows(user, Action.SENSITIVE_META),
                                  include_deleted=allows(user, Action.DOCUMENT_RESTORE))
    for e in items:
        if e.object_type == "document" and e.object_id.isdigit():
            e.title = titles.get(int(e.object_id))
    return items


def activity_view(event: AuditEvent, *, details: bool = True) -> ActivityView:
    kept = {k: v for k, v in json.loads(event.details).items() if k in SAFE_DETAILS} if details else {}
    return ActivityView(seq=event.seq, at=event.at, actor=event.actor, action=event.action,
                        object_type=event.object_type, object_id=event.object_id, customer=event.customer_code,
                        outcome=event.outcome, details=kept)


def _check_limit(limit: int, most: int) -> None:
    if not 1 <= limit <= most:
        raise InvalidInput(f"limit must be between 1 and {most}")
