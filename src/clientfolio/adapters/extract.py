"""Text from a file's bytes, in memory only: PDF text layers, OCR of scans and images, Word, Excel, plain text.

Bytes in, text out: no temporary file, ever (pypdfium2 opens bytes; Pillow, python-docx and openpyxl read
from BytesIO). Bad input never raises: every call returns an Extraction whose status and message say what
happened. The kind of file is sniffed from its content; the media type passed in is only a hint.
"""

from __future__ import annotations

import io
import math
import re
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal, Protocol

from PIL import Image

from clientfolio.adapters import renditions
from clientfolio.domain import media
from clientfolio.domain.errors import InvalidInput

Status = Literal["ok", "needs_password", "failed", "refused"]
Source = Literal["layer", "ocr", "none"]

PAGE_BREAK = "\n\f\n"
MIN_LAYER_CHARS = 10  # a PDF page with fewer usable characters than this is treated as a scan
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_ZIPPED = {"application/zip", DOCX, XLSX, "application/epub+zip",
           "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
_ARCHIVES = {
    "application/zip": "zip", "application/x-rar-compressed": "RAR", "application/x-7z-compressed": "7z",
    "application/gzip": "gzip", "application/x-bzip2": "bzip2", "application/x-xz": "xz",
    "application/x-tar": "tar", "application/x-lzip": "lzip", "application/x-lz4": "LZ4",
    "application/zstd": "zstd", "application/x-compress": "compress", "application/x-lzop": "lzop",
    "application/x-brotli": "brotli", "application/vnd.ms-cab-compressed": "CAB",
    "application/x-unix-archive": "ar", "application/x-deb": "Debian package", "application/x-rpm": "RPM",
    "application/x-google-chrome-extension": "browser extension",
}
_CFB = bytes.fromhex("D0CF11E0A1B11AE1")  # OLE compound file: legacy Office, or an encrypted .docx/.xlsx
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff]")  # \f is the page separator: none inside pages
PDFIUM_LOCK = threading.RLock()  # PDFium is not thread-safe: one call into it at a time in this process


class OcrResult(Protocol):
    text: str
    confidence: float


class OcrEngine(Protocol):
    """Anything with `read(image) -> OcrPage` (text, confidence 0..1, rotation, lines)."""

    def read(self, image: Image.Image) -> OcrResult: ...


@dataclass(frozen=True)
class Limits:
    max_pages: int = 2000  # PDF pages and image frames read; the rest are counted but not read
    max_pixels: int = 80_000_000  # per image frame (refused above) and per rendered PDF page (downscaled)
    render_dpi: int = 200  # scanned PDF pages are rendered at this resolution for OCR
    max_text_chars: int = 5_000_000  # text beyond this is cut; also bounds the cells a workbook may cost
    ocr_page_budget: int = 200  # pages OCR'd per file; later ones are flagged "ocr skipped: page limit"
    max_unpacked_bytes: int = 512 * 1024 * 1024  # a .docx/.xlsx unpacking to more is refused (zip bomb)


@dataclass
class ExtractedPage:
    number: int
    text: str
    source: Source
    confidence: float | None = None  # OCR's own confidence 0..1; None for a text layer or no text
    note: str | None = None  # why a page has no text: "ocr skipped: page limit", "no OCR engine", ...


@dataclass
class Extraction:
    status: Status
    pages: list[ExtractedPage] = field(default_factory=list)
    message: str | None = None
    page_count: int = 0

    @property
    def text(self) -> str:
        return PAGE_BREAK.join(page.text for page in self.pages)

    @property
    def mean_confidence(self) -> float | None:
        """OCR confidence averaged over OCR'd pages, weighted by their characters (blank pages count 0)."""
        scored = [(p.confidence, len(p.text.strip())) for p in self.pages if p.confidence is not None]
        weight = sum(w for _, w in scored)
        return sum(c * w for c, w in scored) / weight if weight else None


class Extractor:
    """The TextExtractor port of domain/ports.py: one OCR engine and one set of limits."""

    def __init__(self, *, ocr: OcrEngine | None = None, limits: Limits | None = None,
                 max_bytes: int = 256 * 1024 * 1024):
        self.ocr, self.limits, self.max_bytes = ocr, limits or Limits(), max_bytes

    def extract(self, data: bytes, media_type: str) -> Extraction:
        return extract_text(data, media_type, ocr=self.ocr, limits=self.limits)

    def rendition(self, data: bytes, media_type: str) -> bytes | None:
        return renditions.image_to_pdf(data, media_type, max_pixels=self.limits.max_pixels,
                                       max_pages=self.limits.max_pages)


def extract_text(data: bytes, media_type: str, *, ocr: OcrEngine | None, limits: Limits) -> Extraction:
    """The text of a file, page by page, with what happened to each page."""
    if not data:
        return Extraction("failed", message="empty file")
    kind = sniff_kind(data, media_type)
    try:
        media.refuse_unwanted(kind)
    except InvalidInput as exc:
        return Extraction("refused", message=exc.message)
    if kind in _ARCHIVES:
        return Extraction("refused", message=f"refused: the content is an archive ({_ARCHIVES[kind]}), "
                                             "not a document")
    if kind == "application/pdf":
        return _pdf(data, ocr, limits)
    if kind in renditions.IMAGE_TYPES:
        return _image(data, kind, ocr, limits)
    if kind == "text/plain":
        return _plain(data, limits)
    if kind == DOCX:
        return _office(data, limits, _docx_pages, "Word document")
    if kind == XLSX:
        return _office(data, limits, _xlsx_pages, "Excel workbook")
    if kind == "application/x-cfb":
        if _ENCRYPTED_PACKAGE in data:
            return Extraction("needs_password", message="password-protected Office document: stored as is")
        return Extraction("failed", message="legacy Office format (.doc/.xls/.ppt): no text extraction; "
                                            "save it as .docx/.xlsx")
    return Extraction("failed", message=f"no text extraction for this kind of file ({kind})")


def sniff_kind(data: bytes, declared: str = "") -> str:
    """The kind of file from its content; zip containers are told apart by what they hold."""
    head = data[: media.SNIFF_BYTES]
    kind = media.sniff(head)
    if kind in _ZIPPED:
        return _zip_kind(data)
    if kind != "application/octet-stream":
        return kind
    if b"%PDF-" in head[:1024]:  # readers accept junk before the header
        return "application/pdf"
    if head.startswith(_CFB):
        return "application/x-cfb"
    if declared.startswith("text/") and b"\x00" not in head:
        return "text/plain"
    return kind


# --- PDF ------------------------------------------------------------------------------------------------


class PdfUnreadable(Exception):
    """PDFium cannot open the PDF: damaged, or encrypted (`needs_password`)."""

    def __init__(self, message: str, *, needs_password: bool = False):
        super().__init__(message)
        self.needs_password = needs_password


def open_pdf(data: bytes):
    """A PDFium document over bytes in memory; call (and use it) holding PDFIUM_LOCK."""
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD:
            raise PdfUnreadable("password-protected PDF", needs_password=True) from exc
        reason = re.search(r"\(PDFium: ([^)]*)\)", str(exc))
        raise PdfUnreadable(f"damaged or truncated PDF ({reason[1] if reason else exc})") from exc


def _pdf(data: bytes, ocr: OcrEngine | None, limits: Limits) -> Extraction:
    import pypdfium2 as pdfium

    try:
        with PDFIUM_LOCK:
            document = open_pdf(data)
            total = len(document)
    except PdfUnreadable as exc:
        if exc.needs_password:
            return Extraction("needs_password", message="password-protected PDF: stored as is; "
                                                        "its text needs the password")
        return Extraction("failed", message=str(exc))
    try:
        if total == 0:
            return Extraction("failed", message="damaged PDF: no pages")
        pages, notes = _Pages(limits), []

        def read_page(index: int) -> tuple[str, Image.Image | None, str | None]:
            with PDFIUM_LOCK:
                try:
                    page = document[index]
                except pdfium.PdfiumError:
                    return "", None, "damaged page"
                try:
                    textpage = page.get_textpage()
                    text = _clean(textpage.get_text_range())
                    textpage.close()
                    scan = _usable_chars(text) < MIN_LAYER_CHARS
                    image = render_pdf_page(page, scale=limits.render_dpi / 72, max_pixels=limits.max_pixels) \
                        if scan and pages.may_ocr(ocr) else None
                    return text, image, None
                except pdfium.PdfiumError:
                    return "", None, "damaged page"
                finally:
                    page.close()

        for index in range(min(total, limits.max_pages)):
            text, image, damage = read_page(index)
            if damage:
                pages.add(ExtractedPage(index + 1, "", "none", note=damage))
            elif _usable_chars(text) >= MIN_LAYER_CHARS:
                pages.add(ExtractedPage(index + 1, text, "layer"))
            else:
                pages.add(pages.ocr(ocr, image, index + 1, fallback=text))
            if pages.full:
                break
        if total > limits.max_pages:
            notes.append(f"only the first {limits.max_pages} of {total} pages were read")
        return pages.result(total, notes)
    finally:
        with PDFIUM_LOCK:
            document.close()


def render_pdf_page(page, *, scale: float, max_pixels: int) -> Image.Image | None:
    """A PDF page as an image at `scale` (1 = 72 dpi), made smaller where it would pass `max_pixels`."""
    width, height = page.get_size()
    if width <= 0 or height <= 0:
        return None
    if width * height * scale * scale > max_pixels:  # downscale rather than refuse a big page
        scale = math.sqrt(max_pixels / (width * height))
        while math.ceil(width * scale) * math.ceil(height * scale) > max_pixels:
            scale *= 0.999  # bitmap sides are whole pixels: make sure rounding up stays within the limit
    bitmap = page.render(scale=scale)
    try:
        return bitmap.to_pil().copy()  # detached from the bitmap's buffer before it is freed
    finally:
        bitmap.close()


# --- Images ----------------------------------------------------------------------------------------------


def _image(data: bytes, kind: str, ocr: OcrEngine | None, limits: Limits) -> Extraction:
    try:
        image = renditions.open_image(data, kind, max_pixels=limits.max_pixels)
        pages = _Pages(limits)
        for number, frame in enumerate(renditions.iter_frames(
                image, max_pixels=limits.max_pixels, max_frames=limits.max_pages), 1):
            pages.add(pages.ocr(ocr, _rgb(frame) if pages.may_ocr(ocr) else None, number))
            if pages.full:
                break
        notes = []
        if renditions.has_more_frames(image, limits.max_pages):
            notes.append(f"only the first {limits.max_pages} frames were read")
    except renditions.ImageRefused as exc:
        return Extraction("refused", message=str(exc))
    except renditions.ImageUnreadable as exc:
        return Extraction("failed", message=str(exc))
    return pages.result(len(pages.pages), notes)


def _rgb(frame: Image.Image) -> Image.Image:
    try:
        return frame.convert("RGB")
    except Exception as exc:  # noqa: BLE001 - colour modes Pillow cannot convert
        raise renditions.ImageUnreadable(f"unsupported image colour mode {frame.mode}") from exc


# --- Plain text ------------------------------------------------------------------------------------------


def _plain(data: bytes, limits: Limits) -> Extraction:
    notes = []
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        for encoding in ("utf-8", "gb18030"):  # Chinese files are often GBK, which GB18030 contains
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            text = data.decode("utf-8", errors="replace")
            notes.append("some bytes were neither UTF-8 nor GB18030 and were replaced")
    pages = _Pages(limits)
    pages.add(ExtractedPage(1, _clean(text), "layer"))
    return pages.result(1, notes)


# --- Word and Excel --------------------------------------------------------------------------------------


def _zip_kind(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except Exception:  # noqa: BLE001 - a broken zip: let the archive rule refuse it
        return "application/zip"
    if "word/document.xml" in names:
        return DOCX
    if "xl/workbook.xml" in names:
        return XLSX
    if "ppt/presentation.xml" in names:
        return "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    if "mimetype" in names:
        return "application/vnd.oasis.opendocument"  # OpenDocument or EPUB: a document, not an archive
    return "application/zip"


def _office(data: bytes, limits: Limits, read: Callable[[bytes, Limits], Iterable[str]],
            what: str) -> Extraction:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception as exc:  # noqa: BLE001
        return Extraction("failed", message=f"damaged {what} ({type(exc).__name__})")
    if unpacked > limits.max_unpacked_bytes:
        return Extraction("refused", message=f"{what} unpacks to {unpacked} bytes, more than "
                                             f"{limits.max_unpacked_bytes} (decompression bomb guard)")
    pages = _Pages(limits)
    try:
        for number, text in enumerate(read(data, limits), 1):
            pages.add(ExtractedPage(number, _clean(text), "layer"))
            if pages.full:
                break
    except Exception as exc:  # noqa: BLE001 - python-docx/openpyxl raise many kinds on broken files
        return Extraction("failed", message=f"damaged {what} ({type(exc).__name__})")
    return pages.result(max(len(pages.pages), 1), [])


def _docx_pages(data: bytes, limits: Limits) -> Iterable[str]:
    """One page: headers, body paragraphs and tables in order (cells tab-separated), footers."""
    import docx
    from docx.table import Table

    document = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    budget = [limits.max_text_chars]

    def add(text: str) -> bool:
        lines.append(text)
        budget[0] -= len(text) + 1
        return budget[0] > 0

    def blocks(container, depth: int = 0) -> bool:
        for block in container.iter_inner_content():
            if not isinstance(block, Table):
                if not add(block.text):
                    return False
                continue
            for row in block.rows:
                cells, seen = [], set()
                for cell in row.cells:
                    if id(cell._tc) in seen:  # a merged cell is listed once per grid column it spans
                        continue
                    seen.add(id(cell._tc))
                    cells.append(cell)
                if not add("\t".join(" ".join(p.text for p in c.paragraphs if p.text) for c in cells)):
                    return False
                if depth < 4:  # tables inside cells
                    for cell in cells:
                        for inner in cell.tables:
                            if not blocks(_Only(inner), depth + 1):
                                return False
        return True

    seen_parts: set[int] = set()
    for section in document.sections:
        for part in (section.first_page_header, section.header, section.even_page_header):
            if not part.is_linked_to_previous and id(part.part) not in seen_parts:
                seen_parts.add(id(part.part))
                blocks(part)
    if blocks(document):
        for section in document.sections:
            for part in (section.first_page_footer, section.footer, section.even_page_footer):
                if not part.is_linked_to_previous and id(part.part) not in seen_parts:
                    seen_parts.add(id(part.part))
                    blocks(part)
    yield "\n".join(lines)


class _Only:
    """A container holding one table, so nested tables go through the same walk."""

    def __init__(self, table):
        self.table = table

    def iter_inner_content(self):
        yield self.table


def _xlsx_pages(data: bytes, limits: Limits) -> Iterable[str]:
    """One page per worksheet: its name, then each non-empty row's values, tab-separated.

    Every cell visited costs at least one character of max_text_chars, so a sheet whose declared or actual
    size is huge cannot cost more work than the text limit allows.
    """
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    budget = limits.max_text_chars
    try:
        for sheet in workbook.worksheets:
            sheet.reset_dimensions()  # never trust the declared size (it pads every row to it)
            lines = [sheet.title]
            budget -= len(sheet.title) + 1
            for row in sheet.iter_rows(values_only=True):
                budget -= max(len(row), 1)
                values = [_cell(v) for v in row]
                while values and not values[-1]:
                    values.pop()
                if values:
                    line = "\t".join(values)
                    lines.append(line)
                    budget -= len(line)
                if budget <= 0:
                    break
            yield "\n".join(lines)
            if budget <= 0:
                return
    finally:
        workbook.close()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).replace("\t", " ").replace("\n", " ")


# --- Shared ----------------------------------------------------------------------------------------------


class _Pages:
    """Collects pages, spends the OCR budget and the text budget, and writes the closing message."""

    def __init__(self, limits: Limits):
        self.limits, self.pages = limits, []
        self.chars = self.ocr_used = self.ocr_skipped = self.ocr_failed = 0
        self.full = False
        self.first_error: Exception | None = None

    def may_ocr(self, ocr: OcrEngine | None) -> bool:
        return ocr is not None and self.ocr_used < self.limits.ocr_page_budget

    def ocr(self, ocr: OcrEngine | None, image: Image.Image | None, number: int,
            fallback: str = "") -> ExtractedPage:
        """OCR one page image; `fallback` is what a text layer held (kept if OCR cannot run)."""
        source: Source = "layer" if fallback.strip() else "none"
        if ocr is None:
            return ExtractedPage(number, fallback, source, note="no OCR engine")
        if image is None:
            if self.ocr_used < self.limits.ocr_page_budget:
                return ExtractedPage(number, fallback, source, note="empty page")
            self.ocr_skipped += 1
            return ExtractedPage(number, fallback, source, note="ocr skipped: page limit")
        self.ocr_used += 1
        try:
            result = ocr.read(image)
        except Exception as exc:  # noqa: BLE001 - one page an engine cannot read must not lose the others
            self.ocr_failed += 1
            self.first_error = self.first_error or exc
            return ExtractedPage(number, fallback, source, note=f"ocr failed: {type(exc).__name__}")
        confidence = getattr(result, "confidence", None)
        confidence = None if confidence is None else min(max(float(confidence), 0.0), 1.0)
        return ExtractedPage(number, _clean(str(result.text or "")), "ocr", confidence)

    def add(self, page: ExtractedPage) -> None:
        room = self.limits.max_text_chars - self.chars
        if len(page.text) >= room:
            page.text, self.full = page.text[:room], True
        self.chars += len(page.text)
        self.pages.append(page)

    def result(self, page_count: int, notes: list[str]) -> Extraction:
        if self.ocr_failed and self.ocr_failed == self.ocr_used:
            raise self.first_error  # the engine itself is broken, not the page: let the job retry later
        if self.full:
            notes.append(f"text cut at {self.limits.max_text_chars} characters")
        if self.ocr_skipped:
            notes.append(f"ocr skipped: page limit ({self.ocr_skipped} pages beyond "
                         f"{self.limits.ocr_page_budget} were not OCR'd)")
        if self.ocr_failed:
            notes.append(f"OCR failed on {self.ocr_failed} pages")
        damaged = sum(1 for page in self.pages if page.note == "damaged page")
        if damaged:
            notes.append(f"{damaged} damaged pages could not be read")
        if any(page.note == "no OCR engine" for page in self.pages):
            notes.append("no OCR engine: pages without a text layer have no text")
        return Extraction("ok", self.pages, "; ".join(notes) or None, page_count)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
    return _CONTROL.sub("", text)


def _usable_chars(text: str) -> int:
    """Characters that carry meaning: not spaces, not U+FFFD, not private-use glyph codes of a bad font."""
    return sum(1 for ch in text if not ch.isspace() and ch != "\ufffd" and not "\ue000" <= ch <= "\uf8ff")
