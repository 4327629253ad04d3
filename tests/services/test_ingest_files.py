"""Every accepted file type and the bad-input list, through ingestion with the real extractor and OCR engine.
SQLite only: the database plays no part in what is tested here (test_ingest.py covers both backends)."""

from __future__ import annotations

import tempfile

import pytest

import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)
from clientfolio import bootstrap
from clientfolio.services import documents, ingest, vault as vault_services, versions

SECRET = "ZEPHYRQUILL"  # a word that must never reach a file in the clear


@pytest.fixture
def vault_and_tmp(tmp_path, monkeypatch):
    """A vault whose process temp folder is one we can search afterwards."""
    temp = tmp_path / "process-temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.delenv("CLIENTFOLIO_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLIENTFOLIO_MASTER_KEY", raising=False)
    home = tmp_path / "home"
    v = bootstrap.init_vault(home)
    from clientfolio.services import customers
    code = customers.add_customer(vault=v, actor="admin", name="Harbor Trading", kind="organization",
                                  tier="standard").code
    yield v, code, temp
    bootstrap.dispose_engines()


def drop_all(root, code, files):
    folder = root / code
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def by_name(results):
    return {r.path.split("/", 1)[1]: r for r in results}


def test_every_accepted_type_is_filed_with_its_text(vault_and_tmp, tmp_path):
    v, code, temp = vault_and_tmp
    words = ["Invoice", SECRET, "2024"]
    image = docs.page_image([" ".join(words)], size=(1000, 300), font_size=48)
    files = {
        "text.pdf": docs.text_pdf([[f"Contract {SECRET} page one"], ["page two"]]),
        "scan.pdf": docs.scanned_pdf([[f"Scanned {SECRET} letter"]], size=(1000, 400)),
        "photo.jpg": docs.jpeg(image),
        "photo.png": docs.png(image),
        "photo.webp": docs.webp(image),
        "pages.tiff": docs.tiff_pages(2),
        "notes.txt": f"plain notes {SECRET}\n".encode(),
        "letter.docx": docs.docx_bytes(),
        "sheet.xlsx": docs.xlsx_bytes(),
        "turned.png": docs.png(image.rotate(90, expand=True)),
    }
    try:
        files["photo.heic"] = docs.heic(image)
    except Exception:  # noqa: BLE001 - no HEIF encoder on this machine: the type is still tested for refusal
        pass
    root = tmp_path / "in"
    drop_all(root, code, files)
    results = by_name(ingest.ingest_file(v, "admin", root, p) for p in ingest.candidates(root))
    assert {n: r.outcome for n, r in results.items()} == {n: "stored" for n in files}
    assert all(r.text_status == "done" for r in results.values()), {n: r.text_status for n, r in results.items()}
    for name in ("text.pdf", "scan.pdf", "photo.jpg", "photo.png", "photo.webp", "notes.txt", "turned.png"):
        with v.uow() as uow:
            version = uow.documents.get(results[name].document_id).latest
            text = v.blobs.read(version.text_blob_id).decode()
        assert SECRET.lower() in text.lower(), (name, text)
    # Images get a lossless PDF rendition beside the original, which is kept as it was.
    with v.uow() as uow:
        photo = uow.documents.get(results["photo.png"].document_id).latest
        assert photo.rendition_blob_id and v.blobs.read(photo.rendition_blob_id).startswith(b"%PDF")
    original = b"".join(versions.read_version(vault=v, actor="admin", document_id=results["photo.png"].document_id).chunks)
    assert original == files["photo.png"]
    # No word of any text, in any file under the home or the process's temporary folder.
    for base in (v.home, temp):
        for path in base.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for needle in (SECRET, SECRET.lower()):
                    assert needle.encode() not in data and needle.encode("utf-16-le") not in data, path
    assert vault_services.check_vault(vault=v, actor="admin").ok


def test_bad_input_gets_a_clear_outcome_and_nothing_half_stored(vault_and_tmp, tmp_path):
    v, code, _ = vault_and_tmp
    files = {
        "truncated.pdf": docs.truncated_pdf(),
        "locked.pdf": docs.encrypted_pdf(),
        "broken.jpg": docs.truncated_jpeg(),
        "bomb.png": docs.bomb_png(),
        "program.pdf": docs.elf_binary(),  # an executable renamed to .pdf
        "setup.pdf": docs.windows_exe(),
        "archive.pdf": docs.zip_renamed_pdf(),
        "data.gz": docs.gzip_bytes(),
        "zipbomb.docx": docs.zip_bomb_docx(2 * 1024**3),
        "ledger.pdf": docs.many_pages_pdf(1000),
        "empty.pdf": b"",
        "a\x01b.txt": b"control characters in a name\n",
        ("n" * 240 + ".txt"): b"a long name\n",
    }
    root = tmp_path / "in"
    drop_all(root, code, files)
    (root / code / "still-writing.pdf.part").write_bytes(b"%PDF-1.7 partial")
    results = by_name(ingest.ingest_file(v, "admin", root, p) for p in ingest.candidates(root))
    outcome = {n: (r.outcome, r.text_status) for n, r in results.items()}
    assert "still-writing.pdf.part" not in outcome  # a download in progress is not taken
    assert outcome["locked.pdf"] == ("stored", "needs_password")
    assert outcome["truncated.pdf"][0] == "stored" and outcome["broken.jpg"][0] == "stored"
    assert outcome["ledger.pdf"] == ("stored", "done")
    for name in ("program.pdf", "setup.pdf", "archive.pdf", "data.gz", "empty.pdf"):
        assert outcome[name][0] == "refused", (name, results[name])
        assert results[name].reason
    assert outcome["bomb.png"][0] in ("stored", "refused") and outcome["zipbomb.docx"][0] in ("stored", "refused")
    if outcome["bomb.png"][0] == "stored":
        assert outcome["bomb.png"][1] == "failed"
    assert outcome["a\x01b.txt"] == ("stored", "done") and outcome["n" * 240 + ".txt"] == ("stored", "done")
    stored = [r for r in results.values() if r.outcome == "stored"]
    listed = documents.list_documents(vault=v, actor="admin", limit=100)
    assert listed.total == len(stored)
    report = vault_services.check_vault(vault=v, actor="admin")
    assert report.ok and report.unreferenced_blobs == []  # nothing half-stored
    with v.uow() as uow:
        version = uow.documents.get(results["a\x01b.txt"].document_id).latest
    names = [x.original_name for x in versions.list_versions(vault=v, actor="admin", document_id=version.document_id)]
    assert names == ["a\x01b.txt"]  # kept as data, exactly
