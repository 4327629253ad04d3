"""Encrypted, incremental, verifiable backups of a vault, and restore into a new home.

Layout of a backup folder:
  blobs/ab/cd/<id>                the vault's encrypted blob files, copied as they are (shared by snapshots)
  snapshots/<stamp>/database      the database snapshot, encrypted like a blob (never the master key)
  snapshots/<stamp>/manifest.json every file's SHA-256, the vault's key id, counts
  snapshots/<stamp>/manifest.mac  HMAC of the manifest under a key derived from the master key
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import tomllib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from clientfolio.adapters.blobstore import LocalBlobStore
from clientfolio.adapters.crypto import Keyring, write_key_file
from clientfolio.adapters.orm import metadata
from clientfolio.adapters.settings import Settings, write_config
from clientfolio.domain.errors import Conflict, IntegrityFailure, InvalidInput, NotFound, WrongKey

FORMAT = "clientfolio-backup/1"
SETTINGS_FILES = ("config.toml", "taxonomy.toml", "classification.toml")
RESTORED_ELSEWHERE = ("database_url", "key_file")  # a restore is a new SQLite home with its own key file


@dataclass
class BackupResult:
    snapshot: str
    files: int
    copied: int
    bytes_copied: int
    documents_versions: int

    def to_dict(self) -> dict:
        return self.__dict__.copy()


@dataclass
class VerifyResult:
    snapshot: str
    files_checked: int
    problems: list[str]
    mac_checked: bool

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {**self.__dict__, "ok": self.ok}


class BackupEngine:
    def __init__(self, *, settings: Settings, keyring: Keyring, engine: Engine, blobs: LocalBlobStore):
        self.settings = settings
        self.keyring = keyring
        self.engine = engine
        self.blobs = blobs

    def create(self, dest: Path) -> BackupResult:
        dest = dest.resolve()
        if dest == self.settings.home or self.settings.home in dest.parents:
            raise InvalidInput("the backup folder must be outside the vault's home")
        dest.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        image = self._snapshot_image()
        blob_ids = _referenced_blobs(image)
        snap_dir = dest / "snapshots" / stamp
        snap_dir.mkdir(parents=True)
        database = {**_seal_into(snap_dir, "database", image, self.keyring), "source": self.engine.dialect.name}
        settings = _seal_into(snap_dir, "settings", self._settings_files(), self.keyring)
        known = _previous_hashes(dest)
        files, copied, nbytes = {}, 0, 0
        for blob_id in sorted(blob_ids):
            rel = "blobs/" + self.blobs.relative_path(blob_id)
            target = dest / rel
            # Blobs never change, so one already in DEST is reused, once its bytes are proven intact: a copy
            # damaged since the last backup is replaced rather than handed on to every later snapshot.
            if target.exists() and rel in known and _sha256_file(target) == known[rel]:
                files[rel] = known[rel]
                continue
            files[rel] = _copy_durably(self.blobs.raw_path(blob_id), target)
            copied += 1
            nbytes += target.stat().st_size
        for name in ("database", "settings"):
            files[f"snapshots/{stamp}/{name}"] = _sha256_file(snap_dir / name)
        manifest = {"format": FORMAT, "created_at": stamp, "key_id": self.keyring.key_id(),
                    "database": database, "settings": settings, "files": files}
        body = json.dumps(manifest, sort_keys=True, indent=1).encode()
        _write_durably(snap_dir / "manifest.json", body)
        _write_durably(snap_dir / "manifest.mac", self._mac(body).hex().encode())
        return BackupResult(stamp, len(files), copied, nbytes, len(blob_ids))

    def _settings_files(self) -> bytes:
        """The home's own settings (taxonomy, rules, config), sealed: config.toml may hold a database URL."""
        home = self.settings.home
        found = {name: (home / name).read_text(encoding="utf-8") for name in SETTINGS_FILES if (home / name).exists()}
        return json.dumps(found, ensure_ascii=False).encode()

    def verify(self, dest: Path, snapshot: str | None = None) -> VerifyResult:
        return verify_backup(dest, self.keyring, snapshot)

    def _mac(self, body: bytes) -> bytes:
        return self.keyring.mac("backup-manifest", body)

    def _snapshot_image(self) -> bytes:
        """A consistent copy of the database as SQLite bytes, in memory only."""
        memory = sqlite3.connect(":memory:")
        if self.engine.dialect.name == "sqlite":
            source = sqlite3.connect(self.engine.url.database)
            try:
                source.backup(memory)  # SQLite's online backup: consistent while writers go on
            finally:
                source.close()
        else:
            _logical_copy(self.engine, memory)
        image = bytearray(memory.serialize())
        memory.close()
        # Header bytes 18-19 say "WAL" when the source was in WAL mode; an image with no WAL file beside it
        # must say "rollback journal" (1) or SQLite refuses to open it (SQLite file format, section 1.3.3).
        image[18:20] = b"\x01\x01"
        return bytes(image)


def _logical_copy(engine: Engine, memory: sqlite3.Connection) -> None:
    """Copy every table inside one REPEATABLE READ transaction (a consistent view on PostgreSQL)."""
    target = create_engine("sqlite://", creator=lambda: memory)
    with target.begin() as tconn:
        metadata.create_all(tconn)
        tconn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as sconn:
            with sconn.begin():
                # SQLite keeps times without an offset: have PostgreSQL hand them over in UTC, whatever
                # the server's or the session's time zone is.
                sconn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
                for row in sconn.execute(text("SELECT version_num FROM alembic_version")):
                    tconn.execute(text("INSERT INTO alembic_version VALUES (:v)"), {"v": row[0]})
                for table in metadata.sorted_tables:
                    rows = [dict(r._mapping) for r in sconn.execute(table.select())]
                    if rows:
                        tconn.execute(table.insert(), rows)


def _referenced_blobs(image: bytes) -> set[str]:
    db = sqlite3.connect(":memory:")
    db.deserialize(image)
    try:
        columns = {row[1] for row in db.execute("PRAGMA table_info(versions)")}
        wanted = [c for c in ("blob_id", "text_blob_id", "rendition_blob_id") if c in columns]
        found = {row[0] for c in wanted for row in db.execute(f"SELECT DISTINCT {c} FROM versions")  # noqa: S608
                 if row[0]}
        if db.execute("SELECT 1 FROM sqlite_master WHERE name = 'inbox_items'").fetchone():
            for c in ("blob_id", "text_blob_id", "rendition_blob_id"):
                found |= {row[0] for row in db.execute(f"SELECT DISTINCT {c} FROM inbox_items") if row[0]}  # noqa: S608
        return found
    finally:
        db.close()


def _chunks(data: bytes, size: int = 1 << 20):
    for i in range(0, len(data), size):
        yield data[i:i + size]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _copy_durably(src: Path, target: Path) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    with src.open("rb") as fin, tmp.open("wb") as fout:
        while chunk := fin.read(1 << 20):
            h.update(chunk)
            fout.write(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    os.replace(tmp, target)
    return h.hexdigest()


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def snapshots(dest: Path) -> list[str]:
    root = dest / "snapshots"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").exists())


def _previous_hashes(dest: Path) -> dict[str, str]:
    names = snapshots(dest)
    if not names:
        return {}
    return json.loads((dest / "snapshots" / names[-1] / "manifest.json").read_text())["files"]


def _pick(dest: Path, snapshot: str | None) -> tuple[str, Path, bytes, dict]:
    names = snapshots(dest)
    if not names:
        raise NotFound(f"no backup found in {dest}")
    name = snapshot or names[-1]
    if name not in names:
        raise NotFound(f"no snapshot {name!r} in {dest}; there are: {', '.join(names)}")
    snap = dest / "snapshots" / name
    body = (snap / "manifest.json").read_bytes()
    try:
        manifest = json.loads(body)
    except ValueError:
        raise IntegrityFailure(f"integrity check failed: manifest of {name} is not readable") from None
    if manifest.get("format") != FORMAT:
        raise InvalidInput(f"{dest} is not a Clientfolio backup of a format this version reads")
    return name, snap, body, manifest


def verify_backup(dest: Path, keyring: Keyring | None, snapshot: str | None = None) -> VerifyResult:
    """Every file's SHA-256 against the manifest; with a key, the manifest's MAC and the database too."""
    dest = dest.resolve()
    name, snap, body, manifest = _pick(dest, snapshot)
    problems = []
    if keyring is not None:
        _check_mac(keyring, snap, body, manifest)
    for rel, expected in sorted(manifest["files"].items()):
        path = dest / rel
        if not path.is_file():
            problems.append(f"missing: {rel}")
        elif _sha256_file(path) != expected:
            problems.append(f"hash mismatch: {rel}")
    if keyring is not None and not problems:
        _decrypt_database(dest, snap, manifest, keyring)
        if "settings" in manifest:
            _open_sealed(snap, "settings", manifest["settings"], keyring)
    return VerifyResult(name, len(manifest["files"]), problems, keyring is not None)


def _check_mac(keyring: Keyring, snap: Path, body: bytes, manifest: dict) -> None:
    if manifest.get("key_id") != keyring.key_id():
        raise WrongKey("this backup was made with a different master key")
    mac = bytes.fromhex((snap / "manifest.mac").read_text().strip())
    if not hmac.compare_digest(mac, keyring.mac("backup-manifest", body)):
        raise IntegrityFailure("integrity check failed: the backup manifest was altered")


def _seal_into(snap_dir: Path, name: str, data: bytes, keyring: Keyring) -> dict:
    """Write `data` encrypted like a blob as snap_dir/name; returns what is needed to open it again."""
    staging = LocalBlobStore(snap_dir / f".{name}", keyring)
    blob = staging.put(_chunks(data) if data else [b""])
    os.replace(staging.raw_path(blob.blob_id), snap_dir / name)
    shutil.rmtree(snap_dir / f".{name}")
    return {"blob_id": blob.blob_id, "sha256": blob.sha256, "size": blob.size}


def _open_sealed(snap: Path, name: str, entry: dict, keyring: Keyring) -> bytes:
    staging = snap / f".open-{name}"
    try:
        store = LocalBlobStore(staging, keyring)
        target = store.raw_path(entry["blob_id"])
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(snap / name, target)
        return store.read(entry["blob_id"], expected_sha256=entry["sha256"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _decrypt_database(dest: Path, snap: Path, manifest: dict, keyring: Keyring) -> bytes:
    return _open_sealed(snap, "database", manifest["database"], keyring)


def _restore_settings(snap: Path, manifest: dict, keyring: Keyring, home: Path) -> None:
    if "settings" not in manifest:  # a backup made before settings were kept
        return
    found = json.loads(_open_sealed(snap, "settings", manifest["settings"], keyring))
    for name, text_ in found.items():
        if name not in SETTINGS_FILES:
            continue
        if name == "config.toml":
            kept = {k: v for k, v in tomllib.loads(text_).items() if k not in RESTORED_ELSEWHERE}
            write_config(home, kept)
        else:
            _write_durably(home / name, text_.encode("utf-8"))


def restore_backup(dest: Path, *, home: Path, key: bytes, snapshot: str | None = None) -> str:
    """Rebuild a vault in an empty `home` from a backup; the key is given, never read from the backup."""
    dest, home = dest.resolve(), home.resolve()
    if home.exists() and any(home.iterdir()):
        raise Conflict(f"{home} is not empty: restore into a new folder")
    keyring = Keyring(key)
    name, snap, body, manifest = _pick(dest, snapshot)
    _check_mac(keyring, snap, body, manifest)
    result = verify_backup(dest, keyring, name)
    if not result.ok:
        raise IntegrityFailure("integrity check failed: " + "; ".join(result.problems[:5]))
    image = _decrypt_database(dest, snap, manifest, keyring)
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_key_file(home / "master.key", key)
    for rel in manifest["files"]:
        if rel.startswith("blobs/"):
            _copy_durably(dest / rel, home / rel)
    (home / "blobs").mkdir(exist_ok=True, mode=0o700)
    restored = sqlite3.connect(home / "clientfolio.db")
    memory = sqlite3.connect(":memory:")
    memory.deserialize(image)
    memory.backup(restored)
    memory.close()
    restored.close()
    _restore_settings(snap, manifest, keyring, home)
    return name
