"""Query specifications: what a list asks for, permission limits included."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


CUSTOMER_SORTS = ("code", "name", "created", "-created", "review_due")
CUSTOMER_STATUSES = ("active", "merged")


@dataclass(frozen=True)
class CustomerFilter:
    owner_id: int | None = None  # restricts to one owner (own-customers-only users)
    tier: str | None = None
    kind: str | None = None
    name_contains: str | None = None
    include_merged: bool = False
    status: str | None = None  # active | merged; wins over include_merged
    review_due_before: date | None = None
    sort: str = "code"
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class DocumentFilter:
    include_sensitive: bool
    owner_id: int | None = None
    customer_id: int | None = None
    category: str | None = None
    category_not: str | None = None
    subtype: str | None = None
    tag: str | None = None
    suggestion_pending: bool = False  # only documents whose classifier suggestion no person has settled yet
    statuses: tuple[str, ...] = ("active", "archived")
    expires_from: date | None = None
    expires_before: date | None = None
    sort: str = "id"  # id | -id | title | expires | -updated
    limit: int = 100
    offset: int = 0


DOCUMENT_SORTS = ("id", "-id", "title", "expires", "-updated")


@dataclass(frozen=True)
class AuditFilter:
    customer_code: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    object_type: str | None = None
    object_id: str | None = None
    # Limits for users who are not auditors: events about customers only, their own customers only, and no
    # event about a sensitive document.
    about_customers: bool = False
    owner_id: int | None = None
    hide_sensitive: bool = False
    limit: int = 100
    offset: int = 0
