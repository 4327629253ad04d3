"""Media types sniffed from content, never from a file name."""

from __future__ import annotations

import filetype

from clientfolio.domain.errors import InvalidInput

SNIFF_BYTES = 8192

_REFUSED = {
    "application/x-executable": "an executable program",
    "application/x-msdownload": "a Windows program",
    "application/x-mach-binary": "a macOS program",
    "application/x-sharedlib": "a shared library",
    "application/x-elf": "an executable program",
}


def sniff(head: bytes) -> str:
    """The media type of a file from its first bytes."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x7fELF"):
        return "application/x-executable"
    kind = filetype.guess(head)
    if kind is not None:
        return kind.mime
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_like_text(head) or _looks_like_gb18030(head):
        return "text/plain"  # UTF-16 with its mark, UTF-8, or GBK/GB18030 (what Chinese Windows saves)
    return "application/octet-stream"


def refuse_unwanted(media_type: str) -> None:
    what = _REFUSED.get(media_type)
    if what:
        raise InvalidInput(f"refused: the content is {what}, not a document")


# What ingestion files as documents; anything else is refused with its reason (uploads stay free-form).
INGESTIBLE = {
    "application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF",
    "image/webp": "WebP", "image/heic": "HEIC", "image/heif": "HEIF", "text/plain": "text",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (.docx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (.xlsx)",
}


def refuse_for_ingestion(media_type: str) -> str | None:
    """Why a file is not taken in as a document, or None when it is."""
    what = _REFUSED.get(media_type)
    if what:
        return f"the content is {what}, not a document"
    if media_type not in INGESTIBLE:
        return f"{media_type} is not a document type Clientfolio files (PDF, images, text, Word, Excel)"
    return None


def is_text(media_type: str) -> bool:
    return media_type.startswith("text/")


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    sample = head[:SNIFF_BYTES]
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            sample[: len(sample) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _looks_like_gb18030(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("gb18030")
        except UnicodeDecodeError:
            continue
        controls = sum(1 for ch in text if ch < " " and ch not in "\t\n\r\f")
        return controls * 100 <= len(text)
    return False
