"""The dashboard: what needs doing soon, as far as the acting user may see.

Every limit is part of the queries (sensitive documents, own customers), counts included, so a number never
tells of a record the user may not see. It reads one snapshot and records nothing: it shows metadata only.
"""

from __future__ import annotations

from datetime import date, timedelta

from clientfolio.domain.policy import Action, allows, may
from clientfolio.domain.queries import AuditFilter, CustomerFilter, DocumentFilter
from clientfolio.services.context import Vault, acting_user, authorize, vault_today
from clientfolio.services.history import activity_view, with_titles
from clientfolio.services.views import DashboardView, ExpiringDocumentView, Page, ReviewDueView

ROWS = 20  # rows shown per list; counts are of everything


def dashboard(*, vault: Vault, actor: str, today: date | None = None) -> DashboardView:
    today = today or vault_today(vault)
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.DOCUMENT_READ_META, object_type="vault", object_id="dashboard")
        owner_id = user.id if user.own_customers_only else None
        sensitive = allows(user, Action.SENSITIVE_META)

        def expiring(start: date | None, before: date) -> Page:
            rows, total = uow.documents.brief(DocumentFilter(
                include_sensitive=sensitive, owner_id=owner_id, statuses=("active",), expires_from=start,
                expires_before=before, sort="expires", limit=ROWS))
            items = [ExpiringDocumentView(id=r.id, title=r.title, category=r.category, subtype=r.subtype,
                                          expires_on=r.expires_on, customer=r.customer_code,
                                          customer_name=r.customer_name) for r in rows]
            return Page(items=items, total=total, limit=ROWS, offset=0)

        def days(n: int) -> date:
            return today + timedelta(days=n)

        reviews = None
        if allows(user, Action.CUSTOMER_READ):
            rows, total = uow.customers.list(CustomerFilter(owner_id=owner_id, review_due_before=days(1),
                                                            sort="review_due", limit=ROWS))
            owners = uow.users.names({c.owner_id for c in rows if c.owner_id})
            reviews = Page(items=[ReviewDueView(code=c.code, name=c.name, tier=c.tier, owner=owners.get(c.owner_id),
                                                review_due=c.review_due) for c in rows],
                           total=total, limit=ROWS, offset=0)
        events = uow.audit.query(AuditFilter(about_customers=True, owner_id=owner_id, hide_sensitive=not sensitive,
                                             limit=ROWS))
        return DashboardView(
            today=today, expiring_30=expiring(days(0), days(31)), expiring_60=expiring(days(31), days(61)),
            expiring_90=expiring(days(61), days(91)), expired=expiring(None, today),
            inbox_waiting=uow.inbox.list(status="waiting", limit=1, offset=0)[1]
            if may(user, Action.INBOX_USE) else None,
            reviews_due=reviews, activity=with_titles(uow, user, [activity_view(e, details=False) for e in events]),
            filings_to_confirm=uow.documents.count(DocumentFilter(
                include_sensitive=sensitive, owner_id=owner_id, suggestion_pending=True))
            if allows(user, Action.DOCUMENT_EDIT) else None)
