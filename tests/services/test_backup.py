"""Backups: incremental, verifiable, tamper-evident, free of secrets, restorable into a working vault.

Runs on both backends: a PostgreSQL vault is snapshotted by a logical copy and restored as SQLite.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
from stdnum.cn import ric

from clientfolio import bootstrap
from clientfolio.adapters.backup import verify_backup as verify_backup_with_key
from clientfolio.adapters.crypto import Keyring, generate_master_key, read_key_file, write_key_file
from clientfolio.domain.errors import Conflict, IntegrityFailure, InvalidInput, WrongKey
from clientfolio.services import audit, backups, customers, documents, versions

RID = "11010519900307123" + ric.calc_check_digit("11010519900307123" + "0")
PHONE, EMAIL = "13812345678", "backup.secret@example.com"
NAME = "王小明身份证正面.jpg"
CONTENTS = [b"PLAINTEXT-CONTRACT-MARKER: the parties agree\n" * 20,
            b"PLAINTEXT-CONTRACT-MARKER-V2: the parties agree again\n" * 20,
            b"%PDF-1.7\nPLAINTEXT-PDF-MARKER (hello) Tj\n%%EOF\n",
            "PLAINTEXT-中文-MARKER 甲方乙方\n".encode() * 30]


# --- helpers ------------------------------------------------------------------------------------------

def populate(vault) -> dict:
    """Customers with secrets, documents with several versions, a restored version and a deleted document."""
    c = customers.add_customer(vault=vault, actor="admin", name="张三", kind="person", tier="standard",
                               phone=PHONE, email=EMAIL, identifiers={"resident_id": RID})
    a = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=[CONTENTS[0]],
                               original_name=NAME, category="contract", subtype="formal")
    versions.add_version(vault=vault, actor="admin", document_id=a.id, content=[CONTENTS[1]], original_name="v2.txt")
    versions.restore_version(vault=vault, actor="admin", document_id=a.id, version=1)
    b = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=[CONTENTS[2]],
                               original_name="b.pdf", category="finance", subtype="invoice")
    d = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=[CONTENTS[3]],
                               original_name="d.txt", category="other")
    documents.delete_document(vault=vault, actor="admin", document_id=d.id)
    return {"customer": c.code, "docs": [a.id, b.id, d.id]}


def distinct_blobs(vault) -> int:
    with vault.uow() as uow:
        return len({v.blob_id for v in uow.documents.all_versions()})


def version_digests(vault) -> dict[tuple[int, int], tuple[str, str | None]]:
    """(document, version) -> (SHA-256 of the bytes read back, original name), for every version."""
    out = {}
    page = documents.list_documents(vault=vault, actor="admin", include_deleted=True, limit=1000)
    for doc in page.items:
        for v in versions.list_versions(vault=vault, actor="admin", document_id=doc.id):
            download = versions.read_version(vault=vault, actor="admin", document_id=doc.id, version=v.version)
            digest = hashlib.sha256()
            for chunk in download.chunks:
                digest.update(chunk)
            assert digest.hexdigest() == v.sha256
            out[(doc.id, v.version)] = (digest.hexdigest(), v.original_name)
    return out


def restore(dest: Path, home: Path, key_file: Path, snapshot: str | None = None) -> dict:
    return bootstrap.restore(dest, home=home, key_file=key_file, snapshot=snapshot)


def blob_files(dest: Path) -> list[Path]:
    return sorted(p for p in (dest / "blobs").rglob("*") if p.is_file())


def flip(path: Path, position: int = 100) -> bytes:
    original = path.read_bytes()
    damaged = bytearray(original)
    damaged[position % len(damaged)] ^= 0x01
    path.write_bytes(bytes(damaged))
    return original


def empty_or_absent(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


# --- creating and verifying -------------------------------------------------------------------------------

def test_backups_are_incremental_and_verify(vault, vault_home, tmp_path):
    populate(vault)
    with pytest.raises(InvalidInput, match="outside the vault's home"):
        backups.create_backup(vault=vault, actor="admin", dest=vault_home / "backups")
    dest = tmp_path / "backup"
    first = backups.create_backup(vault=vault, actor="admin", dest=dest)
    assert first.copied == distinct_blobs(vault) == 4  # the restored version shares its blob
    assert first.files == first.copied + 2  # blobs, the database snapshot and the sealed settings
    second = backups.create_backup(vault=vault, actor="admin", dest=dest)
    assert (second.copied, second.bytes_copied) == (0, 0)
    assert second.snapshot != first.snapshot
    c = customers.list_customers(vault=vault, actor="admin").items[0].code
    documents.add_document(vault=vault, actor="admin", customer_code=c, content=[b"one more document\n"],
                           original_name="new.txt", category="other")
    third = backups.create_backup(vault=vault, actor="admin", dest=dest)
    assert third.copied == 1 and third.bytes_copied > 0
    assert len(blob_files(dest)) == 5

    for snapshot in (first.snapshot, second.snapshot, third.snapshot):
        result = backups.verify_backup(vault=vault, actor="admin", dest=dest, snapshot=snapshot)
        assert (result.ok, result.problems, result.mac_checked) == (True, [], True)
    assert backups.verify_backup(vault=vault, actor="admin", dest=dest).snapshot == third.snapshot  # the newest
    created = audit.audit_log(vault=vault, actor="admin", action="backup.create")
    assert [e.details["copied"] for e in created] == [1, 0, 4]  # newest first
    verified = audit.audit_log(vault=vault, actor="admin", action="backup.verify")
    assert [e.outcome for e in verified] == ["ok"] * 4


def test_a_damaged_or_missing_file_in_the_backup_is_reported(vault, tmp_path):
    populate(vault)
    dest = tmp_path / "backup"
    snap = backups.create_backup(vault=vault, actor="admin", dest=dest).snapshot
    victim = blob_files(dest)[1]
    rel = victim.relative_to(dest).as_posix()
    original = flip(victim)
    result = backups.verify_backup(vault=vault, actor="admin", dest=dest)
    assert (result.ok, result.problems) == (False, [f"hash mismatch: {rel}"])
    assert audit.audit_log(vault=vault, actor="admin", action="backup.verify")[0].outcome == "problems"
    target = tmp_path / "restored"
    with pytest.raises(IntegrityFailure, match="hash mismatch"):
        restore(dest, target, vault.home / "master.key")
    assert empty_or_absent(target)

    victim.unlink()
    assert backups.verify_backup(vault=vault, actor="admin", dest=dest).problems == [f"missing: {rel}"]
    victim.write_bytes(original)
    assert backups.verify_backup(vault=vault, actor="admin", dest=dest).ok

    database = dest / "snapshots" / snap / "database"
    flip(database, 500)
    result = backups.verify_backup(vault=vault, actor="admin", dest=dest)
    assert result.problems == [f"hash mismatch: snapshots/{snap}/database"]


MANIFEST_EDITS = {
    "hash": IntegrityFailure,  # a replaced blob, and the manifest made to agree with it
    "add-file": IntegrityFailure,
    "database-sha": IntegrityFailure,
    "whitespace": IntegrityFailure,
    "key_id": WrongKey,
    "mac": IntegrityFailure,
}


def test_a_tampered_manifest_is_refused(vault, tmp_path):
    """Each edit on a backup of its own (one vault for all cases keeps the run short)."""
    populate(vault)
    for n, (edit, error) in enumerate(MANIFEST_EDITS.items()):
        dest = tmp_path / f"backup-{n}"
        snap = backups.create_backup(vault=vault, actor="admin", dest=dest).snapshot
        assert backups.verify_backup(vault=vault, actor="admin", dest=dest).ok
        manifest_path = dest / "snapshots" / snap / "manifest.json"
        body = manifest_path.read_bytes()
        manifest = json.loads(body)
        if edit == "hash":
            rel = sorted(k for k in manifest["files"] if k.startswith("blobs/"))[0]
            flip(dest / rel)
            manifest["files"][rel] = hashlib.sha256((dest / rel).read_bytes()).hexdigest()
        elif edit == "add-file":
            (dest / "blobs" / "planted").write_bytes(b"x")
            manifest["files"]["blobs/planted"] = hashlib.sha256(b"x").hexdigest()
        elif edit == "database-sha":
            manifest["database"]["sha256"] = "0" * 64
        elif edit == "key_id":
            manifest["key_id"] = "0123456789abcdef"
        if edit == "whitespace":
            manifest_path.write_bytes(body + b"\n")
        elif edit == "mac":
            (dest / "snapshots" / snap / "manifest.mac").write_text("00" * 32)
        else:
            manifest_path.write_bytes(json.dumps(manifest, sort_keys=True, indent=1).encode())
        with pytest.raises(error):
            backups.verify_backup(vault=vault, actor="admin", dest=dest)
        target = tmp_path / f"restored-{n}"
        with pytest.raises(error):
            restore(dest, target, vault.home / "master.key")
        assert empty_or_absent(target), edit


# --- restoring ------------------------------------------------------------------------------------------

def test_restore_gives_a_vault_with_identical_bytes_and_an_intact_trail(vault, vault_home, tmp_path):
    made = populate(vault)
    before = version_digests(vault)
    assert len(before) == 5
    dest = tmp_path / "backup"
    snap = backups.create_backup(vault=vault, actor="admin", dest=dest).snapshot
    target = tmp_path / "restored"
    report = restore(dest, target, vault_home / "master.key")
    assert report["snapshot"] == snap
    assert (report["audit_ok"], report["problems"], report["versions_checked"]) == (True, [], 5)
    assert (target / "clientfolio.db").is_file()  # a PostgreSQL vault comes back as SQLite
    assert read_key_file(target / "master.key") == read_key_file(vault_home / "master.key")

    restored = bootstrap.open_vault(target)
    chain = audit.audit_verify(vault=restored, actor="admin")
    assert chain.ok and chain.events == report["audit_events"] + 2  # + the drill's check and restore events
    newest = audit.audit_log(vault=restored, actor="admin", limit=3)
    assert [e.action for e in newest] == ["audit.verify", "backup.restore", "vault.check"]
    assert version_digests(restored) == before
    c = customers.show_customer(vault=restored, actor="admin", code=made["customer"], reveal=True)
    assert ({i.kind: i.value for i in c.identifiers}, c.phone, c.email) == ({"resident_id": RID}, "+86" + PHONE, EMAIL)
    found = customers.find_by_identifier(vault=restored, actor="admin", kind="resident_id", value=RID)
    assert [x.code for x in found] == [made["customer"]]
    deleted = documents.show_document(vault=restored, actor="admin", document_id=made["docs"][2])
    assert deleted.status == "deleted"
    # the restored vault works: new documents, and its own backups
    documents.add_document(vault=restored, actor="admin", customer_code=made["customer"],
                           content=[b"after restore\n"], original_name="after.txt", category="other")
    again = backups.create_backup(vault=restored, actor="admin", dest=tmp_path / "backup-of-restored")
    assert backups.verify_backup(vault=restored, actor="admin", dest=tmp_path / "backup-of-restored",
                                 snapshot=again.snapshot).ok
    assert restore(dest, tmp_path / "restored-twice", vault_home / "master.key")["audit_ok"]


def test_restore_picks_an_older_snapshot(vault, vault_home, tmp_path):
    made = populate(vault)
    dest = tmp_path / "backup"
    old = backups.create_backup(vault=vault, actor="admin", dest=dest).snapshot
    old_digests = version_digests(vault)
    versions.add_version(vault=vault, actor="admin", document_id=made["docs"][1], content=[b"%PDF-1.7\nnewer\n"])
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    report = restore(dest, tmp_path / "restored", vault_home / "master.key", snapshot=old)
    assert report["snapshot"] == old and report["audit_ok"]
    assert version_digests(bootstrap.open_vault(tmp_path / "restored")) == old_digests


def test_restore_with_a_wrong_key_file_writes_nothing(vault, tmp_path):
    populate(vault)
    dest = tmp_path / "backup"
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    wrong = tmp_path / "wrong.key"
    write_key_file(wrong, generate_master_key())
    absent = tmp_path / "restored"
    with pytest.raises(WrongKey, match="different master key"):
        restore(dest, absent, wrong)
    assert not absent.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WrongKey):
        restore(dest, empty, wrong)
    assert list(empty.iterdir()) == []
    with pytest.raises(WrongKey):
        verify_backup_with_key(dest, Keyring(read_key_file(wrong)))


def test_restore_into_a_non_empty_folder_is_refused(vault, vault_home, tmp_path):
    populate(vault)
    dest = tmp_path / "backup"
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(Conflict, match="not empty"):
        restore(dest, target, vault_home / "master.key")
    assert [p.name for p in target.iterdir()] == ["keep.txt"] and (target / "keep.txt").read_text() == "mine"
    with pytest.raises(Conflict):  # nor over the live vault itself
        restore(dest, vault_home, vault_home / "master.key")


def test_the_backup_holds_no_key_and_no_plaintext(vault, vault_home, tmp_path):
    populate(vault)
    dest = tmp_path / "backup"
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    c = customers.list_customers(vault=vault, actor="admin").items[0].code
    documents.add_document(vault=vault, actor="admin", customer_code=c, content=[b"PLAINTEXT-LATE-MARKER\n" * 5],
                           original_name="late.txt", category="other")
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    key_text = (vault_home / "master.key").read_text().strip()
    key = read_key_file(vault_home / "master.key")
    needles = [key_text.encode(), key, key.hex().encode(), b"PLAINTEXT", "PLAINTEXT".encode("utf-16-le"),
               RID.encode(), RID[:-1].encode(), PHONE.encode(), EMAIL.encode(), b"backup.secret",
               NAME.encode(), "王小明".encode(), "甲方乙方".encode()]
    needles += [chunk[:32] for chunk in CONTENTS]
    files = [p for p in dest.rglob("*") if p.is_file()]
    assert len(files) >= 9  # 5 blobs + 2 x (database, manifest.json, manifest.mac)
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, f"{needle[:20]!r} found in {path.relative_to(dest)}"
    names = {p.name for p in files}
    assert not any(n.endswith((".db", ".key", ".sqlite")) for n in names)


def test_backups_taken_while_documents_are_added_verify_and_restore(vault, vault_home, tmp_path):
    code = customers.add_customer(vault=vault, actor="admin", name="并发", kind="person", tier="standard").code
    expected: dict[int, bytes] = {}
    errors: list[BaseException] = []
    done = threading.Event()

    def writer():
        try:
            for i in range(24):
                content = f"concurrent document {i}\n".encode() * (50 + i)
                view = documents.add_document(vault=vault, actor="admin", customer_code=code, content=[content],
                                              original_name=f"c{i}.txt", category="other")
                expected[view.id] = content
                if i % 3 == 0:
                    versions.add_version(vault=vault, actor="admin", document_id=view.id,
                                         content=[content + b"v2\n"])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            done.set()

    dest = tmp_path / "backup"
    thread = threading.Thread(target=writer)
    thread.start()
    snapshots = []
    try:
        while not done.is_set() or not snapshots:
            snapshots.append(backups.create_backup(vault=vault, actor="admin", dest=dest).snapshot)
            time.sleep(0.01)
    finally:
        thread.join(60)
    assert not errors, errors
    snapshots.append(backups.create_backup(vault=vault, actor="admin", dest=dest).snapshot)
    assert len(snapshots) >= 2
    for snapshot in snapshots:
        assert backups.verify_backup(vault=vault, actor="admin", dest=dest, snapshot=snapshot).ok, snapshot
    # restore the first (taken mid-stream), one from the middle, and the last
    for n, snapshot in enumerate(dict.fromkeys([snapshots[0], snapshots[len(snapshots) // 2], snapshots[-1]])):
        target = tmp_path / f"restored-{n}"
        report = restore(dest, target, vault_home / "master.key", snapshot=snapshot)
        assert (report["audit_ok"], report["problems"]) == (True, []), snapshot
        restored = bootstrap.open_vault(target)
        page = documents.list_documents(vault=restored, actor="admin", customer_code=code, limit=1000)
        for doc in page.items:  # every document the snapshot has is whole and correct
            history = versions.list_versions(vault=restored, actor="admin", document_id=doc.id)
            data = b"".join(versions.read_version(vault=restored, actor="admin", document_id=doc.id,
                                                  version=1).chunks)
            assert data == expected[doc.id]
            assert [v.version for v in history] in ([1], [1, 2])
    assert page.total == len(expected) == 24  # the last snapshot has everything


def test_a_new_backup_repairs_a_file_damaged_in_dest(vault, tmp_path):
    populate(vault)
    dest = tmp_path / "backup"
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    flip(blob_files(dest)[0])
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    assert backups.verify_backup(vault=vault, actor="admin", dest=dest).ok


def test_a_custom_taxonomy_survives_backup_and_restore(vault_home, tmp_path):
    (vault_home / "taxonomy.toml").write_text(
        '[[category]]\nslug = "loan"\nzh = "贷款"\nen = "Loans"\nsensitive_by_default = false\n', encoding="utf-8")
    vault = bootstrap.open_vault(vault_home)
    code = customers.add_customer(vault=vault, actor="admin", name="张三", kind="person", tier="standard").code
    documents.add_document(vault=vault, actor="admin", customer_code=code, content=[b"loan papers\n"],
                           original_name="loan.txt", category="loan")
    dest = tmp_path / "backup"
    backups.create_backup(vault=vault, actor="admin", dest=dest)
    restore(dest, tmp_path / "restored", vault_home / "master.key")
    restored = bootstrap.open_vault(tmp_path / "restored")
    assert documents.list_documents(vault=restored, actor="admin", category="loan").total == 1


def test_a_postgres_vault_in_another_time_zone_restores_with_an_intact_trail(pg_url, tmp_path, monkeypatch):
    monkeypatch.delenv("CLIENTFOLIO_MASTER_KEY", raising=False)
    monkeypatch.delenv("CLIENTFOLIO_DATABASE_URL", raising=False)
    monkeypatch.setenv("PGTZ", "Asia/Shanghai")  # a server configured for China, as a customer's may be
    home = tmp_path / "home"
    bootstrap.init_vault(home, admin="admin", database_url=pg_url)
    vault = bootstrap.open_vault(home)
    populate(vault)
    assert audit.audit_verify(vault=vault, actor="admin").ok  # the live chain is fine
    before = version_digests(vault)
    backups.create_backup(vault=vault, actor="admin", dest=tmp_path / "backup")
    report = restore(tmp_path / "backup", tmp_path / "restored", home / "master.key")
    assert version_digests(bootstrap.open_vault(tmp_path / "restored")) == before
    assert (report["audit_ok"], report["problems"]) == (True, [])
