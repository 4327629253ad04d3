"""Fields read from ID documents: proposed after text extraction, shown side by side, confirmed by a person.

A proposal is sealed on its version (it holds ID numbers). Showing it is reading the document's content; its
identifier values are masked unless the user may see unmasked identifiers, and an unmasked view is audited.
Confirming writes the accepted values where they belong (the customer's identifier, the document's issue and
expiry dates) through the same rules as an edit, and records the names of the fields, never their values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from clientfolio.domain import fields as id_fields
from clientfolio.domain import identifiers as ids
from clientfolio.domain.errors import InvalidInput, NotFound
from clientfolio.domain.model import Version, utcnow
from clientfolio.domain.policy import Action, allows
from clientfolio.services.context import UnitOfWork, Vault, acting_user, authorize, document_or_404
from clientfolio.services.customers import open_identifier, set_identifier
from clientfolio.services.views import View

IDENTIFIER_FIELDS = {"resident_id", "credit_code", "passport"}
DATE_TARGETS = {"valid_until": "expires_on", "valid_from": "issued_on"}  # proposal field -> document field


@dataclass
class FieldRow(View):
    name: str
    proposed: str
    current: str | None  # what the customer or document holds now
    valid: bool
    note: str | None
    masked: bool


@dataclass
class FieldsView(View):
    document_id: int
    version: int
    kind: str | None
    status: str  # none | proposed | confirmed | rejected
    rows: list[FieldRow] = field(default_factory=list)


def attach_proposal(vault: Vault, version: Version, text: str, *, category: str | None) -> bool:
    """Read fields from a version's text (inside the caller's unit of work). Documents filed as ID documents
    are read as such; others only when their text plainly is one."""
    kind = id_fields.detect(text)
    if kind is None or (category not in (None, "id_document", "other") and kind != "passport"):
        return False
    proposal = id_fields.extract(text, kind)
    if proposal is None or not proposal.fields:
        return False
    version.fields_kind, version.fields_status = kind, "proposed"
    version.fields_sealed = vault.fields.seal(json.dumps(proposal.to_dict(), ensure_ascii=False),
                                              context=f"version:{version.blob_id}:{version.number}:fields")
    return True


def _proposal(vault: Vault, version: Version) -> id_fields.Proposal | None:
    if not version.fields_sealed:
        return None
    opened = vault.fields.open(version.fields_sealed, context=f"version:{version.blob_id}:{version.number}:fields")
    return id_fields.Proposal.from_dict(json.loads(opened))


def show_fields(*, vault: Vault, actor: str, document_id: int, version: int | None = None) -> FieldsView:
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_READ_CONTENT, customer=customer, document=document)
        chosen = document.version(version) if version else document.latest
        if chosen is None:
            raise NotFound(f"document {document.id} has no version {version}")
        proposal = _proposal(vault, chosen)
        unmasked = allows(user, Action.IDENTIFIER_UNMASK)
        current = {i.kind: open_identifier(vault, customer, i) for i in customer.identifiers}
        current |= {"name": customer.name, "company_name": customer.name,
                    "valid_until": document.expires_on.isoformat() if document.expires_on else None,
                    "valid_from": document.issued_on.isoformat() if document.issued_on else None}
        rows = []
        for f in proposal.fields if proposal else ():
            secret = f.name in IDENTIFIER_FIELDS and not unmasked
            shown = ids.mask_identifier(f.name, f.value) if secret and f.valid else ("*" * len(f.value) if secret else f.value)
            now = current.get(f.name)
            if now is not None and f.name in IDENTIFIER_FIELDS and not unmasked:
                now = ids.mask_identifier(f.name, now)
            rows.append(FieldRow(f.name, shown, now, f.valid, f.note, secret))
        uow.record(actor=user.name, action="document.fields", object_type="document", object_id=document.id,
                   customer_code=customer.code,
                   details={"version": chosen.number, "unmasked": unmasked and any(r.name in IDENTIFIER_FIELDS
                                                                                    for r in rows)})
        uow.commit()
        return FieldsView(document.id, chosen.number, chosen.fields_kind, chosen.fields_status, rows)


def confirm_fields(*, vault: Vault, actor: str, document_id: int, only: list[str] | None = None) -> FieldsView:
    """Write the accepted values: identifiers to the customer, dates to the document. Invalid values are
    never written; asking for one by name is refused with its reason."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_EDIT, customer=customer, document=document)
        latest = document.latest
        proposal = _proposal(vault, latest)
        if proposal is None or latest.fields_status != "proposed":
            raise InvalidInput(f"document {document_id} has no proposed fields to confirm")
        writable = [f for f in proposal.fields if f.name in IDENTIFIER_FIELDS or f.name in DATE_TARGETS]
        if only is not None:
            unknown = set(only) - {f.name for f in writable}
            if unknown:
                raise InvalidInput(f"nothing to confirm for {', '.join(sorted(unknown))}: "
                                   f"use {', '.join(f.name for f in writable) or 'none'}")
            writable = [f for f in writable if f.name in only]
        bad = [f for f in writable if not f.valid]
        if only is not None and bad:
            raise InvalidInput(f"{bad[0].name} cannot be confirmed: {bad[0].note}")
        accepted = [f for f in writable if f.valid]
        if any(f.name in IDENTIFIER_FIELDS for f in accepted):
            authorize(user, Action.CUSTOMER_EDIT, customer=customer)
            authorize(user, Action.IDENTIFIER_UNMASK, customer=customer)
        changed = _apply(vault, uow, document, customer, accepted)
        latest.fields_status = "confirmed"
        document.updated_at = customer.updated_at = utcnow()
        uow.record(actor=user.name, action="document.fields_confirm", object_type="document", object_id=document.id,
                   customer_code=customer.code, details={"fields": changed, "version": latest.number})
        uow.commit()
    return show_fields(vault=vault, actor=actor, document_id=document_id)


def _apply(vault: Vault, uow: UnitOfWork, document, customer, accepted) -> list[str]:
    changed = []
    for f in accepted:
        if f.name in IDENTIFIER_FIELDS:
            set_identifier(vault, uow, customer, f.name, f.value)
            changed.append(f"customer.{f.name}")
        elif f.value != id_fields.LONG_TERM:
            setattr(document, DATE_TARGETS[f.name], date.fromisoformat(f.value))
            changed.append(f"document.{DATE_TARGETS[f.name]}")
        elif f.name == "valid_until":
            document.expires_on = None  # 长期: it does not expire
            changed.append("document.expires_on")
    if document.issued_on and document.expires_on and document.expires_on < document.issued_on:
        raise InvalidInput("the confirmed expiry date is before the issue date")
    return changed


def reject_fields(*, vault: Vault, actor: str, document_id: int) -> FieldsView:
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_EDIT, customer=customer, document=document)
        latest = document.latest
        if latest.fields_status != "proposed":
            raise InvalidInput(f"document {document_id} has no proposed fields to reject")
        latest.fields_status = "rejected"
        uow.record(actor=user.name, action="document.fields_reject", object_type="document", object_id=document.id,
                   customer_code=customer.code, details={"version": latest.number})
        uow.commit()
        return FieldsView(document.id, latest.number, latest.fields_kind, "rejected")
