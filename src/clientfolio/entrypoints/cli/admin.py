"""`clientfolio user …`, `audit …`, `check`, `backup …`: administration and proof."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.table import Table

from clientfolio import bootstrap
from clientfolio.domain.errors import InvalidInput
from clientfolio.entrypoints.cli.app import emit, state
from clientfolio.services import audit, backups, users
from clientfolio.services.vault import check_vault

user_app = typer.Typer(no_args_is_help=True, help="Users and roles. 用户与角色。")
audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit trail. 审计日志。")
backup_app = typer.Typer(no_args_is_help=True, help="Encrypted, verified backups. 备份。")


@user_app.command("add")
def user_add(name: str, role: str = typer.Option(..., "--role", help="viewer | clerk | manager | auditor | admin"),
             own_customers_only: bool = typer.Option(False, "--own-customers-only")):
    view = users.add_user(vault=state.vault, actor=state.actor, name=name, role=role,
                          own_customers_only=own_customers_only)
    emit(view, text=f"added user {view.name} ({view.role})")


@user_app.command("list")
def user_list():
    found = users.list_users(vault=state.vault, actor=state.actor)
    table = Table("name", "role", "own customers only", "disabled", "password", "2FA", "locked")
    for u in found:
        table.add_row(u.name, u.role, "yes" if u.own_customers_only else "", "yes" if u.disabled else "",
                      "yes" if u.has_password else "", "yes" if u.second_factor else "", "LOCKED" if u.locked else "")
    emit(found, table=table)


@user_app.command("set-role")
def user_set_role(name: str, role: str = typer.Option(None, "--role"),
                  own_customers_only: bool = typer.Option(None, "--own-customers-only/--all-customers"),
                  disabled: bool = typer.Option(None, "--disable/--enable")):
    view = users.set_role(vault=state.vault, actor=state.actor, name=name, role=role,
                          own_customers_only=own_customers_only, disabled=disabled)
    emit(view, text=f"user {view.name}: role {view.role}, own customers only: {view.own_customers_only}")


def _when(value: str | None, what: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} must be a date or time like 2026-11-01 or 2026-11-01T08:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


@audit_app.command("log")
def audit_log(customer: str = typer.Option(None, "--customer"), user: str = typer.Option(None, "--by"),
              action: str = typer.Option(None, "--action", help="e.g. document.read or document.*"),
              since: str = typer.Option(None, "--since"), until: str = typer.Option(None, "--until"),
              document: int = typer.Option(None, "--document"),
              limit: int = typer.Option(100, "--limit"), offset: int = typer.Option(0, "--offset")):
    events = audit.audit_log(vault=state.vault, actor=state.actor, customer_code=customer, user=user, action=action,
                             since=_when(since, "--since"), until=_when(until, "--until"),
                             object_type="document" if document is not None else None,
                             object_id=str(document) if document is not None else None, limit=limit, offset=offset)
    table = Table("seq", "time (UTC)", "actor", "action", "object", "customer", "outcome", "details")
    for e in events:
        table.add_row(str(e.seq), e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action,
                      f"{e.object_type}:{e.object_id}", e.customer or "", e.outcome,
                      ", ".join(f"{k}={v}" for k, v in e.details.items()))
    emit(events, table=table)


@audit_app.command("verify")
def audit_verify():
    report = audit.audit_verify(vault=state.vault, actor=state.actor)
    data = {"ok": report.ok, "events": report.events, "first_broken_seq": report.first_broken_seq,
            "reason": report.reason, "head_hash": report.head_hash}
    if report.ok:
        emit(data, text=f"audit chain intact: {report.events:,} events, head {report.head_hash[:16]}")
    else:
        emit(data, text=f"audit chain BROKEN at event {report.first_broken_seq}: {report.reason} "
                        f"({report.events:,} events verified before it)")
        raise typer.Exit(5)


def check(gc: bool = typer.Option(False, "--gc", help="Remove blobs no row points at."),
          grace: int = typer.Option(3600, "--grace", help="With --gc, keep orphans younger than this many seconds "
                                                          "(an upload may be about to commit).")):
    """Verify every blob and sealed field; report (and with --gc remove) unreferenced blobs."""
    report = check_vault(vault=state.vault, actor=state.actor, gc=gc, grace_seconds=grace)
    lines = [f"checked {report.versions_checked} versions, {report.identifiers_checked} identifiers, "
             f"{report.blobs_in_store} blobs in store",
             f"unreferenced blobs: {len(report.unreferenced_blobs)}" + (f", removed {report.removed_blobs}" if gc else ""),
             *(f"PROBLEM: {p}" for p in report.problems)]
    lines.append("vault OK" if report.ok else f"{len(report.problems)} problem(s) found")
    emit(report, text="\n".join(lines))
    if not report.ok:
        raise typer.Exit(5)


@backup_app.command("create")
def backup_create(dest: Path):
    result = backups.create_backup(vault=state.vault, actor=state.actor, dest=dest)
    emit(result, text=f"backup {result.snapshot}: {result.files} files, {result.copied} new "
                      f"({result.bytes_copied:,} bytes copied)")


@backup_app.command("verify")
def backup_verify(dest: Path, snapshot: str = typer.Option(None, "--snapshot")):
    result = backups.verify_backup(vault=state.vault, actor=state.actor, dest=dest, snapshot=snapshot)
    text = (f"backup {result.snapshot}: {result.files_checked} files verified" if result.ok else
            "\n".join([f"backup {result.snapshot}: {len(result.problems)} problem(s)", *result.problems]))
    emit(result, text=text)
    if not result.ok:
        raise typer.Exit(5)


@backup_app.command("restore")
def backup_restore(dest: Path, home: Path = typer.Option(..., "--home", help="A new, empty folder."),
                   key_file: Path = typer.Option(..., "--key-file", help="The vault's master key file."),
                   snapshot: str = typer.Option(None, "--snapshot")):
    """Rebuild a vault from a backup; the master key is never in the backup."""
    result = bootstrap.restore(dest, home=home, key_file=key_file, snapshot=snapshot)
    emit(result, text=f"restored snapshot {result['snapshot']} into {result['home']}: "
                      f"{result['versions_checked']} versions verified, audit chain "
                      f"{'intact' if result['audit_ok'] else 'BROKEN'}")
