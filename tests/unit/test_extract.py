"""Text extraction and archival renditions: every accepted type, every kind of bad input, nothing on disk.

Where OCR's output does not matter (which pages go to OCR, at what size, within which budget) a tiny real
stand-in engine is used. Tests of what OCR reads need clientfolio.adapters.ocr and skip until it exists.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field

import pytest

from clientfolio.adapters import renditions
from clientfolio.adapters.extract import PAGE_BREAK, Extraction, Extractor, Limits, extract_text
import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)


@dataclass
class StandInPage:
    text: str
    confidence: float
    rotation: int = 0
    lines: list = field(default_factory=list)


class StandInEngine:
    """Reads nothing: answers "stand-in page N" and remembers the size and mode of each image it was given."""

    def __init__(self, confidence: float = 0.75, fail_on: set[int] | None = None):
        self.confidence, self.fail_on, self.seen = confidence, fail_on or set(), []

    def read(self, image):
        self.seen.append((image.size, image.mode))
        if len(self.seen) in self.fail_on:
            raise RuntimeError("engine could not read this page")
        return StandInPage(f"stand-in page {len(self.seen)}", self.confidence)


def run(data: bytes, media_type: str = "application/octet-stream", *, ocr=None, **limits) -> Extraction:
    return extract_text(data, media_type, ocr=ocr, limits=Limits(**limits))


def test_limits_defaults():
    assert Limits() == Limits(max_pages=2000, max_pixels=80_000_000, render_dpi=200, max_text_chars=5_000_000,
                              ocr_page_budget=200)


# --- PDF ------------------------------------------------------------------------------------------------


def test_text_pdf_uses_the_text_layer_not_ocr():
    engine = StandInEngine()
    result = run(docs.text_pdf([docs.CONTRACT_LINES, ["Second page: payment terms"]]), "application/pdf",
                 ocr=engine)
    assert (result.status, result.page_count, result.message) == ("ok", 2, None)
    assert [(p.number, p.source, p.confidence) for p in result.pages] == [(1, "layer", None), (2, "layer", None)]
    assert "Harbor Trading Ltd" in result.pages[0].text and "payment terms" in result.pages[1].text
    assert result.text == result.pages[0].text + PAGE_BREAK + result.pages[1].text
    assert "\r" not in result.text and result.mean_confidence is None
    assert engine.seen == []


def test_chinese_text_pdf():
    try:
        data = docs.chinese_text_pdf()
    except docs.MissingFont as exc:
        pytest.skip(str(exc))
    result = run(data, "application/pdf", ocr=StandInEngine())
    assert result.status == "ok" and result.pages[0].source == "layer"
    for words in ("客户签字确认单", "营业执照", "统一社会信用代码", "合同续签"):
        assert words in result.text


def test_scanned_pdf_page_is_rendered_at_render_dpi_and_ocrd():
    engine = StandInEngine(confidence=0.8)
    result = run(docs.scanned_pdf(), "application/pdf", ocr=engine)
    assert result.status == "ok" and result.page_count == 1
    page = result.pages[0]
    assert (page.source, page.text, page.confidence) == ("ocr", "stand-in page 1", 0.8)
    assert result.mean_confidence == pytest.approx(0.8)
    (width, height), mode = engine.seen[0]
    assert mode == "RGB" and abs(width - 1654) <= 2 and abs(height - 2339) <= 2  # A4 at 200 dpi


def test_rendered_page_is_downscaled_to_the_pixel_limit():
    engine = StandInEngine()
    result = run(docs.scanned_pdf(), ocr=engine, max_pixels=1_000_000)
    (width, height), _ = engine.seen[0]
    assert result.status == "ok" and width * height <= 1_000_000 and width * height > 900_000


def test_mixed_pdf_ocrs_only_the_scanned_page():
    engine = StandInEngine()
    result = run(docs.mixed_pdf(), ocr=engine)
    assert [p.source for p in result.pages] == ["layer", "ocr"] and len(engine.seen) == 1
    assert "Service contract" in result.text and "stand-in page 1" in result.text


def test_scanned_pdf_without_an_engine_is_ok_with_no_text():
    result = run(docs.scanned_pdf(), ocr=None)
    assert result.status == "ok" and result.text.strip() == ""
    assert result.pages[0].source == "none" and result.pages[0].note == "no OCR engine"
    assert "no OCR engine" in result.message


def test_ocr_budget_flags_the_pages_beyond_it():
    engine = StandInEngine()
    result = run(docs.scanned_pdf([["one"], ["two"], ["three"], ["four"]], size=(300, 200)), ocr=engine,
                 ocr_page_budget=2)
    assert result.status == "ok" and result.page_count == 4 and len(engine.seen) == 2
    assert [p.source for p in result.pages] == ["ocr", "ocr", "none", "none"]
    assert [p.note for p in result.pages[2:]] == ["ocr skipped: page limit"] * 2
    assert "ocr skipped: page limit" in result.message


def test_ocr_failing_on_one_page_keeps_the_others():
    result = run(docs.scanned_pdf([["one"], ["two"]], size=(300, 200)), ocr=StandInEngine(fail_on={1}))
    assert result.status == "ok"
    assert [(p.source, p.note) for p in result.pages] == [("none", "ocr failed: RuntimeError"), ("ocr", None)]
    assert "OCR failed on 1 pages" in result.message


def test_an_engine_failing_on_every_page_raises_so_the_job_is_retried():
    with pytest.raises(RuntimeError):
        run(docs.scanned_pdf(), ocr=StandInEngine(fail_on={1}))


def test_password_protected_pdf_needs_password():
    result = run(docs.encrypted_pdf(), "application/pdf", ocr=StandInEngine())
    assert result.status == "needs_password" and result.pages == [] and "password" in result.message


def test_pdf_with_only_an_owner_password_opens():
    result = run(docs.encrypted_pdf(user=""), "application/pdf")
    assert result.status == "ok" and "Harbor Trading" in result.text


@pytest.mark.parametrize("data", [docs.truncated_pdf(), b"%PDF-1.7\n% nothing else\n", b"%PDF-"],
                         ids=["truncated", "header-only", "magic-only"])
def test_damaged_pdf_fails_with_a_clear_message(data):
    result = run(data, "application/pdf")
    assert result.status == "failed" and "PDF" in result.message and result.pages == []


def test_thousand_page_pdf_completes_without_ocr(record_property):
    data = docs.many_pages_pdf(1000)
    engine = StandInEngine()
    started = time.perf_counter()
    result = run(data, "application/pdf", ocr=engine)
    record_property("seconds_1000_pages", round(time.perf_counter() - started, 3))  # measured, not asserted
    assert result.status == "ok" and result.page_count == 1000 and len(result.pages) == 1000
    assert engine.seen == [] and {p.source for p in result.pages} == {"layer"}
    assert "Ledger page 1 of 1000" in result.pages[0].text and "Ledger page 1000 of 1000" in result.pages[-1].text
    assert result.text.count(PAGE_BREAK) == 999


def test_page_limit_reads_the_first_pages_and_says_so():
    result = run(docs.many_pages_pdf(60), max_pages=10)
    assert result.status == "ok" and result.page_count == 60 and len(result.pages) == 10
    assert "only the first 10 of 60 pages" in result.message


def test_text_limit_cuts_the_text():
    result = run(docs.many_pages_pdf(60), max_text_chars=100)
    assert result.status == "ok" and len(result.text.replace(PAGE_BREAK, "")) == 100
    assert "text cut at 100 characters" in result.message


# --- Images ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [docs.jpeg, docs.png, docs.webp], ids=["jpeg", "png", "webp"])
def test_images_go_to_ocr(make):
    engine = StandInEngine()
    result = run(make(), ocr=engine)
    assert result.status == "ok" and result.page_count == 1 and result.pages[0].source == "ocr"
    assert engine.seen == [((900, 220), "RGB")]


def test_heic_goes_to_ocr_or_says_what_is_missing():
    pytest.importorskip("pillow_heif", reason="pillow-heif not installed: HEIC cannot be made or read")
    engine = StandInEngine()
    result = run(docs.heic(), ocr=engine)
    assert result.status == "ok" and engine.seen == [((900, 220), "RGB")]


def test_heic_without_pillow_heif_fails_clearly(monkeypatch):
    pytest.importorskip("pillow_heif", reason="pillow-heif not installed: no HEIC sample to make")
    data = docs.heic()
    monkeypatch.setattr(renditions, "heif_available", lambda: False)
    result = run(data, ocr=StandInEngine())
    assert (result.status, result.message) == ("failed", "HEIC not supported: install pillow-heif")


def test_multipage_tiff_reads_every_frame():
    engine = StandInEngine()
    result = run(docs.tiff_pages(3), "image/tiff", ocr=engine)
    assert result.status == "ok" and result.page_count == 3 and len(engine.seen) == 3
    assert [p.number for p in result.pages] == [1, 2, 3]


def test_exif_orientation_is_applied_before_ocr():
    engine = StandInEngine()
    run(docs.jpeg(orientation=6), ocr=engine)
    assert engine.seen == [((220, 900), "RGB")]


def test_image_without_an_engine_is_ok_with_no_text():
    result = run(docs.png(), ocr=None)
    assert result.status == "ok" and result.text == "" and result.pages[0].note == "no OCR engine"


@pytest.mark.parametrize("size", [(100_000, 100_000), (10_000, 9_000)], ids=["pillow-guard", "our-guard"])
def test_decompression_bomb_is_refused(size):
    data = docs.bomb_png(*size)
    assert len(data) < 20_000
    result = run(data, "image/png", ocr=StandInEngine())
    assert result.status == "refused" and "decompression bomb guard" in result.message
    assert renditions.image_to_pdf(data, "image/png") is None


def test_truncated_image_fails():
    result = run(docs.truncated_jpeg(), ocr=StandInEngine())
    assert result.status == "failed" and "truncated" in result.message


# --- Office and text -------------------------------------------------------------------------------------


def test_docx_paragraphs_tables_headers_and_footers():
    result = run(docs.docx_bytes())
    assert result.status == "ok" and result.page_count == 1 and result.pages[0].source == "layer"
    lines = result.text.splitlines()
    for expected in ("Harbor Trading letterhead", "Renewal agreement", "续签协议：双方同意延长合同期限。",
                     "Item\tAmount\tCurrency", "Annual fee\t12000\tCNY", "Nested\tdetail",
                     "Total due on signature", "Confidential footer"):
        assert expected in lines
    assert lines.index("Renewal agreement") < lines.index("Item\tAmount\tCurrency") \
        < lines.index("Closing paragraph after the table.")


def test_xlsx_one_page_per_sheet():
    result = run(docs.xlsx_bytes())
    assert result.status == "ok" and [p.text.splitlines()[0] for p in result.pages] == ["Customers", "Payments"]
    assert "C-002\t华东贸易有限公司\t2022-07-01\t2500.5" in result.pages[0].text
    assert "INV-4417\t120" in result.pages[1].text and "far cell" in result.pages[1].text


def test_office_zip_bomb_is_refused():
    result = run(docs.zip_bomb_docx(3 << 20), max_unpacked_bytes=1 << 20)
    assert result.status == "refused" and "decompression bomb guard" in result.message


def test_gbk_text_is_decoded_and_newlines_normalized():
    result = run(docs.gbk_text(), "application/octet-stream")
    assert result.status == "ok" and result.text == docs.GBK_TEXT.replace("\r\n", "\n")


@pytest.mark.parametrize("data", ["Contract\r\nrenewed 续签\r".encode(), "\ufeffContract\nrenewed 续签\n".encode(),
                                  "Contract\r\nrenewed 续签".encode("utf-16")], ids=["utf8", "utf8-bom", "utf16"])
def test_plain_text(data):
    result = run(data, "text/plain")
    assert result.status == "ok" and result.text.rstrip("\n") == "Contract\nrenewed 续签"


def test_damaged_docx_fails():
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<not-really-word/>")
    result = run(out.getvalue(), "application/zip")
    assert result.status == "failed" and result.message.startswith("damaged Word document")


def test_ole_containers_encrypted_office_needs_password_legacy_office_fails():
    """Synthetic compound files: only the signature and the stream name the rule looks at."""
    cfb = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)
    assert run(cfb + "EncryptedPackage".encode("utf-16-le")).status == "needs_password"
    legacy = run(cfb + "WordDocument".encode("utf-16-le"))
    assert legacy.status == "failed" and "legacy Office format" in legacy.message


# --- Refused and unknown ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "words"), [
    (docs.elf_binary, "executable program"), (docs.windows_exe, "Windows program"),
    (docs.zip_renamed_pdf, "archive (zip)"), (docs.gzip_bytes, "archive (gzip)"),
], ids=["elf", "exe", "zip", "gzip"])
def test_programs_and_archives_renamed_pdf_are_refused_by_content(make, words):
    result = run(make(), "application/pdf", ocr=StandInEngine())
    assert result.status == "refused" and words in result.message and result.pages == []


def test_unknown_and_empty_content_fail_clearly():
    assert run(b"").message == "empty file"
    result = run(bytes(range(256)) * 4)
    assert result.status == "failed" and "no text extraction" in result.message


# --- Renditions ------------------------------------------------------------------------------------------


def _pdf_pages(data: bytes) -> int:
    import pypdfium2 as pdfium

    return len(pdfium.PdfDocument(data))


def test_jpeg_rendition_embeds_the_jpeg_unchanged():
    data = docs.jpeg()
    pdf = renditions.image_to_pdf(data, "image/jpeg")
    assert pdf.startswith(b"%PDF-") and data in pdf and _pdf_pages(pdf) == 1


@pytest.mark.parametrize(("make", "pages"), [(docs.png, 1), (docs.webp, 1), (lambda: docs.tiff_pages(3), 3)],
                         ids=["png", "webp", "tiff"])
def test_image_renditions(make, pages):
    pdf = Extractor().rendition(make(), "image/x-anything")
    assert pdf.startswith(b"%PDF-") and _pdf_pages(pdf) == pages


def test_webp_rendition_is_lossless_png():
    import pypdfium2 as pdfium
    from PIL import Image, ImageChops

    source = Image.open(io.BytesIO(docs.webp())).convert("RGB")
    pdf = pdfium.PdfDocument(renditions.image_to_pdf(docs.webp(), "image/webp"))
    embedded = next(pdf[0].get_objects()).get_bitmap().to_pil().convert("RGB")
    assert ImageChops.difference(source, embedded).getbbox() is None


def test_heic_rendition():
    pytest.importorskip("pillow_heif", reason="pillow-heif not installed")
    assert _pdf_pages(renditions.image_to_pdf(docs.heic(), "image/heic")) == 1


@pytest.mark.parametrize("data", [docs.text_pdf([["x"]]), b"plain text", docs.truncated_jpeg(), b""],
                         ids=["pdf", "text", "truncated-jpeg", "empty"])
def test_no_rendition_for_non_images_and_damaged_images(data):
    assert renditions.image_to_pdf(data, "image/jpeg") is None


def test_tiff_with_more_frames_than_allowed_has_no_rendition():
    assert renditions.image_to_pdf(docs.tiff_pages(3), "image/tiff", max_pages=2) is None


# --- Nothing on disk -------------------------------------------------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_FS_EVENTS = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.truncate", "os.symlink",
              "os.link", "os.chmod", "os.chown", "os.utime", "tempfile.mkstemp", "tempfile.mkdtemp",
              "shutil.copyfile", "shutil.copytree", "shutil.move", "shutil.rmtree", "shutil.make_archive"}
_WATCHED = _FS_EVENTS | {"open"}
_recording: list | None = None


def _audit(event: str, args: tuple) -> None:
    if _recording is None or event not in _WATCHED:
        return
    if event == "open":
        path, mode, flags = args
        writes = flags & _WRITE_FLAGS if isinstance(flags, int) else any(c in (mode or "") for c in "wax+")
        if writes:
            _recording.append((event, path, mode, flags))
    elif event in _FS_EVENTS:
        _recording.append((event, *args))


sys.addaudithook(_audit)  # hooks cannot be removed: this one records only while _recording is a list


def test_extraction_and_renditions_write_no_file(tmp_path, monkeypatch):
    """No write-mode open and no file-system change from Python while extracting, and no file appears in the
    temporary folder or the working folder (both private and empty here, so libraries that honour TMPDIR or
    write beside themselves are caught; /tmp itself is shared with other processes, so it is not compared).
    PDFium's C code bypasses the audit hook; it is covered by the empty-folder checks only."""
    global _recording
    private_tmp, work = tmp_path / "tmp", tmp_path / "cwd"
    private_tmp.mkdir()
    work.mkdir()
    inputs = [docs.text_pdf([docs.CONTRACT_LINES]), docs.scanned_pdf(), docs.mixed_pdf(), docs.encrypted_pdf(),
              docs.truncated_pdf(), docs.jpeg(orientation=6), docs.png(), docs.webp(), docs.tiff_pages(2),
              docs.bomb_png(), docs.docx_bytes(), docs.xlsx_bytes(), docs.gbk_text(), docs.elf_binary(),
              docs.zip_renamed_pdf(), docs.zip_bomb_docx(2 << 20)]
    if renditions.heif_available():
        inputs.append(docs.heic())
    extractor = Extractor(ocr=StandInEngine(), limits=Limits(max_unpacked_bytes=1 << 20))
    extractor.extract(docs.png(), "image/png")  # first use imports the libraries (reads only, but not measured)
    extractor.extract(docs.docx_bytes(), "")
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    monkeypatch.chdir(work)
    _recording = []
    try:
        outcomes = [(extractor.extract(data, "application/octet-stream").status,
                     extractor.rendition(data, "application/octet-stream") is not None) for data in inputs]
    finally:
        recorded, _recording = _recording, None
    assert recorded == []
    assert list(private_tmp.iterdir()) == [] and list(work.iterdir()) == []
    assert {"ok", "needs_password", "failed", "refused"} <= {status for status, _ in outcomes}
    assert sum(made for _, made in outcomes) >= 5


def test_the_audit_hook_does_see_writes(tmp_path):
    global _recording
    _recording = []
    try:
        (tmp_path / "probe").write_bytes(b"x")
        os.close(os.open(tmp_path / "probe2", os.O_WRONLY | os.O_CREAT))
        (tmp_path / "folder").mkdir()
    finally:
        recorded, _recording = _recording, None
    assert [entry[0] for entry in recorded] == ["open", "open", "os.mkdir"]


# --- Real OCR (the engine lives in clientfolio.adapters.ocr) ---------------------------------------------


@pytest.fixture(scope="module")
def real_ocr():
    try:
        from clientfolio.adapters.ocr import RapidOcrEngine
    except ImportError as exc:
        pytest.skip(f"clientfolio.adapters.ocr is not importable yet ({exc})")
    return RapidOcrEngine()


@pytest.mark.slow
def test_real_ocr_reads_a_scanned_pdf(real_ocr):
    result = run(docs.scanned_pdf([["INVOICE 4417 PAID", "Harbor Trading"]], size=(1000, 400)), ocr=real_ocr)
    assert result.status == "ok" and result.pages[0].source == "ocr"
    assert "4417" in result.text and "Harbor" in result.text
    assert 0 < result.mean_confidence <= 1


@pytest.mark.slow
def test_real_ocr_reads_chinese_in_an_image(real_ocr):
    try:
        image = docs.snippet(["营业执照 合同续签"], chinese=True)
    except docs.MissingFont as exc:
        pytest.skip(str(exc))
    result = run(docs.png(image), ocr=real_ocr)
    assert result.status == "ok" and "营业执照" in result.text.replace(" ", "")


@pytest.mark.slow
def test_real_ocr_reads_a_rotated_phone_photo(real_ocr):
    result = run(docs.jpeg(docs.snippet(["INVOICE 4417 PAID"]).rotate(90, expand=True), orientation=6),
                 ocr=real_ocr)
    assert result.status == "ok" and "4417" in result.text
