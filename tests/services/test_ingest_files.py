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
        "gbk.txt": f"客户备注 {SECRET}\r\n合同已签字\r\n".encode("gbk"),  # what Chinese Windows saves
        "utf16.txt": f"备注 {SECRET}\n".encode("utf-16"),
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
    for name in ("text.pdf", "scan.pdf", "photo.jpg", "photo.png", "photo.webp", "notes.txt", "gbk.txt",
                 "utf16.txt", "turned.png"):
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


def test_fields_are_read_from_generated_id_card_and_licence_images(vault_and_tmp, tmp_path):
    from clientfolio.services import customers, fields

    v, code, _ = vault_and_tmp
    rid, uscc = "11010519491231002X", "91310000MA1FL4XQ27"
    front = docs.page_image(["姓名 王芳", "性别 女  民族 汉", "出生 1949年12月31日", "住址 北京市朝阳区建国路88号",
                             f"公民身份号码 {rid}"], size=(1400, 700), font_size=44, chinese=True)
    back = docs.page_image(["中华人民共和国", "居民身份证", "签发机关 北京市公安局朝阳分局",
                            "有效期限 2015.03.01-2035.03.01"], size=(1400, 600), font_size=44, chinese=True)
    licence = docs.page_image(["营业执照", f"统一社会信用代码 {uscc}", "名称 上海星河贸易有限公司",
                               "法定代表人 李雷", "成立日期 2019年05月06日", "营业期限 长期"],
                              size=(1400, 800), font_size=44, chinese=True)
    person = customers.add_customer(vault=v, actor="admin", name="王芳", kind="person", tier="standard").code
    root = tmp_path / "cards"
    drop_all(root, person, {"front.jpg": docs.jpeg(front), "back.png": docs.png(back.rotate(270, expand=True))})
    drop_all(root, code, {"licence.png": docs.png(licence)})
    results = by_name(ingest.ingest_file(v, "admin", root, p) for p in ingest.candidates(root))
    assert {n: r.outcome for n, r in results.items()} == {"front.jpg": "stored", "back.png": "stored",
                                                         "licence.png": "stored"}

    def proposed(name):
        view = fields.show_fields(vault=v, actor="admin", document_id=results[name].document_id)
        return view.kind, {r.name: (r.proposed, r.valid) for r in view.rows}

    kind, front_fields = proposed("front.jpg")
    assert kind == "resident_id_front"
    assert front_fields["resident_id"] == (rid, True) and front_fields["name"] == ("王芳", True)
    assert front_fields["birth_date"] == ("1949-12-31", True)
    kind, back_fields = proposed("back.png")  # photographed sideways
    assert kind == "resident_id_back" and back_fields["valid_until"] == ("2035-03-01", True)
    kind, licence_fields = proposed("licence.png")
    assert kind == "business_licence" and licence_fields["credit_code"] == (uscc, True)
    assert licence_fields["valid_until"] == ("long-term", True)

    fields.confirm_fields(vault=v, actor="admin", document_id=results["front.jpg"].document_id)
    fields.confirm_fields(vault=v, actor="admin", document_id=results["back.png"].document_id)
    shown = customers.show_customer(vault=v, actor="admin", code=person, reveal=True)
    assert [(i.kind, i.value) for i in shown.identifiers] == [("resident_id", rid)]
    assert documents.show_document(vault=v, actor="admin",
                                   document_id=results["back.png"].document_id).expires_on.isoformat() == "2035-03-01"
