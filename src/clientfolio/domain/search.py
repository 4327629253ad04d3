"""What search indexes and how it is asked: plain values shared by the search service and the index adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple


@dataclass(frozen=True)
class IndexedDocument:
    """What is indexed for one document. `text` and the metadata strings are hashed, never stored."""

    doc_id: int
    customer_id: int
    text: str = ""
    title: str = ""
    tags: tuple[str, ...] = ()
    canonical_name: str = ""
    customer_name: str = ""
    customer_code: str = ""
    owner_id: int | None = None  # the customer's account manager (own-customers-only users see theirs)
    category: str = ""
    subtype: str | None = None
    sensitivity: str = "normal"  # normal | sensitive
    status: str = "active"  # active | archived | deleted
    issued_on: date | None = None
    expires_on: date | None = None


@dataclass(frozen=True)
class SearchFilters:
    customer_id: int | None = None
    category: str | None = None
    subtype: str | None = None
    tags: tuple[str, ...] = ()  # every one of them
    sensitivity: str | None = None
    issued_from: date | None = None  # inclusive bounds
    issued_to: date | None = None
    expires_from: date | None = None
    expires_to: date | None = None
    expires_before: date | None = None  # exclusive: "expiring before"


@dataclass(frozen=True)
class Visibility:
    """What the asking user may read; built by the service layer from the permission policy."""

    include_sensitive: bool
    owner_id: int | None = None  # own-customers-only users: only this owner's customers
    statuses: tuple[str, ...] = ("active", "archived")
    content: bool = True  # False: match metadata only (a role that may not read document content)


class SearchHit(NamedTuple):
    doc_id: int
    score: float


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[SearchHit] = field(default_factory=list)
