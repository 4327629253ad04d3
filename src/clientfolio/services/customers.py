"""Customer use cases: add, list, show (masked, or unmasked and audited), edit, find by identifier."""

from __future__ import annotations

from datetime import date

from clientfolio.domain import identifiers as ids
from clientfolio.domain.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, NothingToChange
from clientfolio.domain.model import (Customer, CustomerIdentifier, CustomerKind, Tier, User,
                                      customer_code, parse_choice, utcnow)
from clientfolio.domain.policy import Action, allows
from clientfolio.domain.queries import CUSTOMER_SORTS, CUSTOMER_STATUSES, CustomerFilter
from clientfolio.services.context import (UnitOfWork, Vault, acting_user, authorize,
                                          customer_or_404, vault_today)
from clientfolio.services.views import CustomerView, IdentifierView, Page

_UNSET = object()


def add_customer(*, vault: Vault, actor: str, name: str, kind: str, tier: str,
                 owner: str | None = None, phone: str | None = None, email: str | None = None,
                 identifiers: dict[str, str] | None = None) -> CustomerView:
    """Create a customer; its code (C000001…) comes from the row id."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.CUSTOMER_CREATE, object_type="customer", object_id="new")
        customer = Customer(_clean_name(name), parse_choice(CustomerKind, kind, "kind"),
                            parse_choice(Tier, tier, "tier"), _owner_id(uow, owner, default=user))
        customer.schedule_review(vault_today(vault))
        uow.customers.add(customer)
        customer.code = customer_code(customer.id)
        _set_contact(vault, customer, phone=phone, email=email)
        for kind_, value in (identifiers or {}).items():
            set_identifier(vault, uow, customer, kind_, value)
        uow.record(actor=user.name, action="customer.create", object_type="customer",
                   object_id=customer.code, customer_code=customer.code,
                   details={"fields": _given_fields(phone=phone, email=email, identifiers=identifiers)})
        uow.commit()
        return _view(vault, uow, user, customer, reveal=False)


def list_customers(*, vault: Vault, actor: str, tier: str | None = None, kind: str | None = None,
                   query: str | None = None, owner: str | None = None, sort: str = "code",
                   include_merged: bool = False, status: str | None = None,
                   review_due_before: date | None = None, limit: int = 100, offset: int = 0) -> Page:
    """`status` (active | merged) wins over `include_merged`; `review_due_before`: reviews due before that day."""
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.CUSTOMER_READ, object_type="customer", object_id="*")
        owner_id = _owner_id(uow, owner) if owner else None
        if user.own_customers_only:
            if owner_id not in (None, user.id):
                return Page(items=[], total=0, limit=limit, offset=offset)
            owner_id = user.id
        if tier:
            parse_choice(Tier, tier, "tier")
        if kind:
            parse_choice(CustomerKind, kind, "kind")
        if sort not in CUSTOMER_SORTS:
            raise InvalidInput(f"unknown sort {sort!r}: use one of {', '.join(CUSTOMER_SORTS)}")
        if status and status not in CUSTOMER_STATUSES:
            raise InvalidInput(f"unknown status {status!r}: use one of {', '.join(CUSTOMER_STATUSES)}")
        rows, total = uow.customers.list(CustomerFilter(
            owner_id=owner_id, tier=tier, kind=kind, name_contains=query, sort=sort, include_merged=include_merged,
            status=status, review_due_before=review_due_before, limit=_bounded(limit), offset=max(offset, 0)))
        owners = uow.users.names({c.owner_id for c in rows if c.owner_id})  # one query for the page
        return Page(items=[_view(vault, uow, user, c, reveal=False, owners=owners) for c in rows], total=total,
                    limit=limit, offset=offset)


def show_customer(*, vault: Vault, actor: str, code: str, reveal: bool = False) -> CustomerView:
    """Identifiers come masked; `reveal` needs the unmask right and writes an audit event."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        customer = customer_or_404(uow, user, code)
        if reveal:
            authorize(user, Action.IDENTIFIER_UNMASK, customer=customer)
            uow.record(actor=user.name, action="identifier.unmask", object_type="customer",
                       object_id=customer.code, customer_code=customer.code,
                       details={"kinds": sorted(i.kind for i in customer.identifiers)})
            uow.commit()
        return _view(vault, uow, user, customer, reveal=reveal)


def edit_customer(*, vault: Vault, actor: str, code: str, name: str | None = None,
                  kind: str | None = None, tier: str | None = None, owner: str | None = None,
                  phone=_UNSET, email=_UNSET, identifiers: dict[str, str | None] | None = None) -> CustomerView:
    """Change the given fields only; an identifier set to None or "" is removed."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        customer = customer_or_404(uow, user, code)
        authorize(user, Action.CUSTOMER_EDIT, customer=customer)
        changed = []
        if name is not None and name != customer.name:
            customer.name = _clean_name(name)
            changed.append("name")
        if kind is not None and kind != customer.kind:
            customer.kind = parse_choice(CustomerKind, kind, "kind").value
            changed.append("kind")
        if tier is not None and tier != customer.tier:
            customer.tier = parse_choice(Tier, tier, "tier").value
            customer.schedule_review(vault_today(vault), keep_if_sooner=True)
            changed.append("tier")
        if owner is not None:
            customer.owner_id = _owner_id(uow, owner)
            changed.append("owner")
        if phone is not _UNSET:
            _set_contact(vault, customer, phone=phone or None, email=_UNSET)
            changed.append("phone")
        if email is not _UNSET:
            _set_contact(vault, customer, phone=_UNSET, email=email or None)
            changed.append("email")
        for kind_, value in (identifiers or {}).items():
            set_identifier(vault, uow, customer, kind_, value or None)
            changed.append(f"identifier.{kind_}")
        if not changed:
            raise NothingToChange("nothing to change: give at least one field")
        customer.updated_at = utcnow()
        if {"name", "owner"} & set(changed):  # both are in the search index of each of their documents
            uow.documents.touch_customer_documents(customer.id)
        uow.record(actor=user.name, action="customer.edit", object_type="customer",
                   object_id=customer.code, customer_code=customer.code, details={"fields": changed})
        uow.commit()
        return _view(vault, uow, user, customer, reveal=False)


def review_customer(*, vault: Vault, actor: str, code: str, today: date | None = None) -> CustomerView:
    """Record the periodic (KYC) review as done today: the next one falls due one interval of the tier later."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        customer = customer_or_404(uow, user, code)
        authorize(user, Action.CUSTOMER_EDIT, customer=customer)
        require_active(uow, customer)
        previous = customer.review_due
        customer.schedule_review(today or vault_today(vault))
        customer.updated_at = utcnow()
        uow.record(actor=user.name, action="customer.reviewed", object_type="customer", object_id=customer.code,
                   customer_code=customer.code,
                   details={"review_due": customer.review_due.isoformat(),
                            "was_due": previous.isoformat() if previous else None})
        uow.commit()
        return _view(vault, uow, user, customer, reveal=False)


def find_by_identifier(*, vault: Vault, actor: str, kind: str, value: str) -> list[CustomerView]:
    """Exact lookup through the keyed hash: no record is decrypted to search."""
    normalized = ids.normalize_identifier(kind, value)
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.CUSTOMER_READ, object_type="customer", object_id="lookup")
        found = uow.customers.by_identifier_hash(vault.fields.lookup_hash(kind, normalized))
        visible = [c for c in found if not user.own_customers_only or c.owner_id == user.id]
        uow.record(actor=user.name, action="customer.lookup", object_type="identifier", object_id=kind,
                   details={"kind": kind, "matches": len(visible)})
        uow.commit()
        return [_view(vault, uow, user, c, reveal=False) for c in visible]


def merge_customers(*, vault: Vault, actor: str, source_code: str, into_code: str) -> CustomerView:
    """Fold a duplicate customer into another: documents, missing identifiers and contacts move over;
    the source stays as a `merged` record pointing at the target, so old references still resolve."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        source = customer_or_404(uow, user, source_code)
        target = customer_or_404(uow, user, into_code)
        authorize(user, Action.CUSTOMER_MERGE, customer=source)
        authorize(user, Action.CUSTOMER_MERGE, customer=target)
        if source.id == target.id:
            raise InvalidInput("a customer cannot be merged into itself")
        for c in (source, target):
            require_active(uow, c)
        moving = {}
        for ident in list(source.identifiers):
            value = open_identifier(vault, source, ident)
            kept = target.identifier(ident.kind)
            if kept is not None and open_identifier(vault, target, kept) != value:
                raise Conflict(f"{source.code} and {target.code} have different values for "
                               f"{ids.identifier_label(ident.kind, 'en')}: correct one of them before merging")
            source.identifiers.remove(ident)
            if kept is None:
                moving[ident.kind] = value
        uow.session.flush()  # the source's rows go before the target takes the same numbers
        for kind, value in moving.items():
            set_identifier(vault, uow, target, kind, value)
        for which in ("phone", "email"):
            if getattr(source, f"{which}_sealed") and not getattr(target, f"{which}_sealed"):
                _set_contact(vault, target, **{which: open_contact(vault, source, which),
                                               ("email" if which == "phone" else "phone"): _UNSET})
        moved = uow.documents.move_all(source.id, target.id)
        source.status, source.merged_into_id = "merged", target.id
        source.updated_at = target.updated_at = utcnow()
        uow.record(actor=user.name, action="customer.merge", object_type="customer", object_id=source.code,
                   customer_code=target.code,
                   details={"into": target.code, "documents_moved": moved, "identifiers_moved": sorted(moving)})
        uow.commit()
        return _view(vault, uow, user, target, reveal=False)


def require_active(uow: UnitOfWork, customer: Customer) -> None:
    if customer.status == "merged":
        target = uow.customers.get(customer.merged_into_id)
        raise InvalidInput(f"customer {customer.code} was merged into {target.code if target else '?'}: use that one")


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise InvalidInput("customer name must be 1 to 200 characters")
    return name


def _bounded(limit: int) -> int:
    if limit < 1 or limit > 1000:
        raise InvalidInput("limit must be between 1 and 1000")
    return limit


def _owner_id(uow: UnitOfWork, owner: str | None, *, default: User | None = None) -> int | None:
    if owner is None:
        return default.id if default is not None else None
    found = uow.users.by_name(owner)
    if found is None:
        raise NotFound(f"no user named {owner!r} to own the customer")
    return found.id


def _given_fields(**values) -> list[str]:
    out = [k for k, v in values.items() if v and k != "identifiers"]
    out += [f"identifier.{k}" for k in sorted(values.get("identifiers") or {})]
    return out


def _set_contact(vault: Vault, customer: Customer, *, phone, email) -> None:
    if phone is not _UNSET:
        customer.phone_sealed = (vault.fields.seal(ids.normalize_phone(phone), context=f"customer:{customer.id}:phone")
                                 if phone else None)
    if email is not _UNSET:
        customer.email_sealed = (vault.fields.seal(ids.normalize_email(email), context=f"customer:{customer.id}:email")
                                 if email else None)


def set_identifier(vault: Vault, uow: UnitOfWork, customer: Customer, kind: str, value: str | None) -> None:
    existing = customer.identifier(kind)
    if value is None:
        if kind not in ids.IDENTIFIER_KINDS:
            raise InvalidInput(f"unknown identifier kind {kind!r}")
        if existing is not None:
            customer.identifiers.remove(existing)
        return
    normalized = ids.normalize_identifier(kind, value)
    lookup = vault.fields.lookup_hash(kind, normalized)
    holders = [c for c in uow.customers.by_identifier_hash(lookup) if c.id != customer.id]
    if holders:
        raise Conflict(f"this {ids.identifier_label(kind, 'en')} already belongs to customer {holders[0].code}")
    sealed = vault.fields.seal(normalized, context=f"customer:{customer.id}:{kind}")
    if existing is None:
        customer.identifiers.append(CustomerIdentifier(kind, sealed, lookup))
    else:
        existing.sealed, existing.lookup_hash = sealed, lookup


def open_identifier(vault: Vault, customer: Customer, ident: CustomerIdentifier) -> str:
    """Decrypt, and check the keyed hash too: a swapped or edited field is caught either way."""
    value = vault.fields.open(ident.sealed, context=f"customer:{customer.id}:{ident.kind}")
    if vault.fields.lookup_hash(ident.kind, value) != ident.lookup_hash:
        raise IntegrityFailure(f"integrity check failed: {ident.kind} of customer {customer.code}")
    return value


def _view(vault: Vault, uow: UnitOfWork, user: User, customer: Customer, *, reveal: bool,
          owners: dict[int, str] | None = None) -> CustomerView:
    unmasked = reveal and allows(user, Action.IDENTIFIER_UNMASK)
    idents = []
    try:
        for ident in sorted(customer.identifiers, key=lambda i: i.kind):
            value = open_identifier(vault, customer, ident)
            idents.append(IdentifierView(ident.kind, value if unmasked else ids.mask_identifier(ident.kind, value),
                                         masked=not unmasked))
        phone, email = open_contact(vault, customer, "phone"), open_contact(vault, customer, "email")
    except IntegrityFailure as exc:  # recorded by the unit of work after its rollback
        exc.audit = dict(actor=user.name, action="customer.read", object_type="customer", object_id=customer.code,
                         customer_code=customer.code, outcome="integrity-failed", details={"error": exc.message})
        raise
    if owners is None:
        owners = uow.users.names({customer.owner_id} if customer.owner_id else set())
    merged_into = uow.customers.get(customer.merged_into_id) if customer.merged_into_id else None
    return CustomerView(
        status=customer.status, merged_into=merged_into.code if merged_into else None,
        code=customer.code, name=customer.name, kind=customer.kind, tier=customer.tier,
        owner=owners.get(customer.owner_id),
        phone=phone, email=email,
        identifiers=idents, created_at=customer.created_at, updated_at=customer.updated_at,
        review_due=customer.review_due)


def open_contact(vault: Vault, customer: Customer, which: str) -> str | None:
    sealed = getattr(customer, f"{which}_sealed")
    return vault.fields.open(sealed, context=f"customer:{customer.id}:{which}") if sealed else None
