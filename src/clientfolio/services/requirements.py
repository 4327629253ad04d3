"""What is missing from a customer's file, by the vault's requirements (data/requirements.toml)."""

from __future__ import annotations

from datetime import date

from clientfolio.domain.policy import Action, allows
from clientfolio.domain.queries import DocumentFilter
from clientfolio.domain.requirements import OnFile, missing
from clientfolio.services.context import Vault, acting_user, authorize, customer_or_404, vault_today
from clientfolio.services.views import MissingView

MAX_DOCUMENTS = 5000  # one customer's documents considered; far beyond any real file


def missing_documents(*, vault: Vault, actor: str, code: str, today: date | None = None) -> list[MissingView]:
    """Requirements the customer does not meet today. A user who may not see sensitive documents is told only
    about requirements outside the sensitive categories, judged on the documents they may see: absence is
    never claimed (nor presence revealed) from documents hidden from them."""
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        customer = customer_or_404(uow, user, code)
        authorize(user, Action.DOCUMENT_READ_META, customer=customer, object_type="customer",
                  object_id=customer.code)
        sensitive = allows(user, Action.SENSITIVE_META)
        rules = tuple(r for r in vault.requirements
                      if sensitive or not vault.taxonomy.is_sensitive_by_default(r.category))
        rows, _ = uow.documents.brief(DocumentFilter(include_sensitive=sensitive, customer_id=customer.id,
                                                     statuses=("active",), limit=MAX_DOCUMENTS))
        on_file = [OnFile(r.category, r.subtype, r.expires_on, "active") for r in rows]
        gaps = missing(rules, kind=customer.kind, tier=customer.tier, documents=on_file,
                       today=today or vault_today(vault))
        return [MissingView(requirement=g.requirement.slug, label_zh=g.requirement.label_zh,
                            label_en=g.requirement.label_en, category=g.requirement.category,
                            subtypes=list(g.requirement.subtypes), expired_on=g.expired_on) for g in gaps]
