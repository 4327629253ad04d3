"""Vault-wide use cases: first initialization, integrity check and clean-up."""

from __future__ import annotations

import contextlib

import time
from dataclasses import dataclass, field

from clientfolio.domain.errors import IntegrityFailure
from clientfolio.domain.policy import Action
from clientfolio.services.context import Vault, acting_user, authorize
from clientfolio.services.customers import open_contact, open_identifier
from clientfolio.services.users import create_first_admin


def initialize_vault(vault: Vault, *, admin: str) -> None:
    with vault.uow() as uow:
        uow.meta.set("key_id", vault.key_id)
        uow.meta.set("schema", "1")
        uow.meta.set("first_admin", admin)
        uow.record(actor=admin, action="vault.init", object_type="vault", object_id="-",
                   details={"key_id": vault.key_id})
        create_first_admin(uow, admin)
        uow.commit()


def default_actor(vault: Vault) -> str:
    """Who the CLI acts as when --user is not given: the administrator made by `init`."""
    with vault.uow() as uow:
        return uow.meta.get("first_admin") or "admin"


@dataclass
class CheckReport:
    versions_checked: int = 0
    blobs_in_store: int = 0
    identifiers_checked: int = 0
    problems: list[str] = field(default_factory=list)
    unreferenced_blobs: list[str] = field(default_factory=list)
    removed_blobs: int = 0
    stale_temp_files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {"ok": self.ok, "versions_checked": self.versions_checked,
                "blobs_in_store": self.blobs_in_store, "identifiers_checked": self.identifiers_checked,
                "problems": self.problems, "unreferenced_blobs": self.unreferenced_blobs,
                "removed_blobs": self.removed_blobs, "stale_temp_files": self.stale_temp_files}


def check_vault(*, vault: Vault, actor: str, gc: bool = False, grace_seconds: int = 3600) -> CheckReport:
    """Verify every version's blob and every sealed identifier; list (and with gc remove) orphans."""
    report = CheckReport()
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.VAULT_MAINTAIN, object_type="vault", object_id="check")
        referenced = set()
        for version in uow.documents.all_versions():
            report.versions_checked += 1
            referenced.add(version.blob_id)
            try:
                vault.blobs.verify(version.blob_id, expected_sha256=version.sha256)
            except IntegrityFailure as exc:
                report.problems.append(f"document {version.document_id} version {version.number}: {exc.message}")
            for derived in (version.text_blob_id, version.rendition_blob_id):  # extracted text, PDF rendition
                if derived:
                    referenced.add(derived)
                    try:
                        vault.blobs.verify(derived)
                    except IntegrityFailure as exc:
                        report.problems.append(f"document {version.document_id} version {version.number} "
                                               f"(derived file): {exc.message}")
        for item in uow.inbox.all():  # files waiting to be filed (or set aside) are kept too
            for blob_id in (item.blob_id, item.text_blob_id, item.rendition_blob_id):
                if blob_id:
                    referenced.add(blob_id)
                    try:
                        vault.blobs.verify(blob_id, expected_sha256=item.sha256 if blob_id == item.blob_id else None)
                    except IntegrityFailure as exc:
                        report.problems.append(f"inbox item {item.id}: {exc.message}")
        for customer in uow.customers.all():
            for ident in customer.identifiers:
                report.identifiers_checked += 1
                try:
                    open_identifier(vault, customer, ident)
                except IntegrityFailure:
                    report.problems.append(f"customer {customer.code}: {ident.kind} failed its integrity check")
            for which in ("phone", "email"):
                try:
                    open_contact(vault, customer, which)
                except IntegrityFailure:
                    report.problems.append(f"customer {customer.code}: {which} failed its integrity check")
    stored = set(vault.blobs.ids())
    report.blobs_in_store = len(stored)
    report.unreferenced_blobs = sorted(stored - referenced)
    stale = vault.blobs.stale_temp_files()
    report.stale_temp_files = len(stale)
    if gc:
        # A young orphan may belong to an upload whose row is about to commit: leave it for later.
        for blob_id in report.unreferenced_blobs:
            if vault.blobs.age_seconds(blob_id) >= grace_seconds:
                vault.blobs.delete(blob_id)
                report.removed_blobs += 1
        for path in stale:
            with contextlib.suppress(FileNotFoundError):  # the upload finished meanwhile
                if time.time() - path.stat().st_mtime >= grace_seconds:  # an upload may still be writing it
                    path.unlink()
    with vault.uow() as uow:
        uow.record(actor=actor, action="vault.check", object_type="vault", object_id="-",
                   outcome="ok" if report.ok else "problems",
                   details={"versions": report.versions_checked, "problems": len(report.problems),
                            "unreferenced": len(report.unreferenced_blobs), "removed": report.removed_blobs})
        uow.commit()
    return report
