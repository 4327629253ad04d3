"""What every service receives: the vault (ports and settings) and the acting user's name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from clientfolio.domain import policy
from clientfolio.domain.credentials import AuthSettings
from clientfolio.domain.errors import NotFound, PermissionDenied
from clientfolio.domain.model import Customer, Document, User
from clientfolio.domain.policy import Action
from clientfolio.domain.ports import (BlobStore, DocumentClassifier, FieldCipher, JobQueue, PageRenderer,
                                      PasswordHasher, SecondFactor, TableWriter, TextExtractor, TextSignature)
from clientfolio.domain.taxonomy import Taxonomy


class UnitOfWork(Protocol):
    users: Any
    customers: Any
    documents: Any
    audit: Any
    meta: Any
    inbox: Any
    auth: Any  # sessions, failed sign-ins, recovery codes, API tokens
    blobs: BlobStore
    via: str | None  # how the acting user came in, when through a token: added to every audit event

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc) -> None: ...
    def commit(self) -> None: ...
    def note_blob(self, blob_id: str) -> None: ...
    def record(self, **event) -> None: ...


@dataclass
class Vault:
    uow: Callable[..., UnitOfWork]  # uow(read_only=True): a snapshot that takes no write lock and records nothing
    blobs: BlobStore
    fields: FieldCipher
    taxonomy: Taxonomy
    naming_template: str
    home: Path
    audit_key: bytes
    max_upload_bytes: int = 2 * 1024**3
    backup_engine: Any = None  # adapters.backup.BackupEngine, for the backup services
    key_id: str = ""
    jobs: JobQueue | None = None  # None: nothing runs in the background (extraction is then on demand)
    extractor: TextExtractor | None = None
    search: Any = None  # adapters.search_index.KeyedSearchIndex
    similarity: TextSignature | None = None  # keyed MinHash for near-duplicates
    classifier: DocumentClassifier | None = None  # rules and the learned model
    auto_file_threshold: float = 0.85  # ingestion files by a suggestion this confident (config.toml)
    audit_anchor: Callable[[], tuple[int, str] | None] = lambda: None  # newest head seen committed
    passwords: PasswordHasher | None = None  # argon2id (adapters/passwords.py)
    second_factor: SecondFactor | None = None  # TOTP and recovery codes
    auth: AuthSettings = field(default_factory=AuthSettings)  # config.toml [auth]
    auth_key: bytes = b""  # a subkey of the master key: CSRF tokens, recovery code hashes
    webhook_sender: Any = None  # adapters.webhook_sender.HttpSender: the worker posts deliveries with it
    time_zone: str = "Asia/Shanghai"  # config.toml time_zone: how pages show times (stored times are UTC)
    requirements: tuple = ()  # domain.requirements.Requirement: what each customer should have on file
    previews: PageRenderer | None = None  # pages of PDFs and images as PNG (adapters/previews.py)
    tables: TableWriter | None = None  # CSV / XLSX files of rows (adapters/spreadsheets.py)


def vault_today(vault: Vault) -> date:
    """Today's date where the vault's users are (config.toml time_zone): what "due" and "expired" count from."""
    return datetime.now(ZoneInfo(vault.time_zone)).date()


def acting_user(uow: UnitOfWork, name: str) -> User:
    """The user acting. `name` may be a `domain.credentials.Principal` (a token, or a sign-in that must set up
    its second factor first): the user's rights are then narrowed to its scope for this unit of work, and
    every audit event written in it says how the user came in."""
    user = uow.users.by_name(str(name))
    if user is None:
        raise NotFound(f"no user named {str(name)!r}")
    scope = getattr(name, "scope", None)
    if scope is not None:
        policy.narrow(user, scope)
    via = getattr(name, "via", None)
    if via:
        uow.via = via
    return user


def deny(user: User, action: str, reason: str, *, object_type: str, object_id: str) -> PermissionDenied:
    """A denial decided outside the policy table, audited like any other (raise the result)."""
    exc = PermissionDenied(f"permission denied: {reason}", action=action, object_type=object_type,
                           object_id=object_id)
    exc.audit = dict(actor=user.name, action=action, object_type=object_type, object_id=object_id,
                     customer_code=None, outcome="denied", details={"reason": exc.message})
    return exc


def authorize(user: User, action: Action, *, customer: Customer | None = None,
              document: Document | None = None, object_type: str = "", object_id: str = "") -> None:
    """policy.authorize, with the denial marked for the unit of work to audit after rollback."""
    try:
        policy.authorize(user, action, customer=customer, document=document,
                         object_type=object_type, object_id=object_id)
    except PermissionDenied as exc:
        exc.audit = dict(actor=user.name, action=exc.action, object_type=exc.object_type or "-",
                         object_id=exc.object_id or "-", customer_code=exc.customer_code,
                         outcome="denied", details={"reason": exc.message})
        raise


def customer_or_404(uow: UnitOfWork, user: User, code: str) -> Customer:
    """The customer with this code, if the user may read it."""
    customer = uow.customers.by_code(code.strip().upper())
    if customer is None:
        raise NotFound(f"no customer with code {code!r}")
    authorize(user, Action.CUSTOMER_READ, customer=customer)
    return customer


def document_or_404(uow: UnitOfWork, user: User, document_id: int, *,
                    include_deleted: bool = False) -> tuple[Document, Customer]:
    """The document, if the user may read its metadata. A deleted one is hidden from whoever cannot restore
    it, except when the caller is about to check that very right (so an undelete attempt is a denial)."""
    document = uow.documents.get(document_id) if 0 < document_id < 2**63 else None  # no overflow in SQL
    hidden = document is not None and document.status == "deleted" and not include_deleted \
        and not policy.allows(user, Action.DOCUMENT_RESTORE)
    if document is None or hidden:
        raise NotFound(f"no document with id {document_id}")
    customer = uow.customers.get(document.customer_id)
    authorize(user, Action.DOCUMENT_READ_META, customer=customer, document=document)
    return document, customer
