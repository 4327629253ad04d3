"""Backups as user actions: authorized, and recorded in the audit trail."""

from __future__ import annotations

from pathlib import Path

from clientfolio.domain.policy import Action
from clientfolio.services.context import Vault, acting_user, authorize


def create_backup(*, vault: Vault, actor: str, dest: Path):
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.VAULT_MAINTAIN, object_type="backup", object_id="create")
    result = vault.backup_engine.create(dest)
    with vault.uow() as uow:
        uow.record(actor=actor, action="backup.create", object_type="backup", object_id=result.snapshot,
                   details={"files": result.files, "copied": result.copied, "bytes_copied": result.bytes_copied})
        uow.commit()
    return result


def verify_backup(*, vault: Vault, actor: str, dest: Path, snapshot: str | None = None):
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.VAULT_MAINTAIN, object_type="backup", object_id="verify")
    result = vault.backup_engine.verify(dest, snapshot)
    with vault.uow() as uow:
        uow.record(actor=actor, action="backup.verify", object_type="backup", object_id=result.snapshot,
                   outcome="ok" if result.ok else "problems",
                   details={"files": result.files_checked, "problems": len(result.problems)})
        uow.commit()
    return result
