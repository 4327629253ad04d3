"""The composition root: settings and keys in, a ready Vault out."""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path

from sqlalchemy import inspect

from clientfolio.adapters import database, orm
from clientfolio.adapters.audit_anchor import AuditAnchor
from clientfolio.adapters.blobstore import LocalBlobStore
from clientfolio.adapters.classifier import MODEL_FILE, Classifier, load_rules
from clientfolio.adapters.extract import Extractor
from clientfolio.adapters.jobs import JobQueue
from clientfolio.adapters.ocr import RapidOcrEngine, engine_available as ocr_available
from clientfolio.adapters.passwords import Argon2Passwords, Totp
from clientfolio.adapters.previews import PagePreviews
from clientfolio.adapters.crypto import (FieldCipher, Keyring, decode_master_key, generate_master_key,
                                         read_key_file, write_key_file)
from clientfolio.adapters.search_index import KeyedSearchIndex
from clientfolio.adapters.similarity import KeyedMinHash
from clientfolio.adapters.spreadsheets import SpreadsheetWriter
from clientfolio.adapters.settings import default_home, load_requirements, load_taxonomy, read_settings, write_config
from clientfolio.adapters.uow import SqlUnitOfWork
from clientfolio.adapters.webhook_sender import HttpSender
from clientfolio.domain import webhooks as webhook_rules
from clientfolio.domain.errors import Conflict, NotInitialized, WrongKey
from clientfolio.services import worker
from clientfolio.services.context import Vault
from clientfolio.services.vault import initialize_vault

__all__ = ["default_home", "open_vault", "init_vault", "restore", "dispose_engines"]

_ENGINES: dict[str, object] = {}


def master_key(key_file: Path) -> bytes:
    """CLIENTFOLIO_MASTER_KEY wins over the key file (for deployments that inject secrets)."""
    from_env = os.environ.get("CLIENTFOLIO_MASTER_KEY")
    return decode_master_key(from_env) if from_env else read_key_file(key_file)


def _engine(url: str):
    if url not in _ENGINES:
        _ENGINES[url] = database.make_engine(url)
    return _ENGINES[url]


def dispose_engines() -> None:
    for engine in _ENGINES.values():
        engine.dispose()
    _ENGINES.clear()


def build_vault(home: Path, *, key: bytes | None = None) -> Vault:
    orm.start_mappers()
    settings = read_settings(home)
    keyring = Keyring(key if key is not None else master_key(settings.key_file))
    blobs = LocalBlobStore(settings.blob_root, keyring)
    factory = database.session_factory(_engine(settings.database_url))
    audit_key = keyring.subkey("audit")
    anchor = AuditAnchor(settings.home / "audit.head", keyring)
    from clientfolio.adapters.backup import BackupEngine

    def on_commit(actions: set[str]) -> None:  # an action webhooks may tell about: the worker delivers it
        if vault.jobs is not None and not actions.isdisjoint(webhook_rules.EVENTS_BY_ACTION):
            try:
                vault.jobs.enqueue("deliver_webhooks")
            except Exception as exc:  # noqa: BLE001 - the change is committed; the worker's tick catches up
                logging.getLogger(__name__).warning("webhook delivery not queued (%s)", type(exc).__name__)

    vault = Vault(
        uow=lambda read_only=False: SqlUnitOfWork(factory, blobs, audit_key, anchor, read_only=read_only,
                                                  after_commit=on_commit),
        audit_anchor=anchor.read,
        blobs=blobs, fields=FieldCipher(keyring), taxonomy=load_taxonomy(settings.home),
        naming_template=settings.naming_template, home=settings.home, audit_key=audit_key,
        max_upload_bytes=settings.max_upload_bytes,
        backup_engine=BackupEngine(settings=settings, keyring=keyring, engine=_engine(settings.database_url),
                                   blobs=blobs),
        key_id=keyring.key_id(),
        extractor=Extractor(ocr=RapidOcrEngine() if ocr_available() is None else None),
        jobs=JobQueue(home=settings.home, redis_url=settings.redis_url, name=f"clientfolio-{keyring.key_id()[:16]}"),
        similarity=KeyedMinHash(keyring.subkey("similarity")),
        search=KeyedSearchIndex(settings.home / "search", keyring.subkey("search-index")))
    vault.classifier = Classifier(
        rules=load_rules(settings.home, vault.taxonomy), model_path=settings.home / MODEL_FILE,
        feature_key=keyring.subkey("classifier-features"), model_key=keyring.subkey("classifier-model"))
    vault.auto_file_threshold = settings.auto_file_threshold
    vault.time_zone = settings.time_zone
    vault.requirements = load_requirements(settings.home, vault.taxonomy)
    vault.passwords, vault.second_factor = Argon2Passwords(), Totp()
    vault.auth, vault.auth_key = settings.auth, keyring.subkey("auth")
    vault.webhook_sender = HttpSender()
    vault.previews, vault.tables = PagePreviews(), SpreadsheetWriter()
    vault.jobs.set_handler(partial(worker.run_job, vault))
    return vault


def is_vault(home: Path) -> bool:
    settings = read_settings(home)
    return settings.home.exists() and _is_initialized(settings.database_url, settings.home)


def open_vault(home: Path) -> Vault:
    """An initialized vault whose master key matches; a clear error otherwise."""
    settings = read_settings(home)
    if not is_vault(home):
        raise NotInitialized(f"no vault at {settings.home}: run `clientfolio init` first")
    vault = build_vault(home)
    engine = _engine(settings.database_url)
    if not database.is_current(engine):
        _check_key(vault)  # never migrate a vault we cannot prove is ours
        database.upgrade(engine)
    _check_key(vault)
    return vault


def _check_key(vault: Vault) -> None:
    with vault.uow() as uow:
        stored = uow.meta.get("key_id")
    if stored != vault.key_id:
        raise WrongKey("the master key does not match this vault (wrong key file or CLIENTFOLIO_MASTER_KEY)")


def init_vault(home: Path, *, admin: str = "admin", database_url: str | None = None) -> Vault:
    """Make the data home: key file (0600), database schema, blob folder, first admin."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    if database_url:
        write_config(home, {"database_url": database_url})
    settings = read_settings(home)
    if _is_initialized(settings.database_url, home):
        raise Conflict(f"a vault already exists at {home}")
    if os.environ.get("CLIENTFOLIO_MASTER_KEY"):
        key = decode_master_key(os.environ["CLIENTFOLIO_MASTER_KEY"])
    elif settings.key_file.exists():
        key = read_key_file(settings.key_file)  # a key restored or provisioned ahead of init
    else:
        key = generate_master_key()
        write_key_file(settings.key_file, key)
    settings.blob_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    database.upgrade(_engine(settings.database_url))
    vault = build_vault(home, key=key)
    initialize_vault(vault, admin=admin)
    return vault


def restore(dest: Path, *, home: Path, key_file: Path, snapshot: str | None = None) -> dict:
    """Restore a backup into a new home, then prove it: every blob verified, the audit chain intact."""
    from clientfolio.adapters.backup import restore_backup
    from clientfolio.services.audit import verify_chain_unattended
    from clientfolio.services.vault import check_vault, default_actor

    key = read_key_file(key_file)
    name = restore_backup(dest, home=home, key=key, snapshot=snapshot)
    vault = open_vault(home)
    chain = verify_chain_unattended(vault)
    report = check_vault(vault=vault, actor=default_actor(vault), grace_seconds=0)
    with vault.uow() as uow:
        uow.record(actor="restore", action="backup.restore", object_type="backup", object_id=name,
                   details={"versions": report.versions_checked, "chain_events": chain.events})
        uow.commit()
    return {"snapshot": name, "home": str(home.resolve()), "versions_checked": report.versions_checked,
            "problems": report.problems, "audit_ok": chain.ok, "audit_events": chain.events}


def _is_initialized(url: str, home: Path) -> bool:
    if url.startswith("sqlite") and not (home / "clientfolio.db").exists() and "clientfolio.db" in url:
        return False
    try:
        return inspect(_engine(url)).has_table("vault_meta")
    except Exception as exc:  # an unreachable server is not "uninitialized": say what failed
        raise NotInitialized(f"cannot open the database: {type(exc).__name__}") from None
