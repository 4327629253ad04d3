"""The vault at a glance, for `status` and the dashboard."""

from __future__ import annotations

from datetime import date, timedelta

from clientfolio.domain.policy import Action, allows
from clientfolio.domain.queries import DocumentFilter
from clientfolio.services.context import Vault, acting_user, authorize, vault_today


def vault_summary(*, vault: Vault, actor: str, today: date | None = None) -> dict:
    """Counts the acting user may see (sensitive and not-owned documents excluded where they must be)."""
    today = today or vault_today(vault)
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.DOCUMENT_READ_META, object_type="vault", object_id="summary")
        base = dict(include_sensitive=allows(user, Action.SENSITIVE_META),
                    owner_id=user.id if user.own_customers_only else None, limit=1)
        documents = uow.documents.count(DocumentFilter(**base))
        expiring = uow.documents.count(DocumentFilter(**base, expires_before=today + timedelta(days=91)))
        expired = uow.documents.count(DocumentFilter(**base, expires_before=today))
        counts = {"customers": uow.customers.count(owner_id=base["owner_id"]), "documents": documents,
                  "expiring_90_days": expiring - expired, "expired": expired}
        # Vault-wide figures only for those who may see the whole of what they count.
        if base["include_sensitive"] and base["owner_id"] is None:
            counts["versions"] = uow.documents.count_versions()
        if allows(user, Action.USER_READ):
            counts["users"] = len(uow.users.list())
        if allows(user, Action.AUDIT_READ):
            counts["audit_events"] = uow.audit.head()[0]
        return counts
