"""Ingestion end to end through the services: real files, real vaults (SQLite and PostgreSQL), real job queue."""

from __future__ import annotations

import io
import json
import os
import uuid

import pytest
from docx import Document as Docx
from sqlalchemy import text as sql

from clientfolio import bootstrap
from clientfolio.adapters.jobs import JobQueue
from clientfolio.domain.errors import InvalidInput, PermissionDenied
from clientfolio.services import (audit, backups, customers, documents, inbox, ingest, textjobs, vault as vault_services,
                                  versions)

RID = "11010519491231002X"
CONTRACT = ("购销合同\n甲方：上海星河贸易有限公司\n乙方：张伟\n本合同由双方于二〇二四年三月一日在上海签订，"
            "甲方向乙方提供货物，乙方按期付款。违约责任由双方协商解决。本合同一式两份，自签字之日起生效。\n")


def docx_bytes(*paragraphs: str) -> bytes:
    d = Docx()
    for p in paragraphs:
        d.add_paragraph(p)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


@pytest.fixture
def people(staffed):
    v = staffed
    zhang = customers.add_customer(vault=v, actor="admin", name="张伟", kind="person", tier="key",
                                   identifiers={"resident_id": RID})
    star = customers.add_customer(vault=v, actor="admin", name="上海星河贸易有限公司", kind="organization",
                                  tier="standard")
    lin = customers.add_customer(vault=v, actor="admin", name="Lin Mei", kind="person", tier="prospect")
    return v, zhang, star, lin


def drop(root, rel, data: bytes | str):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def run(vault, actor, root, **kw):
    return {r.path: r for r in (ingest.ingest_file(vault, actor, root, p, **kw) for p in ingest.candidates(root))}


def test_files_are_matched_stored_refused_or_put_in_the_inbox(people, tmp_path):
    v, zhang, star, lin = people
    root = tmp_path / "scans"
    drop(root, f"{zhang.code}/contract.txt", CONTRACT)
    drop(root, "上海星河贸易有限公司/statement.txt", "对账单 2024年3月 期末余额 1,234.00 元 请核对后签字确认。\n")
    drop(root, f"loose/scan_{lin.code}_letter.txt", "Dear Ms Lin, thank you for your visit on 3 March 2024.\n")
    drop(root, "loose/id-copy.docx", docx_bytes("居民身份证复印件", f"公民身份号码 {RID}", "仅供办理开户使用"))
    drop(root, "loose/unknown.txt", "A note about someone we cannot tell from this text alone, kept for later.\n")
    drop(root, "loose/tool", b"\x7fELF\x02\x01\x01" + os.urandom(200))
    drop(root, "loose/bundle.zip", b"PK\x03\x04" + os.urandom(100))
    drop(root, "loose/empty.pdf", b"")
    drop(root, ".hidden/skip.txt", "hidden folders are not taken in")
    drop(root, "loose/partial.pdf.part", "a download still running")

    got = run(v, "clara", root)
    assert set(got) == {f"{zhang.code}/contract.txt", "上海星河贸易有限公司/statement.txt",
                        f"loose/scan_{lin.code}_letter.txt", "loose/id-copy.docx", "loose/unknown.txt",
                        "loose/tool", "loose/bundle.zip", "loose/empty.pdf"}
    by = {k: (r.outcome, r.customer, r.matched_by) for k, r in got.items()}
    assert by[f"{zhang.code}/contract.txt"] == ("stored", zhang.code, "folder")
    assert by["上海星河贸易有限公司/statement.txt"] == ("stored", star.code, "folder")
    assert by[f"loose/scan_{lin.code}_letter.txt"] == ("stored", lin.code, "file name")
    assert by["loose/id-copy.docx"] == ("stored", zhang.code, "resident_id")  # via the keyed hash
    assert by["loose/unknown.txt"][0] == "inbox"
    assert got["loose/tool"].outcome == "refused" and "executable" in got["loose/tool"].reason
    assert got["loose/bundle.zip"].outcome == "refused" and "not a document type" in got["loose/bundle.zip"].reason
    assert got["loose/empty.pdf"].reason == "the file is empty"
    assert all(r.text_status == "done" for r in got.values() if r.outcome in ("stored", "inbox"))

    # Stored through the document service: listed, readable, audited as the acting user.
    doc = documents.show_document(vault=v, actor="admin", document_id=got[f"{zhang.code}/contract.txt"].document_id)
    assert doc.customer == zhang.code
    data = b"".join(versions.read_version(vault=v, actor="admin", document_id=doc.id).chunks)
    assert data.decode() == CONTRACT
    trail = audit.audit_log(vault=v, actor="admin", user="clara", action="document.create")
    assert len(trail) == 4
    assert audit.audit_verify(vault=v, actor="admin").ok
    assert vault_services.check_vault(vault=v, actor="admin").ok

    # Resumable: a second run recognizes every file by its hash and stores nothing new.
    again = run(v, "clara", root)
    assert {r.outcome for k, r in again.items() if got[k].outcome != "refused"} == {"duplicate"}
    assert documents.list_documents(vault=v, actor="admin").total == 4
    assert inbox.list_inbox(vault=v, actor="clara").total == 1


def test_nothing_of_the_text_reaches_disk_in_the_clear(people, tmp_path, vault_home, backend):
    v, zhang, *_ = people
    root = tmp_path / "scans"
    marker = f"独特标记{uuid.uuid4().hex[:8]}"
    drop(root, f"{zhang.code}/a.txt", CONTRACT + marker)
    drop(root, "nobody/b.txt", "unclaimed " + marker + " and more words to make a signature of it")
    got = run(v, "clara", root)
    assert {r.outcome for r in got.values()} == {"stored", "inbox"}
    needles = [marker.encode(), marker.encode("utf-16-le"), "购销合同".encode()]
    for path in vault_home.rglob("*"):
        if path.is_file():
            blob = path.read_bytes()
            assert not any(n in blob for n in needles), path
    if backend == "postgres":
        with v.uow() as uow:
            rows = uow.session.execute(sql("SELECT * FROM versions")).all() + \
                uow.session.execute(sql("SELECT * FROM inbox_items")).all()
        assert marker not in repr(rows)


def test_a_rescan_is_flagged_as_a_near_duplicate(people, tmp_path):
    v, zhang, *_ = people
    root = tmp_path / "scans"
    first = run(v, "clara", _fresh(root, f"{zhang.code}/contract.txt", CONTRACT))[f"{zhang.code}/contract.txt"]
    # An OCR slip and a page number: true Jaccard 0.87 over 4-character shingles; the keyed MinHash estimate
    # (128 permutations, σ ≈ 0.03) stays far above the 0.7 threshold whatever the vault's key.
    rescan = CONTRACT.replace("协商", "协尚") + "第1页\n"
    second = run(v, "clara", _fresh(root, f"{zhang.code}/contract-rescan.txt", rescan))
    flagged = second[f"{zhang.code}/contract-rescan.txt"]
    assert (flagged.outcome, flagged.near_duplicate_of) == ("stored", first.document_id)
    assert "near-duplicate" in flagged.reason
    other = run(v, "clara", _fresh(root, f"{zhang.code}/other.txt", "增值税专用发票 发票代码 3100231130 金额合计 "
                                                                    "壹万贰仟元整 销售方 上海某某科技有限公司 备注 无"))
    assert other[f"{zhang.code}/other.txt"].near_duplicate_of is None


def _fresh(root, rel, content):
    if root.exists():
        for p in root.rglob("*"):
            if p.is_file():
                p.unlink()
    drop(root, rel, content)
    return root


def test_the_inbox_files_items_under_the_rules(people, tmp_path):
    v, zhang, *_ = people
    root = tmp_path / "scans"
    drop(root, "nobody/a.txt", "a letter from a customer we could not match, asking about the contract terms")
    drop(root, "nobody/b.txt", "another unmatched paper, to be set aside as it is not a customer record at all")
    got = run(v, "clara", root)
    a, b = got["nobody/a.txt"].inbox_id, got["nobody/b.txt"].inbox_id

    for denied in ("vera", "audrey", "olga"):  # viewer, auditor, own-customers-only clerk
        with pytest.raises(PermissionDenied):
            inbox.list_inbox(vault=v, actor=denied)
    denials = audit.audit_log(vault=v, actor="admin", action="inbox.use")
    assert {e.actor for e in denials if e.outcome == "denied"} == {"vera", "audrey", "olga"}

    page = inbox.list_inbox(vault=v, actor="clara")
    assert (page.total, {i.original_name for i in page.items}) == (2, {"a.txt", "b.txt"})
    assert {i.source for i in page.items} == {"nobody"}
    with pytest.raises(PermissionDenied):  # content may be anything, ID cards included
        inbox.read_item(vault=v, actor="clara", item_id=a)
    assert b"".join(inbox.read_item(vault=v, actor="max", item_id=a).chunks).startswith(b"a letter")
    with pytest.raises(InvalidInput, match="no category"):
        inbox.file_item(vault=v, actor="clara", item_id=a, customer_code=zhang.code)

    doc = inbox.file_item(vault=v, actor="clara", item_id=a, customer_code=zhang.code, category="communication")
    assert doc.customer == zhang.code and doc.category == "communication"
    [version] = versions.list_versions(vault=v, actor="admin", document_id=doc.id)
    assert version.original_name == "a.txt"
    with v.uow() as uow:
        item = uow.inbox.get(a)
        stored = uow.documents.get(doc.id).latest
        assert (item.status, item.document_id) == ("filed", doc.id)
        assert stored.blob_id == item.blob_id and stored.text_blob_id == item.text_blob_id  # nothing copied
        assert stored.text_status == "done"
    with pytest.raises(InvalidInput, match="already filed"):
        inbox.file_item(vault=v, actor="clara", item_id=a, customer_code=zhang.code, category="other")

    with pytest.raises(PermissionDenied):
        inbox.discard_item(vault=v, actor="clara", item_id=b)
    assert inbox.discard_item(vault=v, actor="max", item_id=b).status == "discarded"
    assert inbox.list_inbox(vault=v, actor="clara").total == 0
    assert inbox.list_inbox(vault=v, actor="clara", status="discarded").total == 1

    # A discarded item's bytes are kept: check counts them as referenced, gc leaves them, backups carry them.
    report = vault_services.check_vault(vault=v, actor="admin", gc=True, grace_seconds=0)
    assert report.ok and report.unreferenced_blobs == [] and report.removed_blobs == 0
    dest = tmp_path / "backup"
    backups.create_backup(vault=v, actor="admin", dest=dest)
    restored_home = tmp_path / "restored"
    bootstrap.restore(dest, home=restored_home, key_file=_key_file(v, tmp_path))
    restored = bootstrap.open_vault(restored_home)
    assert b"".join(inbox.read_item(vault=restored, actor="admin", item_id=b).chunks).startswith(b"another")


def _key_file(v, tmp_path):
    from clientfolio.adapters.crypto import write_key_file

    key_file = tmp_path / "copy.key"
    write_key_file(key_file, bootstrap.master_key(v.home / "master.key"))
    return key_file


# --- background jobs -------------------------------------------------------------------------------------

def test_an_upload_returns_at_once_and_its_text_job_survives_a_restart(people):
    v, zhang, *_ = people
    v.jobs.flush()
    doc = documents.add_document(vault=v, actor="clara", customer_code=zhang.code, content=[CONTRACT.encode()],
                                 original_name="c.txt", category="contract", subtype="formal")
    with v.uow() as uow:
        assert uow.documents.get(doc.id).latest.text_status == "pending"  # stored, not yet read
    # A new process (the worker, after a restart) finds the job in the durable queue and runs it.
    restarted = bootstrap.open_vault(v.home)
    assert restarted.jobs.pending() >= 1
    restarted.jobs.drain()
    with v.uow() as uow:
        version = uow.documents.get(doc.id).latest
        assert (version.text_status, version.text_pages) == ("done", 1)
        text = v.blobs.read(version.text_blob_id).decode()
    assert "购销合同" in text


def test_a_lost_job_is_found_again_by_the_sweep(people):
    v, zhang, *_ = people
    doc = documents.add_document(vault=v, actor="clara", customer_code=zhang.code, content=[CONTRACT.encode()],
                                 original_name="c.txt", category="contract")
    v.jobs.flush()  # the queue lost it (a crash between dequeue and finish, or a wiped Redis)
    assert v.jobs.pending() == 0
    assert textjobs.sweep(vault=v)["text"] >= 1
    v.jobs.drain()
    with v.uow() as uow:
        assert uow.documents.get(doc.id).latest.text_status == "done"


def test_a_failed_extraction_is_shown_and_can_be_retried(people):
    v, zhang, *_ = people
    broken = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntruncated"
    doc = documents.add_document(vault=v, actor="clara", customer_code=zhang.code, content=[broken],
                                 original_name="broken.pdf", category="finance", subtype="invoice")
    v.jobs.drain()
    with v.uow() as uow:
        version = uow.documents.get(doc.id).latest
        assert version.text_status == "failed" and version.text_error
    assert documents.show_document(vault=v, actor="admin", document_id=doc.id).id == doc.id  # stored either way
    with pytest.raises(PermissionDenied):
        textjobs.retry_text(vault=v, actor="vera", document_id=doc.id)
    assert textjobs.retry_text(vault=v, actor="clara", document_id=doc.id) == "pending"
    events = audit.audit_log(vault=v, actor="admin", action="version.text*")
    assert {e.action for e in events} >= {"version.text", "version.text_retry"}
    assert all("truncated" not in json.dumps(e.details) for e in events)


def test_jobs_go_through_redis_when_configured(tmp_path):
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CLIENTFOLIO_REQUIRE_SERVICES") == "1":
            pytest.fail("Redis is not running on 127.0.0.1:6379 (CLIENTFOLIO_REQUIRE_SERVICES=1)")
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    ran = []
    name = f"cf-test-{uuid.uuid4().hex[:8]}"
    queue = JobQueue(home=tmp_path, redis_url=url, name=name, handler=lambda kind, args: ran.append((kind, args)))
    try:
        queue.enqueue("extract_text", version_id=7)
        again = JobQueue(home=tmp_path, redis_url=url, name=name, handler=lambda kind, args: ran.append((kind, args)))
        assert again.pending() == 1
        assert again.drain() == 1 and ran == [("extract_text", {"version_id": 7})]
        assert not (tmp_path / "jobs.db").exists()
    finally:
        queue.flush()


def test_a_batch_is_one_transaction_and_falls_back_to_one_file_at_a_time(people, tmp_path):
    v, zhang, star, lin = people
    customers.edit_customer(vault=v, actor="admin", code=star.code, owner="olga")
    root = tmp_path / "batch"
    drop(root, f"{zhang.code}/a.txt", "first paper of the batch, a letter about the lease renewal terms")
    drop(root, f"{zhang.code}/a-again.txt", "first paper of the batch, a letter about the lease renewal terms")
    drop(root, f"{star.code}/b.txt", "a statement for the trading company, March balance and payments")
    drop(root, "nobody/c.txt", "unmatched paper that goes to the inbox for someone to file later on")
    drop(root, "nobody/tool", b"\x7fELF\x02\x01\x01" + os.urandom(64))
    prepared = [ingest.prepare(v, root, p) for p in ingest.candidates(root)]
    seq = audit.audit_log(vault=v, actor="admin", limit=1)[0].seq
    results = {r.path: r for r in ingest.store_batch(v, "clara", prepared)}
    assert {k: r.outcome for k, r in results.items()} == {  # files are taken in name order: a-again first
        f"{zhang.code}/a-again.txt": "stored", f"{zhang.code}/a.txt": "duplicate", f"{star.code}/b.txt": "stored",
        "nobody/c.txt": "inbox", "nobody/tool": "refused"}
    assert vault_services.check_vault(vault=v, actor="admin", grace_seconds=0).unreferenced_blobs == []
    # olga may file for her own customer only, and may not use the inbox: the batch goes file by file and
    # each refusal is recorded once.
    root2 = tmp_path / "batch2"
    drop(root2, f"{star.code}/mine.txt", "olga's own customer paper, filed in her batch without trouble")
    drop(root2, f"{zhang.code}/not-mine.txt", "a paper for someone else's customer, which olga may not file")
    drop(root2, "nobody/unknown.txt", "an unmatched paper olga cannot put in the inbox either, no customer")
    prepared = [ingest.prepare(v, root2, p) for p in ingest.candidates(root2)]
    results = {r.path: r for r in ingest.store_batch(v, "olga", prepared)}
    assert {k: r.outcome for k, r in results.items()} == {
        f"{star.code}/mine.txt": "stored", f"{zhang.code}/not-mine.txt": "failed", "nobody/unknown.txt": "failed"}
    denials = [e for e in audit.audit_log(vault=v, actor="admin", user="olga", limit=50)
               if e.outcome == "denied" and e.seq > seq]
    assert len(denials) == 2
    assert vault_services.check_vault(vault=v, actor="admin", grace_seconds=0).unreferenced_blobs == []
