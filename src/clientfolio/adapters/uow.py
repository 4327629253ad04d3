"""The unit of work: one transaction per user action, with the audit event inside it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from sqlalchemy.orm import sessionmaker

from clientfolio.adapters.repositories import (AuditRepository, CustomerRepository, DocumentRepository,
                                               InboxRepository, MetaRepository, UserRepository)
from clientfolio.adapters.audit_anchor import AuditAnchor
from clientfolio.adapters.auth_repositories import AuthRepository
from clientfolio.adapters.webhook_repository import WebhookRepository
from clientfolio.adapters.database import READ_ONLY
from clientfolio.domain.model import utcnow
from clientfolio.domain.ports import BlobStore


class SqlUnitOfWork:
    def __init__(self, factory: sessionmaker, blobs: BlobStore, audit_key: bytes,
                 anchor: AuditAnchor | None = None, *, read_only: bool = False,
                 after_commit: Callable[[set[str]], None] | None = None):
        self._factory = factory
        self.after_commit = after_commit  # told the audited actions of each commit (webhooks start from it)
        self.read_only = read_only
        self.anchor = anchor
        self._audit_key = audit_key
        self.blobs = blobs
        self._written_blobs: list[str] = []

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._factory()
        if self.read_only:  # a plain BEGIN: on SQLite a WAL snapshot that never blocks writers
            self.session.connection(execution_options={READ_ONLY: True})
        self.users = UserRepository(self.session)
        self.customers = CustomerRepository(self.session)
        self.documents = DocumentRepository(self.session)
        self.audit = AuditRepository(self.session, self._audit_key)
        self.meta = MetaRepository(self.session)
        self.inbox = InboxRepository(self.session)
        self.auth = AuthRepository(self.session)
        self.webhooks = WebhookRepository(self.session)
        self._actions: set[str] = set()
        self.via: str | None = None  # set by services.context.acting_user for a token: noted in every event
        self._written_blobs = []
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is not None:
                self.rollback()
            else:
                self._discard_blobs()  # no commit happened: what was written for it goes
            failure = getattr(exc, "audit", None)
            if failure:
                self._record_failure(failure)
        finally:
            self.session.close()

    def note_blob(self, blob_id: str) -> None:
        """A blob written for this transaction: removed again if the transaction does not commit."""
        self._written_blobs.append(blob_id)

    def commit(self) -> None:
        head = self.audit.pending_head()
        self.session.commit()
        self._written_blobs = []
        self.audit.forget_head()
        if head is not None and self.anchor is not None:
            self.anchor.advance(*head)
        actions, self._actions = self._actions, set()
        if actions and self.after_commit is not None:
            self.after_commit(actions)

    def rollback(self) -> None:
        self._actions = set()
        self.session.rollback()
        self.audit.forget_head()
        self._discard_blobs()

    def _discard_blobs(self) -> None:
        for blob_id in self._written_blobs:
            with contextlib.suppress(OSError):  # else left for `check --gc`: an unreferenced blob is harmless
                self.blobs.delete(blob_id)
        self._written_blobs = []

    def record(self, *, actor: str, action: str, object_type: str, object_id: str,
               customer_code: str | None = None, outcome: str = "ok", details: dict | None = None) -> None:
        if self.read_only:
            raise RuntimeError("a read-only unit of work cannot record audit events")
        via = getattr(actor, "via", None) or self.via  # a domain.credentials.Principal, or acting_user's
        if via and "via" not in (details or {}):
            details = {**(details or {}), "via": via}
        self._actions.add(action)
        self.audit.append(at=utcnow(), actor=str(actor), action=action, object_type=object_type,
                          object_id=str(object_id), customer_code=customer_code, outcome=outcome,
                          details=details or {})

    def _record_failure(self, failure: dict) -> None:
        # The action rolled back; a denial or an integrity failure is recorded on its own, and kept
        # (through commit(), so the audit head anchor moves on too).
        if self.read_only:
            self.session.rollback()
            self.read_only = False
        self.record(**failure)
        self.commit()
