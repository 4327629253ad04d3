"""What services hand back to entrypoints: plain data, safe to print or serialize."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone


def _plain(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc).isoformat()  # stored as UTC; SQLite drops the zone
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class View:
    def to_dict(self) -> dict:
        return _plain(asdict(self))


@dataclass
class UserView(View):
    name: str
    role: str
    own_customers_only: bool
    disabled: bool
    created_at: datetime
    has_password: bool = False  # without one the user cannot sign in (users made before passwords existed)
    second_factor: bool = False  # two-step sign-in (TOTP) is on
    locked: bool = False  # too many failed sign-ins: until an administrator unlocks


@dataclass
class IdentifierView(View):
    kind: str
    value: str
    masked: bool


@dataclass
class CustomerView(View):
    code: str
    name: str
    kind: str
    tier: str
    owner: str | None
    phone: str | None
    email: str | None
    identifiers: list[IdentifierView] = field(default_factory=list)
    status: str = "active"
    merged_into: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    document_count: int | None = None
    review_due: date | None = None  # the next periodic (KYC) review


@dataclass
class VersionView(View):
    version: int
    sha256: str
    size: int
    media_type: str
    original_name: str | None
    canonical_name: str
    uploaded_by: str | None
    uploaded_at: datetime
    note: str | None
    text_status: str = "pending"  # pending | done | none | failed | needs_password
    text_confidence: float | None = None  # OCR's confidence, 0..1, when the text came from OCR
    text_error: str | None = None
    near_duplicate_of: int | None = None  # the document this version's text closely resembles


@dataclass
class DocumentView(View):
    id: int
    customer: str
    customer_name: str
    category: str
    subtype: str | None
    title: str
    tags: list[str]
    sensitivity: str
    issued_on: date | None
    expires_on: date | None
    paper_location: str | None
    status: str
    version: int
    sha256: str
    size: int
    media_type: str
    canonical_name: str
    created_at: datetime
    updated_at: datetime
    text_status: str = "pending"
    near_duplicate_of: int | None = None
    suggestion: dict | None = None  # from ingestion: category, subtype, tags, confidence
    fields_status: str = "none"  # ID-document fields of the current version: none|proposed|confirmed|rejected


@dataclass
class Page(View):
    items: list
    total: int
    limit: int
    offset: int


@dataclass
class ActivityView(View):
    """An audit event as the pages show it to anyone who may see its object: there `details` keeps only plain
    facts (version and page numbers, names of changed fields, a status), or nothing."""
    seq: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    customer: str | None
    outcome: str
    details: dict
    title: str | None = None  # the document's title, when the event is about one the reader may see


@dataclass
class AuditEventView(ActivityView):
    """An audit event whole, for those who may read the trail."""
    hash: str = ""


@dataclass
class ExpiringDocumentView(View):
    id: int
    title: str
    category: str
    subtype: str | None
    expires_on: date
    customer: str
    customer_name: str


@dataclass
class ReviewDueView(View):
    code: str
    name: str
    tier: str
    owner: str | None
    review_due: date


@dataclass
class DashboardView(View):
    """What needs doing, as far as the user may see: every count is of what the user may see."""
    today: date
    expiring_30: Page  # items: ExpiringDocumentView, expiring today up to 30 days from now
    expiring_60: Page  # in 31 to 60 days
    expiring_90: Page  # in 61 to 90 days
    expired: Page  # before today
    inbox_waiting: int | None  # None: the user may not use the inbox
    reviews_due: Page | None  # items: ReviewDueView, due today or earlier; None: the user may not read customers
    activity: list[ActivityView]  # the newest events about customers the user may see, without details
    filings_to_confirm: int | None = None  # pending classifier filings; None: the user may not settle them


# Sign-in security. Values that are secrets (tokens, TOTP secrets, recovery codes) are shown once and kept out
# of reprs, so a log line of a result never carries them.

@dataclass
class SignInResult(View):
    status: str  # signed_in | second_factor_needed
    user: str
    token: str = field(repr=False)  # the session token (or, while a code is awaited, the pending one): once
    expires_at: datetime | None = None
    enrolment_required: bool = False  # the role needs a second factor not set up yet: only enrolment is open


@dataclass
class SessionInfo(View):
    id: str = field(repr=False)  # SHA-256 of the token (never the token)
    user: str = ""
    role: str = ""
    created_at: datetime | None = None
    last_seen_at: datetime | None = None
    ends_at: datetime | None = None
    second_factor: bool = False  # a code was checked in this session
    enrolment_only: bool = False
    principal: str = field(default="", repr=False)  # pass as `actor` to services (a Principal: carries limits)


@dataclass
class TotpEnrolment(View):
    secret: str = field(repr=False)  # base32, for typing into an app by hand
    uri: str = field(repr=False)  # otpauth://totp/...
    qr_svg: str = field(repr=False)  # the URI as an SVG QR code


@dataclass
class TokenView(View):
    id: int
    name: str
    prefix: str
    user: str
    scope: list[str] | None  # None: whatever the user's role allows
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass
class NewToken(View):
    token: str = field(repr=False)  # shown once; only its SHA-256 is kept
    view: TokenView | None = None


@dataclass
class TokenIdentity(View):
    user: str
    token_id: int
    prefix: str
    scope: list[str] | None
    principal: str = field(default="", repr=False)  # pass as `actor` to services


@dataclass
class MissingView(View):
    """A document the customer should have on file and has not (or has only expired ones of)."""
    requirement: str
    label_zh: str
    label_en: str
    category: str
    subtypes: list[str]
    expired_on: date | None = None  # all documents that would meet it expired, the last on this day
