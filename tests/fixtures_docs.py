"""Test documents made in memory, never on disk: PDFs (text layer, scanned, mixed, encrypted, truncated,
1,000 pages), images (JPEG, PNG, WebP, multi-page TIFF, HEIC), Word, Excel, GBK text, and hostile input
(a decompression-bomb PNG, a zip bomb .docx, an ELF program, a Windows program, a zip renamed .pdf).

Text PDFs are drawn with pypdfium2's page-object API (no extra dependency): English with the standard
Helvetica font; Chinese with an embedded CJK font found through fontconfig (Debian's fonts-noto-cjk).
"""

from __future__ import annotations

import ctypes
import functools
import io
import shutil
import struct
import subprocess
import zipfile
import zlib
from datetime import date

from PIL import Image, ImageDraw, ImageFont

CJK_FONT_MISSING = "no CJK font found by fc-list: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk)"


class MissingFont(Exception):
    pass


# --- Fonts -----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def cjk_font() -> tuple[str, int] | None:
    """(file, face index) of a Simplified Chinese sans font, or None."""
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(["fc-list", "-f", "%{file}\t%{index}\t%{family}\t%{style}\n", ":lang=zh-cn"],
                         capture_output=True, text=True, check=False).stdout
    fonts = [line.split("\t") for line in out.splitlines() if line.count("\t") == 3]

    def rank(font):
        path, _, family, style = font
        return ("SC" not in family, "Sans" not in family, "Mono" in family, "Regular" not in style, path)

    fonts.sort(key=rank)
    return (fonts[0][0], int(fonts[0][1] or 0)) if fonts else None


def image_font(size: int, *, chinese: bool = False) -> ImageFont.FreeTypeFont:
    if chinese:
        found = cjk_font()
        if not found:
            raise MissingFont(CJK_FONT_MISSING)
        return ImageFont.truetype(found[0], size, index=found[1])
    return ImageFont.load_default(size=size)


# --- PDFs ------------------------------------------------------------------------------------------------


def text_pdf(pages: list[list[str]], *, chinese: bool = False, size: tuple[float, float] = (595, 842)) -> bytes:
    """A PDF with a real text layer: one list of lines per page."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument.new()
    keep = []  # buffers pdfium reads from must outlive the calls
    if chinese:
        found = cjk_font()
        if not found:
            raise MissingFont(CJK_FONT_MISSING)
        with open(found[0], "rb") as fh:
            data = fh.read()
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        keep.append(buffer)
        font = raw.FPDFText_LoadFont(pdf.raw, buffer, len(data), raw.FPDF_FONT_TRUETYPE, True)
    else:
        font = raw.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
    assert font, "pdfium could not load the font"
    for lines in pages:
        page = pdf.new_page(*size)
        y = size[1] - 60
        for line in lines:
            obj = raw.FPDFPageObj_CreateTextObj(pdf.raw, font, 14.0)
            encoded = (line + "\x00").encode("utf-16-le")
            text = ctypes.create_string_buffer(encoded, len(encoded))
            assert raw.FPDFText_SetText(obj, ctypes.cast(text, raw.FPDF_WIDESTRING))
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, y)
            raw.FPDFPage_InsertObject(page.raw, obj)
            y -= 24
        page.gen_content()
        page.close()
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    raw.FPDFFont_Close(font)
    return out.getvalue()


CONTRACT_LINES = ["Service contract 2024-017", "Customer: Harbor Trading Ltd", "Signed by both parties"]
CHINESE_LINES = ["客户签字确认单", "营业执照 统一社会信用代码", "合同续签 2024年"]


@functools.lru_cache(maxsize=1)
def chinese_text_pdf() -> bytes:
    """A text PDF in Chinese (the whole CJK font is embedded: about 15 MB, made once per test run)."""
    return text_pdf([CHINESE_LINES], chinese=True)


def page_image(lines: list[str], *, size: tuple[int, int] = (1240, 1754), font_size: int = 40,
               chinese: bool = False) -> Image.Image:
    """A white page (A4 at 150 dpi by default) with black text, as a scanner would give."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = image_font(font_size, chinese=chinese)
    y = 80
    for line in lines:
        draw.text((80, y), line, fill="black", font=font)
        y += int(font_size * 1.6)
    return image


def image_bytes(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def scanned_pdf(pages: list[list[str]] | None = None, *, size: tuple[int, int] = (1240, 1754)) -> bytes:
    """An image-only PDF (img2pdf from PIL-rendered pages): no text layer at all."""
    import img2pdf

    pages = pages or [CONTRACT_LINES]
    layout = img2pdf.get_fixed_dpi_layout_fun((150, 150))
    return img2pdf.convert([image_bytes(page_image(lines, size=size), "PNG") for lines in pages],
                           layout_fun=layout)


def mixed_pdf() -> bytes:
    """Page 1 has a text layer, page 2 is a scan."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(text_pdf([CONTRACT_LINES]))
    pdf.import_pages(pdfium.PdfDocument(scanned_pdf([["Appendix scanned page"]])))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def encrypted_pdf(*, user: str = "secret", owner: str = "owner-secret") -> bytes:
    """AES-256 encrypted; with user="" it opens without a password (owner restrictions only)."""
    import pikepdf

    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(text_pdf([CONTRACT_LINES]))) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user=user, owner=owner, R=6))
    return out.getvalue()


def truncated_pdf() -> bytes:
    data = text_pdf([CONTRACT_LINES] * 3)
    return data[: len(data) * 6 // 10]


def many_pages_pdf(count: int = 1000) -> bytes:
    """`count` small pages, each with its own line of text ("Ledger page N of COUNT").

    Made in batches of 50 pages joined with import_pages: pdfium's content generation slows down as a
    document grows (1,000 pages in one document took 26 s; this way about a second).
    """
    import pypdfium2 as pdfium

    lines = [[f"Ledger page {n} of {count}", "Account statement line"] for n in range(1, count + 1)]
    whole = pdfium.PdfDocument.new()
    for start in range(0, count, 50):
        whole.import_pages(pdfium.PdfDocument(text_pdf(lines[start:start + 50], size=(200, 120))))
    out = io.BytesIO()
    whole.save(out)
    return out.getvalue()


# --- Images ----------------------------------------------------------------------------------------------


def snippet(lines: list[str] | None = None, *, chinese: bool = False) -> Image.Image:
    """A small image of text (a phone photo of a label, say): quick to OCR."""
    return page_image(lines or ["INVOICE 4417 PAID"], size=(900, 220), font_size=48, chinese=chinese)


def jpeg(image: Image.Image | None = None, *, orientation: int | None = None) -> bytes:
    """A JPEG; with `orientation` its EXIF says how to turn it upright (6: rotate 90° clockwise)."""
    image = image or snippet()
    if orientation is None:
        return image_bytes(image, "JPEG", quality=90)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return image_bytes(image, "JPEG", quality=90, exif=exif)


def png(image: Image.Image | None = None) -> bytes:
    return image_bytes(image or snippet(), "PNG")


def webp(image: Image.Image | None = None) -> bytes:
    return image_bytes(image or snippet(), "WEBP", quality=90)


def tiff_pages(count: int = 3) -> bytes:
    """A multi-page TIFF (a scanner's feeder output), one text line per page."""
    frames = [snippet([f"TIFF PAGE {n}"]) for n in range(1, count + 1)]
    return image_bytes(frames[0], "TIFF", save_all=True, append_images=frames[1:], compression="tiff_lzw")


def heic(image: Image.Image | None = None) -> bytes:
    """A HEIC photo (needs pillow-heif's encoder)."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    return image_bytes(image or snippet(), "HEIF", quality=90)


def truncated_jpeg() -> bytes:
    data = jpeg(page_image(CONTRACT_LINES))
    return data[: len(data) // 2]


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A PNG declaring width x height 1-bit pixels, a few hundred bytes long (decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)
    idat = zlib.compress(row * 16, 9)  # the first rows only: the header is what a bomb guard must judge
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


# --- Office and text -------------------------------------------------------------------------------------


def docx_bytes() -> bytes:
    """Heading, paragraphs, a table with a merged cell, a nested table, a header and a footer."""
    import docx

    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Harbor Trading letterhead"
    document.sections[0].footer.paragraphs[0].text = "Confidential footer"
    document.add_heading("Renewal agreement", level=1)
    document.add_paragraph("This renewal extends the service contract 2024-017.")
    document.add_paragraph("续签协议：双方同意延长合同期限。")
    table = document.add_table(rows=3, cols=3)
    table.cell(0, 0).text, table.cell(0, 1).text, table.cell(0, 2).text = "Item", "Amount", "Currency"
    table.cell(1, 0).text, table.cell(1, 1).text, table.cell(1, 2).text = "Annual fee", "12000", "CNY"
    merged = table.cell(2, 0).merge(table.cell(2, 2))
    merged.text = "Total due on signature"
    inner = table.cell(1, 0).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "Nested", "detail"
    document.add_paragraph("Closing paragraph after the table.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    """Two sheets: customers (text, numbers, a date, Chinese) and payments."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Customers"
    sheet.append(["Code", "Name", "Since", "Credit"])
    sheet.append(["C-001", "Harbor Trading", date(2021, 3, 4), 15000])
    sheet.append(["C-002", "华东贸易有限公司", date(2022, 7, 1), 2500.5])
    payments = workbook.create_sheet("Payments")
    payments.append(["Invoice", "Paid"])
    payments.append(["INV-4417", 120.0])
    payments["D10"] = "far cell"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb_docx(unpacked_bytes: int) -> bytes:
    """A .docx whose document.xml unpacks to `unpacked_bytes` (of spaces); small when packed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        with zipfile.ZipFile(io.BytesIO(docx_bytes())) as source:
            for item in source.infolist():
                if item.filename != "word/document.xml":
                    archive.writestr(item, source.read(item))
        with archive.open("word/document.xml", "w", force_zip64=True) as target:
            chunk = b" " * (1 << 20)
            for start in range(0, unpacked_bytes, len(chunk)):
                target.write(chunk[: unpacked_bytes - start])
    return out.getvalue()


GBK_TEXT = "客户姓名：张伟\r\n证件类型：居民身份证\r\n备注：合同已签字\r\n"


def gbk_text() -> bytes:
    return GBK_TEXT.encode("gbk")


# --- Hostile input ---------------------------------------------------------------------------------------


def elf_binary() -> bytes:
    """A complete x86-64 Linux program (exit(0)) in 128 bytes: ELF header, one program header, code."""
    code = bytes.fromhex("b83c000000" "31ff" "0f05")  # mov eax, 60; xor edi, edi; syscall
    base, size = 0x400000, 64 + 56 + len(code)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8) + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, base + 120, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return header + program + code


def windows_exe() -> bytes:
    """The start of a Windows program (MZ header pointing at a PE header)."""
    dos = bytearray(b"MZ" + bytes(62))
    struct.pack_into("<I", dos, 0x3C, 64)
    return bytes(dos) + b"PE\x00\x00" + bytes(200)


def zip_renamed_pdf() -> bytes:
    """What a user's "contract.pdf" may really be: a zip of other files."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("contract.pdf", text_pdf([CONTRACT_LINES]))
        archive.writestr("notes.txt", "see attached")
    return out.getvalue()


def gzip_bytes() -> bytes:
    import gzip

    return gzip.compress(b"an archived ledger\n" * 10)
