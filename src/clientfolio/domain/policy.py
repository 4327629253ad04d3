"""Who may do what: one table, one function. Services call `authorize` before acting."""

from __future__ import annotations

from enum import StrEnum

from clientfolio.domain.errors import PermissionDenied
from clientfolio.domain.model import Customer, Document, Role, User


class Action(StrEnum):
    CUSTOMER_READ = "customer.read"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_EDIT = "customer.edit"
    CUSTOMER_MERGE = "customer.merge"
    IDENTIFIER_UNMASK = "identifier.unmask"
    DOCUMENT_READ_META = "document.read_meta"
    DOCUMENT_READ_CONTENT = "document.read_content"
    DOCUMENT_CREATE = "document.create"
    DOCUMENT_EDIT = "document.edit"
    DOCUMENT_DELETE = "document.delete"
    DOCUMENT_RESTORE = "document.restore"
    SENSITIVE_READ = "sensitive.read"
    SENSITIVE_META = "sensitive.read_meta"
    AUDIT_READ = "audit.read"
    USER_MANAGE = "user.manage"
    WEBHOOK_MANAGE = "webhook.manage"  # register endpoints, see their deliveries (administrators)
    USER_READ = "user.read"
    VAULT_MAINTAIN = "vault.maintain"  # check, gc, backups, keys
    INBOX_USE = "inbox.use"  # see and file ingested files no customer was matched to
    CLASSIFIER_TRAIN = "classifier.train"  # learn from (and so read) every filed document's text
    ACCOUNT_SELF = "account.self"  # one's own password, second factor, sessions and API tokens


_VIEWER = {Action.CUSTOMER_READ, Action.DOCUMENT_READ_META, Action.DOCUMENT_READ_CONTENT, Action.ACCOUNT_SELF}
_CLERK = _VIEWER | {Action.CUSTOMER_CREATE, Action.CUSTOMER_EDIT, Action.DOCUMENT_CREATE,
                    Action.DOCUMENT_EDIT, Action.INBOX_USE}
_MANAGER = _CLERK | {Action.SENSITIVE_READ, Action.SENSITIVE_META, Action.IDENTIFIER_UNMASK,
                     Action.DOCUMENT_DELETE, Action.DOCUMENT_RESTORE, Action.CUSTOMER_MERGE,
                     Action.CLASSIFIER_TRAIN}
_AUDITOR = {Action.CUSTOMER_READ, Action.DOCUMENT_READ_META, Action.SENSITIVE_META,
            Action.AUDIT_READ, Action.USER_READ, Action.ACCOUNT_SELF}

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset(_VIEWER),
    Role.CLERK: frozenset(_CLERK),
    Role.MANAGER: frozenset(_MANAGER),
    Role.AUDITOR: frozenset(_AUDITOR),
    Role.ADMIN: frozenset(Action),
}

# Actions on a customer's records that an own-customers-only user may take only for their own customers.
_SCOPED = {a for a in Action if a.value.split(".")[0] in {"customer", "identifier", "document", "sensitive"}}


def allows(user: User, action: Action) -> bool:
    """The role allows it and, when the user acts through a token (or an unfinished sign-in), so does its scope."""
    return not user.disabled and action in PERMISSIONS[Role(user.role)] and in_scope(user, action)


def in_scope(user: User, action: Action) -> bool:
    scope = getattr(user, "scope", None)
    return scope is None or action.value in scope


def narrow(user: User, scope: frozenset[str] | None) -> User:
    """Limit `user` (for the rest of one unit of work) to `scope`: the effective rights are the role's
    permissions intersected with every scope applied. None leaves the rights as they are."""
    if scope is not None:
        current = getattr(user, "scope", None)
        user.scope = frozenset(scope) if current is None else current & frozenset(scope)
    return user


def effective_actions(user: User) -> frozenset[Action]:
    return frozenset(a for a in PERMISSIONS[Role(user.role)] if allows(user, a))


def may_see_customer(user: User, customer: Customer) -> bool:
    return not user.own_customers_only or customer.owner_id == user.id


def may_see_document_meta(user: User, document: Document) -> bool:
    """Sensitive documents are invisible (not even listed) to roles without SENSITIVE_META."""
    if not allows(user, Action.DOCUMENT_READ_META):
        return False
    return not document.is_sensitive or allows(user, Action.SENSITIVE_META)


def authorize(user: User, action: Action, *, customer: Customer | None = None,
              document: Document | None = None, object_type: str = "", object_id: str = "") -> None:
    """Raise PermissionDenied (which the unit of work audits) unless `user` may take `action`."""
    code = customer.code if customer is not None else None
    reason = None
    if user.disabled:
        reason = "account is disabled"
    elif action not in PERMISSIONS[Role(user.role)]:
        reason = f"role {user.role} may not {action.value}"
    elif not in_scope(user, action):
        reason = f"the token or sign-in in use does not allow {action.value}"
    elif customer is not None and action in _SCOPED and not may_see_customer(user, customer):
        reason = f"{user.name} may act only on their own customers"
    elif action == Action.INBOX_USE and user.own_customers_only:
        reason = f"{user.name} may act only on their own customers, and inbox items have no customer yet"
    elif action == Action.CLASSIFIER_TRAIN and user.own_customers_only:
        reason = f"{user.name} may act only on their own customers, and learning reads every customer's documents"
    elif document is not None and document.is_sensitive and action not in _SENSITIVE_EXEMPT:
        needed = Action.SENSITIVE_META if action == Action.DOCUMENT_READ_META else Action.SENSITIVE_READ
        if not allows(user, needed):
            reason = f"role {user.role} may not access sensitive documents"
    if reason:
        if document is not None and not object_type:
            object_type, object_id = "document", str(document.id)
        elif customer is not None and not object_type:
            object_type, object_id = "customer", customer.code
        raise PermissionDenied(f"permission denied: {reason}", action=action.value,
                               object_type=object_type, object_id=object_id, customer_code=code)


def may(user: User, action: Action, *, customer: Customer | None = None, document: Document | None = None) -> bool:
    """The decision `authorize` takes, as yes or no (to leave out what the user may not see)."""
    try:
        authorize(user, action, customer=customer, document=document)
    except PermissionDenied:
        return False
    return True


# Front-desk clerks scan ID cards: they may file a sensitive document without being able to read it.
_SENSITIVE_EXEMPT = {Action.DOCUMENT_CREATE}
