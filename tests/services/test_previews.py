"""Page previews on SQLite and PostgreSQL: PDF pages and images drawn as PNG in memory, the page and width
limits, kinds of file without a preview, hostile files, permissions, and one audit event per page drawn."""

from __future__ import annotations

import io
import tempfile

import pytest
from PIL import Image

import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)
from clientfolio.domain.errors import NoPreview, NotFound, PermissionDenied
from clientfolio.services import audit, customers, documents, previews

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def code(staffed):
    return customers.add_customer(vault=staffed, actor="admin", name="预览客户", kind="person", tier="standard").code


def add(vault, code, content: bytes, *, category="contract", subtype=None, name="file"):
    return documents.add_document(vault=vault, actor="admin", customer_code=code, content=[content],
                                  original_name=name, category=category, subtype=subtype).id


def image(png: bytes) -> Image.Image:
    assert png.startswith(PNG_SIGNATURE)
    return Image.open(io.BytesIO(png))


def test_pdf_pages_are_drawn_at_the_width_asked(staffed, code):
    v = staffed
    doc = add(v, code, docs.text_pdf([["page one"], ["page two"]]))  # A4: 595 x 842 points
    assert previews.page_count(vault=v, actor="vera", document_id=doc) == 2
    page = image(previews.render_page(vault=v, actor="vera", document_id=doc, page=2, width=600))
    assert page.width == 600 and abs(page.height - 600 * 842 / 595) <= 1
    assert image(previews.render_page(vault=v, actor="vera", document_id=doc, width=10)).width == 200
    assert image(previews.render_page(vault=v, actor="vera", document_id=doc, width=10**6)).width == 2000
    for missing in (3, 0):
        with pytest.raises(NotFound):
            previews.render_page(vault=v, actor="vera", document_id=doc, page=missing)
    with pytest.raises(NotFound):
        previews.render_page(vault=v, actor="vera", document_id=doc, version=2)


def test_every_page_drawn_is_recorded_and_nothing_else(staffed, code):
    v = staffed
    doc = add(v, code, docs.text_pdf([["one"], ["two"]]))
    previews.page_count(vault=v, actor="vera", document_id=doc)
    previews.render_page(vault=v, actor="vera", document_id=doc, page=2)
    with pytest.raises(NotFound):
        previews.render_page(vault=v, actor="vera", document_id=doc, page=3)
    [event] = audit.audit_log(vault=v, actor="admin", action="document.preview")
    assert (event.actor, event.object_id, event.customer, event.outcome) == ("vera", str(doc), code, "ok")
    assert event.details == {"version": 1, "page": 2}


def test_images_are_one_page_and_never_enlarged(staffed, code):
    v = staffed
    png = add(v, code, docs.png(docs.snippet()), name="photo.png")  # 900 x 220
    assert previews.page_count(vault=v, actor="clara", document_id=png) == 1
    small = image(previews.render_page(vault=v, actor="clara", document_id=png, width=450))
    assert small.size == (450, 110)
    assert image(previews.render_page(vault=v, actor="clara", document_id=png, width=1500)).size == (900, 220)
    with pytest.raises(NotFound):
        previews.render_page(vault=v, actor="clara", document_id=png, page=2)


def test_a_multi_page_tiff_has_pages(staffed, code):
    v = staffed
    tiff = add(v, code, docs.tiff_pages(3), name="feeder.tiff")
    assert previews.page_count(vault=v, actor="admin", document_id=tiff) == 3
    assert image(previews.render_page(vault=v, actor="admin", document_id=tiff, page=3, width=300)).width == 300
    with pytest.raises(NotFound):
        previews.render_page(vault=v, actor="admin", document_id=tiff, page=4)


def test_no_file_is_written_while_drawing(staffed, code, tmp_path, monkeypatch):
    v = staffed
    ids = [add(v, code, docs.text_pdf([["secret page"]])), add(v, code, docs.png(), name="p.png"),
           add(v, code, docs.tiff_pages(2), name="t.tiff")]
    private = tmp_path / "process-temp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    blob_temp = v.blobs.root / ".tmp"
    before = sorted(blob_temp.iterdir()) if blob_temp.exists() else []
    for doc in ids:
        previews.page_count(vault=v, actor="admin", document_id=doc)
        previews.render_page(vault=v, actor="admin", document_id=doc)
    assert list(private.iterdir()) == []
    assert (sorted(blob_temp.iterdir()) if blob_temp.exists() else []) == before


@pytest.mark.parametrize("content", [b"plain notes\n", docs.docx_bytes(), docs.xlsx_bytes()],
                         ids=["text", "docx", "xlsx"])
def test_kinds_of_file_without_pages_say_so(staffed, code, content):
    doc = add(staffed, code, content)
    for call in (previews.page_count, previews.render_page):
        with pytest.raises(NoPreview) as caught:
            call(vault=staffed, actor="admin", document_id=doc)
        assert caught.value.code == "no-preview"
    assert audit.audit_log(vault=staffed, actor="admin", action="document.preview") == []


@pytest.mark.parametrize(("content", "says"), [
    (docs.truncated_pdf(), "damaged or truncated PDF"), (b"%PDF-1.7\n garbage", "damaged or truncated PDF"),
    (docs.encrypted_pdf(), "password-protected PDF"), (docs.bomb_png(), "decompression bomb guard"),
    (docs.truncated_jpeg(), "damaged or truncated image")],
    ids=["truncated-pdf", "garbage-pdf", "encrypted-pdf", "bomb-png", "truncated-jpeg"])
def test_hostile_or_damaged_files_give_a_clear_error(staffed, code, content, says):
    doc = add(staffed, code, content)
    with pytest.raises(NoPreview, match=says):
        previews.render_page(vault=staffed, actor="admin", document_id=doc)
    if "image" not in says:  # counting an image's pages reads its header only: a damaged body shows when drawn
        with pytest.raises(NoPreview, match=says):
            previews.page_count(vault=staffed, actor="admin", document_id=doc)


def test_sensitive_pages_need_the_sensitive_right(staffed, code):
    v = staffed
    doc = add(v, code, docs.png(), category="id_document", subtype="resident_id", name="id.png")
    for actor in ("vera", "clara", "audrey"):  # viewer and clerk: sensitive; auditor: no content at all
        with pytest.raises(PermissionDenied):
            previews.render_page(vault=v, actor=actor, document_id=doc)
        with pytest.raises(PermissionDenied):
            previews.page_count(vault=v, actor=actor, document_id=doc)
    assert image(previews.render_page(vault=v, actor="max", document_id=doc)).width == 900
    denied = audit.audit_log(vault=v, actor="admin", user="vera")
    assert denied[0].outcome == "denied" and denied[0].object_id == str(doc)
    assert [e.actor for e in audit.audit_log(vault=v, actor="admin", action="document.preview")] == ["max"]


def test_the_text_read_from_a_version_is_shown_to_readers_only_and_audited(staffed, code):
    """What a page shows instead of pictures for a text, Word or Excel file."""
    from clientfolio.services import versions

    doc_id = add(staffed, code, "合同正文：付款期限三十日。".encode(), subtype="formal", name="terms.txt")
    staffed.jobs.drain()  # the worker's text extraction
    assert versions.read_text(vault=staffed, actor="vera", document_id=doc_id) == "合同正文：付款期限三十日。"
    events = audit.audit_log(vault=staffed, actor="admin", action="document.read_text")
    assert [(e.actor, e.details["version"]) for e in events] == [("vera", 1)]
    documents.edit_document(vault=staffed, actor="admin", document_id=doc_id, sensitive=True)
    with pytest.raises((PermissionDenied, NotFound)):
        versions.read_text(vault=staffed, actor="vera", document_id=doc_id)
