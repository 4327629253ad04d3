"""Entities of the vault. Plain classes: the ORM maps them from outside (adapters/orm.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from enum import StrEnum

from clientfolio.domain.errors import InvalidInput


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Role(StrEnum):
    VIEWER = "viewer"
    CLERK = "clerk"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


class CustomerKind(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"


class Tier(StrEnum):
    KEY = "key"
    STANDARD = "standard"
    PROSPECT = "prospect"


# Periodic customer review (KYC): years between two reviews, by tier.
REVIEW_YEARS: dict[Tier, int] = {Tier.KEY: 1, Tier.STANDARD: 2, Tier.PROSPECT: 3}


def next_review(tier: str, after: date) -> date:
    """When a customer of this tier is next due for review, counted from `after` (29 February -> 28th)."""
    year = after.year + REVIEW_YEARS[Tier(tier)]
    try:
        return after.replace(year=year)
    except ValueError:
        return after.replace(year=year, day=28)


class Sensitivity(StrEnum):
    NORMAL = "normal"
    SENSITIVE = "sensitive"


class DocumentStatus(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"
    DELETED = "deleted"


def parse_choice(enum: type[StrEnum], value: str, what: str) -> StrEnum:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(m.value for m in enum)
        raise InvalidInput(f"{what} must be one of: {choices} (got {value!r})") from None


class User:
    id: int
    name: str
    role: str
    own_customers_only: bool
    disabled: bool
    created_at: datetime
    # Sign-in (see domain/credentials.py). No password: the user cannot sign in until one is set.
    password_hash: str | None
    password_changed_at: datetime | None
    totp_secret_sealed: bytes | None  # sealed with the field key; pending until totp_enabled
    totp_enabled: bool
    totp_last_step: int | None  # the last TOTP time step accepted: a code is never accepted twice
    failed_sign_ins: int
    locked_at: datetime | None
    # Not stored: set for one unit of work when the user acts through a token (policy.narrow).
    scope: frozenset[str] | None = None

    def __init__(self, name: str, role: Role, *, own_customers_only: bool = False):
        self.name = name
        self.role = role.value
        self.own_customers_only = own_customers_only
        self.disabled = False
        self.created_at = utcnow()
        self.password_hash = self.password_changed_at = None
        self.totp_secret_sealed = None
        self.totp_enabled = False
        self.totp_last_step = None
        self.failed_sign_ins = 0
        self.locked_at = None


class Customer:
    id: int
    code: str
    name: str
    kind: str
    tier: str
    owner_id: int | None
    phone_sealed: bytes | None
    email_sealed: bytes | None
    status: str  # active | merged
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime
    review_due: date | None  # the next periodic review (KYC); None: none scheduled
    identifiers: list[CustomerIdentifier]

    def __init__(self, name: str, kind: CustomerKind, tier: Tier, owner_id: int | None):
        self.code = ""  # assigned from the row id once flushed
        self.name = name
        self.kind = kind.value
        self.tier = tier.value
        self.owner_id = owner_id
        self.phone_sealed = None
        self.email_sealed = None
        self.status = "active"
        self.merged_into_id = None
        self.created_at = self.updated_at = utcnow()
        self.review_due = None
        self.identifiers = []

    def schedule_review(self, today: date, *, keep_if_sooner: bool = False) -> None:
        """The next review: one interval of the customer's tier after `today` (or the current date, if sooner
        and `keep_if_sooner`: a tier change never postpones a review already due earlier)."""
        due = next_review(self.tier, today)
        if not (keep_if_sooner and self.review_due is not None and self.review_due < due):
            self.review_due = due

    def identifier(self, kind: str) -> CustomerIdentifier | None:
        return next((i for i in self.identifiers if i.kind == kind), None)


def customer_code(row_id: int) -> str:
    return f"C{row_id:06d}"


class CustomerIdentifier:
    """An identifier sealed at rest, with a keyed hash so an exact number can be looked up."""

    id: int
    customer_id: int
    kind: str
    sealed: bytes
    lookup_hash: str

    def __init__(self, kind: str, sealed: bytes, lookup_hash: str):
        self.kind = kind
        self.sealed = sealed
        self.lookup_hash = lookup_hash


class Document:
    id: int
    customer_id: int
    category: str
    subtype: str | None
    title: str
    sensitivity: str
    issued_on: date | None
    expires_on: date | None
    paper_location: str | None
    status: str
    created_by: int
    created_at: datetime
    updated_at: datetime
    suggestion: str | None
    indexed_at: datetime | None
    versions: list[Version]
    tag_rows: list[DocumentTag]

    def __init__(self, *, customer_id: int, category: str, subtype: str | None, title: str,
                 sensitivity: Sensitivity, issued_on: date | None, expires_on: date | None,
                 paper_location: str | None, created_by: int):
        self.customer_id = customer_id
        self.category = category
        self.subtype = subtype
        self.title = title
        self.sensitivity = sensitivity.value
        self.issued_on = issued_on
        self.expires_on = expires_on
        self.paper_location = paper_location
        self.status = DocumentStatus.ACTIVE.value
        self.created_by = created_by
        self.created_at = self.updated_at = utcnow()
        self.suggestion = None
        self.indexed_at = None
        self.versions = []
        self.tag_rows = []

    @property
    def tags(self) -> list[str]:
        return sorted(t.tag for t in self.tag_rows)

    def set_tags(self, tags: list[str]) -> None:
        wanted = set(tags)
        self.tag_rows[:] = [t for t in self.tag_rows if t.tag in wanted]
        have = {t.tag for t in self.tag_rows}
        self.tag_rows.extend(DocumentTag(t) for t in sorted(wanted - have))

    @property
    def latest(self) -> Version:
        return max(self.versions, key=lambda v: v.number)

    def version(self, number: int) -> Version | None:
        return next((v for v in self.versions if v.number == number), None)

    @property
    def is_sensitive(self) -> bool:
        return self.sensitivity == Sensitivity.SENSITIVE.value


class DocumentTag:
    document_id: int
    tag: str

    def __init__(self, tag: str):
        self.tag = tag


class Version:
    id: int
    document_id: int
    number: int
    blob_id: str
    sha256: str
    size: int
    media_type: str
    original_name_sealed: bytes | None
    uploaded_by: int
    uploaded_at: datetime
    note: str | None
    text_status: str  # pending | done | failed | needs_password | none (nothing to extract)
    text_blob_id: str | None
    text_confidence: float | None
    text_pages: int | None
    text_error: str | None
    text_attempts: int
    rendition_blob_id: str | None
    text_signature: bytes | None
    near_duplicate_of: int | None  # the document whose text this version's text closely resembles
    fields_kind: str | None  # resident_id_front | resident_id_back | business_licence | passport
    fields_sealed: bytes | None  # the proposal (domain.fields.Proposal as JSON), sealed
    fields_status: str  # none | proposed | confirmed | rejected

    def __init__(self, *, number: int, blob_id: str, sha256: str, size: int, media_type: str,
                 uploaded_by: int, note: str | None):
        self.number = number
        self.blob_id = blob_id
        self.sha256 = sha256
        self.size = size
        self.media_type = media_type
        self.original_name_sealed = None
        self.uploaded_by = uploaded_by
        self.uploaded_at = utcnow()
        self.note = note
        self.text_status = "pending"
        self.text_blob_id = self.text_error = self.rendition_blob_id = None
        self.text_confidence = None
        self.text_pages = None
        self.text_attempts = 0
        self.text_signature = None
        self.near_duplicate_of = None
        self.fields_kind = self.fields_sealed = None
        self.fields_status = "none"


class InboxItem:
    """An ingested file no customer could be matched to: stored encrypted, waiting for a person to file it."""

    id: int
    blob_id: str
    sha256: str
    size: int
    media_type: str
    original_name_sealed: bytes | None
    source_sealed: bytes | None
    received_by: int
    received_at: datetime
    text_status: str
    text_blob_id: str | None
    text_confidence: float | None
    text_pages: int | None
    text_error: str | None
    rendition_blob_id: str | None
    text_signature: bytes | None
    suggestion: str | None
    reason: str
    status: str  # waiting | filed | discarded
    document_id: int | None
    handled_by: int | None
    handled_at: datetime | None

    def __init__(self, *, blob_id: str, sha256: str, size: int, media_type: str, received_by: int, reason: str):
        self.blob_id, self.sha256, self.size, self.media_type = blob_id, sha256, size, media_type
        self.received_by, self.received_at, self.reason = received_by, utcnow(), reason[:300]
        self.original_name_sealed = self.source_sealed = None
        self.text_status = "pending"
        self.text_blob_id = self.text_error = self.rendition_blob_id = None
        self.text_confidence = None
        self.text_pages = None
        self.text_signature = None
        self.suggestion = None
        self.status = "waiting"
        self.document_id = self.handled_by = None
        self.handled_at = None


@dataclass(frozen=True)
class TagRule:
    """Tags are short labels; keep them predictable for filters and URLs."""

    max_length: int = 40

    def clean(self, raw: list[str]) -> list[str]:
        out = []
        for tag in raw:
            tag = tag.strip()
            if not tag:
                continue
            if len(tag) > self.max_length or any(c in tag for c in ",/\\\n\r\t"):
                raise InvalidInput(f"tag {tag[:40]!r} is too long or has a forbidden character")
            out.append(tag)
        return sorted(set(out))
