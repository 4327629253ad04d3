"""Documents and their versions, driven through the real services on SQLite and on PostgreSQL.

Covers: content streamed in as byte chunks; the media type sniffed from the bytes (never the name);
executables and empty files refused with nothing left behind; the version history (add, list, read every
version byte for byte, restore as a new version, diff); the duplicate rule; canonical names from the
default template; hostile original names kept as data only; metadata edits audited with the field names;
delete and undelete; the upload size limit; a 50 MB stream round trip.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from clientfolio.domain.errors import Duplicate, InvalidInput
from clientfolio.services import audit, customers, documents, versions

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 200
BLOB_PATH = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{32})")


# --- helpers ------------------------------------------------------------------------------------------

def chunked(data: bytes, size: int = 1000):
    """Content as the services take it: an iterable of byte chunks (here a generator)."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def new_customer(vault, name: str = "张三"):
    return customers.add_customer(vault=vault, actor="admin", name=name, kind="person", tier="standard")


def add(vault, code: str, content: bytes, *, name: str | None = "合同 v1.pdf", category: str = "contract",
        subtype: str | None = "formal", **kw):
    return documents.add_document(vault=vault, actor="admin", customer_code=code, content=chunked(content),
                                  original_name=name, category=category, subtype=subtype, **kw)


def read_bytes(vault, document_id: int, version: int | None = None) -> bytes:
    download = versions.read_version(vault=vault, actor="admin", document_id=document_id, version=version)
    return b"".join(download.chunks)


def stored_blobs(vault) -> set[str]:
    return set(vault.blobs.ids())


def temp_files(vault) -> list[Path]:
    tmp = vault.blobs.root / ".tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def count(vault, table: str) -> int:
    with vault.uow() as uow:
        return uow.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def last_event(vault, action: str) -> dict:
    with vault.uow() as uow:
        row = uow.session.execute(
            text("SELECT seq, actor, action, object_id, outcome, details FROM audit_events "
                 "WHERE action = :a ORDER BY seq DESC"), {"a": action}).first()
    assert row is not None, f"no {action} event"
    return dict(row._mapping)


# --- adding: sniffing and refusals ------------------------------------------------------------------

def test_add_document_streams_chunks_and_keeps_the_chinese_original_name(vault):
    c = new_customer(vault)
    content = PDF + "甲方：张三\n".encode() * 300  # several chunks of 1000 bytes
    view = add(vault, c.code, content, name="合同 v1.pdf", issued_on=date(2024, 3, 1))
    assert (view.customer, view.version, view.size) == (c.code, 1, len(content))
    assert view.sha256 == hashlib.sha256(content).hexdigest()
    assert view.media_type == "application/pdf"
    assert view.title == "正式合同"  # the subtype's label when no title is given
    [v1] = versions.list_versions(vault=vault, actor="admin", document_id=view.id)
    assert v1.original_name == "合同 v1.pdf"
    assert read_bytes(vault, view.id) == content
    event = last_event(vault, "document.create")
    assert (event["actor"], event["object_id"], event["outcome"]) == ("admin", str(view.id), "ok")


SNIFF_CASES = [
    (PDF, "notes.txt", "application/pdf", "pdf"),
    (PNG, "scan.pdf", "image/png", "png"),
    (b"plain words\n" * 10, "photo.jpg", "text/plain", "txt"),
    ("中文文本\n".encode() * 10, "invoice.exe", "text/plain", "txt"),
    (b"\x00\x01\x02binary" * 10, "contract.pdf", "application/octet-stream", "bin"),
]


def test_media_type_is_sniffed_from_content_not_name(vault):
    c = new_customer(vault)
    for content, name, expected, ext in SNIFF_CASES:
        view = add(vault, c.code, content, name=name, category="other", subtype=None)
        assert view.media_type == expected, name
        assert view.canonical_name.endswith("." + ext), (name, view.canonical_name)
        [v1] = versions.list_versions(vault=vault, actor="admin", document_id=view.id)
        assert (v1.media_type, v1.original_name) == (expected, name)


def test_executables_are_refused_and_nothing_is_stored(vault):
    c = new_customer(vault)
    blobs_before, docs_before, versions_before = stored_blobs(vault), count(vault, "documents"), count(vault, "versions")
    for content in (ELF, ELF[:4] + b"\x01\x01\x01", ELF[:8]):
        for chunks in ([content], [content[:2], content[2:]]):  # the magic split across chunks too
            with pytest.raises(InvalidInput, match="executable"):
                documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=iter(chunks),
                                       original_name="report.pdf", category="other")
    assert stored_blobs(vault) == blobs_before
    assert (count(vault, "documents"), count(vault, "versions")) == (docs_before, versions_before)
    assert temp_files(vault) == []
    # nor as a new version of an existing document
    doc = add(vault, c.code, b"v1 text\n", category="other", subtype=None)
    before = stored_blobs(vault)
    with pytest.raises(InvalidInput, match="executable"):
        versions.add_version(vault=vault, actor="admin", document_id=doc.id, content=[ELF], original_name="v2.txt")
    assert stored_blobs(vault) == before
    assert [v.version for v in versions.list_versions(vault=vault, actor="admin", document_id=doc.id)] == [1]


def test_empty_content_is_refused(vault):
    c = new_customer(vault)
    before = stored_blobs(vault)
    for content in ([], [b""], [b"", b"", b""]):
        with pytest.raises(InvalidInput, match="empty"):
            documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=iter(content),
                                   original_name="empty.pdf", category="other")
    assert stored_blobs(vault) == before
    assert count(vault, "documents") == 0 and temp_files(vault) == []
    # empty chunks before real content are just skipped
    view = documents.add_document(vault=vault, actor="admin", customer_code=c.code,
                                  content=iter([b"", b"", PDF]), original_name="x", category="other")
    assert view.media_type == "application/pdf"
    assert read_bytes(vault, view.id) == PDF




# --- versions ---------------------------------------------------------------------------------------------

def test_versions_add_list_read_every_version_and_restore(vault):
    c = new_customer(vault)
    contents = [b"line one\nline two\n", b"line one\nline 2\nline three\n", b"completely new\n"]
    doc = add(vault, c.code, contents[0], name="v1.txt", category="contract", subtype="initial")
    for i, content in enumerate(contents[1:], start=2):
        view = versions.add_version(vault=vault, actor="admin", document_id=doc.id, content=chunked(content, 7),
                                    original_name=f"v{i}.txt", note=f"change {i}")
        assert view.version == i
    history = versions.list_versions(vault=vault, actor="admin", document_id=doc.id)
    assert [v.version for v in history] == [1, 2, 3]
    assert [v.original_name for v in history] == ["v1.txt", "v2.txt", "v3.txt"]
    assert [v.note for v in history] == [None, "change 2", "change 3"]
    assert [v.sha256 for v in history] == [hashlib.sha256(x).hexdigest() for x in contents]
    for number, content in enumerate(contents, start=1):
        assert read_bytes(vault, doc.id, number) == content
    assert read_bytes(vault, doc.id) == contents[-1]  # no number: the latest

    blobs_before = stored_blobs(vault)
    restored = versions.restore_version(vault=vault, actor="admin", document_id=doc.id, version=1)
    assert stored_blobs(vault) == blobs_before  # the old blob is shared, not copied
    with vault.uow() as uow:
        blob_ids = [r[0] for r in uow.session.execute(
            text("SELECT blob_id FROM versions WHERE document_id = :d ORDER BY number"), {"d": doc.id})]
    assert blob_ids[3] == blob_ids[0] and len(set(blob_ids)) == 3
    assert restored.version == 4 and restored.sha256 == hashlib.sha256(contents[0]).hexdigest()
    after = versions.list_versions(vault=vault, actor="admin", document_id=doc.id)
    assert [v.version for v in after] == [1, 2, 3, 4]
    for old, new in zip(history, after[:3]):  # the history is unchanged
        assert (old.version, old.sha256, old.size, old.original_name, old.note) == \
               (new.version, new.sha256, new.size, new.original_name, new.note)
    assert after[3].note == "restored from version 1"
    assert after[3].original_name == "v1.txt"
    for number, content in enumerate(contents + [contents[0]], start=1):
        assert read_bytes(vault, doc.id, number) == content
    assert documents.show_document(vault=vault, actor="admin", document_id=doc.id).version == 4
    event = last_event(vault, "version.restore")
    assert '"from_version":1' in event["details"] and '"version":4' in event["details"]
    with pytest.raises(InvalidInput, match="already the current version"):
        versions.restore_version(vault=vault, actor="admin", document_id=doc.id, version=4)


def test_diff_of_text_versions_is_a_unified_diff(vault):
    c = new_customer(vault)
    doc = add(vault, c.code, "第一行\nsame\nold line\n".encode(), name="a.txt", category="other", subtype=None)
    versions.add_version(vault=vault, actor="admin", document_id=doc.id,
                         content=["第一行\nsame\nnew line\nadded\n".encode()], original_name="b.txt", note="edited")
    diff = versions.diff_versions(vault=vault, actor="admin", document_id=doc.id, a=1, b=2)
    assert diff.note is None
    assert diff.text_diff[:2] == ["--- v1", "+++ v2"]
    assert "-old line" in diff.text_diff and "+new line" in diff.text_diff and "+added" in diff.text_diff
    assert " same" in diff.text_diff
    assert {"sha256", "size", "original_name", "note"} <= set(diff.changed_fields)
    assert "media_type" not in diff.changed_fields
    assert last_event(vault, "document.diff")["details"] == '{"versions":[1,2]}'


def test_diff_of_non_text_versions_compares_metadata_only(vault):
    c = new_customer(vault)
    doc = add(vault, c.code, PDF + b"1", name="a.pdf")
    versions.add_version(vault=vault, actor="admin", document_id=doc.id, content=[PNG], original_name="b.png")
    diff = versions.diff_versions(vault=vault, actor="admin", document_id=doc.id, a=1, b=2)
    assert diff.text_diff is None
    assert diff.note == "not text: metadata compared only"
    assert {"sha256", "size", "media_type", "original_name"} <= set(diff.changed_fields)
    same = versions.diff_versions(vault=vault, actor="admin", document_id=doc.id, a=2, b=2)
    assert same.changed_fields == [] and same.text_diff is None


# --- duplicates -------------------------------------------------------------------------------------------

def test_duplicate_content_for_the_same_customer_is_refused_naming_the_document(vault):
    zhang, li = new_customer(vault, "张三"), new_customer(vault, "李四")
    content = PDF + b"signed contract"
    first = add(vault, zhang.code, content)
    before = stored_blobs(vault)
    with pytest.raises(Duplicate) as refused:
        add(vault, zhang.code, content, name="another name.pdf", category="other", subtype=None)
    assert re.search(rf"\bdocument {first.id}\b", refused.value.message)
    assert stored_blobs(vault) == before  # the blob written for the refused upload is gone again
    assert count(vault, "documents") == 1

    again = add(vault, zhang.code, content, allow_duplicate=True)
    assert again.id != first.id and again.sha256 == first.sha256
    assert '"duplicate_allowed":true' in last_event(vault, "document.create")["details"]
    other = add(vault, li.code, content)  # another customer's copy is not a duplicate
    assert other.customer == li.code
    assert read_bytes(vault, again.id) == read_bytes(vault, other.id) == content


def test_duplicate_rule_covers_older_versions_and_ignores_deleted_documents(vault):
    c = new_customer(vault)
    doc = add(vault, c.code, b"version one\n", category="other", subtype=None)
    versions.add_version(vault=vault, actor="admin", document_id=doc.id, content=[b"version two\n"])
    with pytest.raises(Duplicate, match=rf"document {doc.id}\b"):
        add(vault, c.code, b"version one\n", category="other", subtype=None)
    documents.delete_document(vault=vault, actor="admin", document_id=doc.id)
    assert add(vault, c.code, b"version one\n", category="other", subtype=None).id != doc.id


def test_identical_content_as_a_new_version_is_refused(vault):
    c = new_customer(vault)
    doc = add(vault, c.code, b"the same bytes\n", category="other", subtype=None)
    before = stored_blobs(vault)
    with pytest.raises(InvalidInput, match="identical to version 1"):
        versions.add_version(vault=vault, actor="admin", document_id=doc.id, content=chunked(b"the same bytes\n", 3))
    assert stored_blobs(vault) == before
    assert [v.version for v in versions.list_versions(vault=vault, actor="admin", document_id=doc.id)] == [1]


# --- names ------------------------------------------------------------------------------------------------

def test_canonical_names_follow_the_default_template(vault):
    c = new_customer(vault)
    assert c.code == "C000001"
    doc = add(vault, c.code, PDF, name="随便.txt", issued_on=date(2024, 3, 1))
    assert doc.canonical_name == "C000001_contract_formal_20240301_v1.pdf"
    v2 = versions.add_version(vault=vault, actor="admin", document_id=doc.id, content=[PNG])
    assert v2.canonical_name == "C000001_contract_formal_20240301_v2.png"
    names = [v.canonical_name for v in versions.list_versions(vault=vault, actor="admin", document_id=doc.id)]
    assert names == ["C000001_contract_formal_20240301_v1.pdf", "C000001_contract_formal_20240301_v2.png"]

    no_subtype = add(vault, c.code, b"signed form\n", category="signed_form", subtype=None, issued_on=date(2023, 12, 31))
    assert no_subtype.canonical_name == "C000001_signed_form_20231231_v1.txt"

    undated = add(vault, c.code, b"undated\n", category="finance", subtype="invoice")
    [v] = versions.list_versions(vault=vault, actor="admin", document_id=undated.id)
    assert undated.canonical_name == f"C000001_finance_invoice_{v.uploaded_at:%Y%m%d}_v1.txt"


HOSTILE_NAMES = [
    "../../etc/passwd",
    "/etc/shadow",
    "..\\..\\Windows\\System32\\config\\SAM",
    "a/b/c/../../d.pdf",
    "evil\x00name\x01\x1b[31m\r\n.pdf",
    "\u202etxt.exe",  # right-to-left override
    "x" * 300,
    "CON.pdf",
    ".hidden",
    "..",
    "合同/../../出口.pdf",
]


def test_hostile_original_names_are_data_only(vault, vault_home):
    c = new_customer(vault)
    docs = []
    for i, name in enumerate(HOSTILE_NAMES):
        doc = add(vault, c.code, f"document {i}\n".encode(), name=name, category="contract", subtype="formal",
                  issued_on=date(2024, 1, 2))
        docs.append(doc)
        [v] = versions.list_versions(vault=vault, actor="admin", document_id=doc.id)
        assert v.original_name == name  # returned exactly as given (sealed at rest, never used as a path)
        for canonical in (doc.canonical_name, v.canonical_name):
            assert canonical == "C000001_contract_formal_20240102_v1.txt"

    # Every file under the home is either a known vault file or a blob with a hex name in blobs/.
    allowed_top = {"clientfolio.db", "clientfolio.db-wal", "clientfolio.db-shm", "master.key", "audit.head",
                   "config.toml", "jobs.db", "jobs.db-wal", "jobs.db-shm"}  # the job queue holds ids only
    referenced = set()
    with vault.uow() as uow:
        referenced = {r[0] for r in uow.session.execute(text("SELECT blob_id FROM versions"))}
    found_blobs = set()
    for path in vault_home.rglob("*"):
        rel = path.relative_to(vault_home).as_posix()
        if path.is_dir():
            assert rel == "blobs" or rel == "blobs/.tmp" or re.fullmatch(r"blobs/[0-9a-f]{2}(/[0-9a-f]{2})?", rel), rel
            continue
        if "/" not in rel:
            assert rel in allowed_top, rel
            continue
        m = BLOB_PATH.fullmatch(rel)
        assert m and m.group(3).startswith(m.group(1) + m.group(2)), rel
        found_blobs.add(m.group(3))
    assert found_blobs == referenced and len(found_blobs) == len(HOSTILE_NAMES)
    assert temp_files(vault) == []
    # Nothing was written beside the home, nor anywhere a name points to.
    assert [p.name for p in vault_home.parent.iterdir()] == [vault_home.name]
    assert not list(vault_home.parent.parent.glob("**/passwd"))


def test_original_names_are_sealed_in_the_database(vault):
    c = new_customer(vault)
    name = "王小明身份证正面-Secret.jpg"
    doc = add(vault, c.code, b"not really a jpeg\n", name=name, category="other", subtype=None)
    with vault.uow() as uow:
        sealed = uow.session.execute(text("SELECT original_name_sealed FROM versions WHERE document_id = :d"),
                                     {"d": doc.id}).scalar_one()
    assert name.encode() not in bytes(sealed) and b"Secret" not in bytes(sealed)


# --- metadata, delete, undelete ----------------------------------------------------------------------------

def test_edit_document_changes_fields_and_audits_their_names(vault):
    c = new_customer(vault)
    doc = add(vault, c.code, PDF, issued_on=date(2024, 3, 1))
    edited = documents.edit_document(vault=vault, actor="admin", document_id=doc.id, title="  新 标题 ",
                                     tags=["urgent", "2024"], issued_on=date(2024, 4, 2),
                                     paper_location="柜子 A-3")
    assert (edited.title, edited.tags, edited.issued_on, edited.paper_location) == \
           ("新 标题", ["2024", "urgent"], date(2024, 4, 2), "柜子 A-3")
    assert edited.canonical_name == "C000001_contract_formal_20240402_v1.pdf"
    shown = documents.show_document(vault=vault, actor="admin", document_id=doc.id)
    assert (shown.title, shown.tags, shown.paper_location) == ("新 标题", ["2024", "urgent"], "柜子 A-3")
    [event] = audit.audit_log(vault=vault, actor="admin", action="document.edit")
    assert event.object_id == str(doc.id) and event.customer == c.code and event.actor == "admin"
    assert sorted(event.details["fields"]) == ["issued_on", "paper_location", "tags", "title"]
    assert "新 标题" not in str(event.details)  # names of fields, not their values

    recat = documents.edit_document(vault=vault, actor="admin", document_id=doc.id, category="finance",
                                    subtype="invoice")
    assert (recat.category, recat.subtype) == ("finance", "invoice")
    assert audit.audit_log(vault=vault, actor="admin", action="document.edit")[0].details == {"fields": ["category"]}
    with pytest.raises(InvalidInput, match="nothing to change"):
        documents.edit_document(vault=vault, actor="admin", document_id=doc.id, title="新 标题")
    with pytest.raises(InvalidInput, match="expiry date is before"):
        documents.edit_document(vault=vault, actor="admin", document_id=doc.id, expires_on=date(2000, 1, 1))
    assert documents.show_document(vault=vault, actor="admin", document_id=doc.id).expires_on is None


def test_delete_hides_from_lists_and_undelete_brings_it_back(vault):
    c = new_customer(vault)
    keep = add(vault, c.code, b"keep\n", category="other", subtype=None)
    gone = add(vault, c.code, b"gone\n", category="other", subtype=None)

    def listed(**kw):
        return {d.id for d in documents.list_documents(vault=vault, actor="admin", customer_code=c.code, **kw).items}

    assert listed() == {keep.id, gone.id}
    deleted = documents.delete_document(vault=vault, actor="admin", document_id=gone.id)
    assert deleted.status == "deleted"
    assert listed() == {keep.id}
    assert documents.list_documents(vault=vault, actor="admin").total == 1
    assert listed(include_deleted=True) == {keep.id, gone.id}
    assert read_bytes(vault, gone.id) == b"gone\n"  # history and bytes kept
    with pytest.raises(InvalidInput, match="already deleted"):
        documents.delete_document(vault=vault, actor="admin", document_id=gone.id)
    assert last_event(vault, "document.delete")["object_id"] == str(gone.id)

    back = documents.undelete_document(vault=vault, actor="admin", document_id=gone.id)
    assert back.status == "active"
    assert listed() == {keep.id, gone.id}
    assert last_event(vault, "document.undelete")["object_id"] == str(gone.id)


# --- size limit and streaming -----------------------------------------------------------------------------

def test_upload_size_limit_leaves_no_blob_and_no_temp_file(vault):
    c = new_customer(vault)
    vault.max_upload_bytes = 1000
    before = stored_blobs(vault)
    for chunk in (2000, 500, 1):  # one chunk, four chunks, byte by byte
        with pytest.raises(InvalidInput, match="larger than the limit"):
            documents.add_document(vault=vault, actor="admin", customer_code=c.code,
                                   content=chunked(PDF + b"x" * (2000 - len(PDF)), chunk),
                                   original_name="big.pdf", category="other")
        assert stored_blobs(vault) == before, chunk
        assert temp_files(vault) == [], chunk
    assert count(vault, "versions") == 0
    exactly = documents.add_document(vault=vault, actor="admin", customer_code=c.code,
                                     content=chunked(PDF + b"y" * (1000 - len(PDF)), 300),
                                     original_name="limit.pdf", category="other")
    assert exactly.size == 1000  # the limit itself is allowed
    with pytest.raises(InvalidInput, match="larger than the limit"):
        versions.add_version(vault=vault, actor="admin", document_id=exactly.id, content=[b"z" * 1001])
    assert temp_files(vault) == [] and len(stored_blobs(vault)) == len(before) + 1
    assert [v.version for v in versions.list_versions(vault=vault, actor="admin", document_id=exactly.id)] == [1]


def test_a_50_mb_stream_round_trips_byte_identical(vault):
    c = new_customer(vault)
    size, piece = 50 * 1024 * 1024, 1 << 20
    sent = hashlib.sha256()
    seed = os.urandom(piece)

    def generate():
        for i in range(size // piece):
            chunk = hashlib.sha256(i.to_bytes(4, "big")).digest() + seed[32:]  # differs per chunk
            sent.update(chunk)
            yield chunk

    view = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=generate(),
                                  original_name="big.bin", category="other")
    assert view.size == size and view.sha256 == sent.hexdigest()
    got, largest = hashlib.sha256(), 0
    total = 0
    for chunk in versions.read_version(vault=vault, actor="admin", document_id=view.id).chunks:
        got.update(chunk)
        total += len(chunk)
        largest = max(largest, len(chunk))
    assert total == size and got.hexdigest() == sent.hexdigest()
    assert largest <= vault.blobs.chunk_size  # streamed in bounded pieces, never the whole file at once
