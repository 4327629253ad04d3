"""Canonical file names for stored documents, from a template an administrator may change.

A name must be safe on Windows, macOS and Linux whatever a customer or a scan put in its fields:
no path separators, no control or invisible formatting characters, none of <>:"/\\|?*, no leading
dot, no Windows device name; Chinese is kept as is. Names are at most 180 characters and, so a copy
with a " (1)" suffix still fits Linux's 255-byte limit, at most 240 bytes of UTF-8.
"""

from __future__ import annotations

import datetime as _dt
import re
import string
import unicodedata

from clientfolio.domain.errors import InvalidInput

DEFAULT_TEMPLATE = "{customer_code}_{category}_{subtype}_{date}_v{version}.{ext}"
TEMPLATE_FIELDS = ("customer_code", "customer_name", "category", "subtype", "date", "version", "ext",
                   "title", "document_id")
MAX_CHARS = 180
MAX_BYTES = 240
FALLBACK_STEM = "document"

_RESERVED = set('<>:"/\\|?*')
_DROP_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn"}  # controls, bidi/zero-width, surrogates, private, unassigned
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                    *(f"LPT{i}" for i in range(1, 10)), "COM\u00b9", "COM\u00b2", "COM\u00b3",
                    "LPT\u00b9", "LPT\u00b2", "LPT\u00b3"}
_UNDERSCORES = re.compile(r"_{2,}")
_EXT = re.compile(r"[^a-z0-9]")
_EDGE = "._- "

# Sniffed media type -> extension. Other names a user's file may carry for the same type are in
# _ALIASES; the original name can only pick among those, never change the type.
MEDIA_TYPE_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/tiff": "tif",
    "image/webp": "webp",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "text/plain": "txt",
    "text/csv": "csv",
    "application/rtf": "rtf",
    "application/msword": "doc",
    "application/vnd.ms-excel": "xls",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.ofd": "ofd",  # China's fixed-layout format (e-invoices)
    "message/rfc822": "eml",
    "application/vnd.ms-outlook": "msg",
    "application/zip": "zip",
}
_ALIASES = {
    "image/jpeg": {"jpeg", "jpe"},
    "image/tiff": {"tiff"},
    "text/plain": {"text", "log", "md"},
}


def validate_template(template: str) -> None:
    """InvalidInput unless the template is well formed and uses only TEMPLATE_FIELDS, plainly.

    Fields take no conversion (!r) or format spec (:03d), and the literal text must itself be safe
    in a file name, so only field values ever need cleaning.
    """
    if not isinstance(template, str) or not template.strip():
        raise InvalidInput("name template is empty")
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError:
        raise InvalidInput("name template has unbalanced braces: write {field}, or {{ and }} "
                           "for a literal brace") from None
    fields = 0
    for literal, field, spec, conversion in parts:
        bad = sorted({ch for ch in literal if ch in _RESERVED or _dropped(ch)}, key=ord)
        if bad:
            shown = ", ".join(repr(ch) for ch in bad)
            raise InvalidInput(f"name template contains characters not allowed in file names: {shown}")
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            raise InvalidInput(f"name template has unknown field {{{field}}}: use "
                               + ", ".join("{" + f + "}" for f in TEMPLATE_FIELDS))
        if spec or conversion:
            raise InvalidInput(f"name template field {{{field}}} takes no format spec or conversion")
        fields += 1
    if not fields:
        raise InvalidInput("name template uses no fields, so every document would get the same name")


def name_date(issued_on: _dt.date | None, uploaded_on: _dt.date) -> str:
    """The {date} field: the issued or signed date if known, else the upload date, as YYYYMMDD."""
    return (issued_on or uploaded_on).strftime("%Y%m%d")


def canonical_name(template: str, **fields: object) -> str:
    """The file name for a document: the template filled with sanitized fields, never empty.

    A missing (None or empty) field renders as nothing, and the separators around it collapse:
    no subtype gives C001_contract_20240301_v1.pdf. Dates may be given as date objects.
    """
    validate_template(template)
    unknown = sorted(set(fields) - set(TEMPLATE_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown name fields: {', '.join(unknown)}")
    values = {name: _field_value(name, fields.get(name)) for name in TEMPLATE_FIELDS}
    rendered = "".join(literal + (values[field] if field is not None else "")
                       for literal, field, _spec, _conv in string.Formatter().parse(template))
    rendered = _UNDERSCORES.sub("_", rendered).replace("_.", ".")
    suffix = "." + values["ext"] if values["ext"] and rendered.endswith("." + values["ext"]) else ""
    stem = rendered[: len(rendered) - len(suffix)].strip(_EDGE + "_")
    if not stem:
        stem = FALLBACK_STEM
    while len(stem) + len(suffix) > MAX_CHARS or len((stem + suffix).encode()) > MAX_BYTES:
        stem = stem[:-1]
    stem = stem.rstrip(_EDGE + "_") or FALLBACK_STEM
    head, dot, rest = stem.partition(".")
    if head.upper() in _WINDOWS_DEVICES:  # CON.pdf, nul.x.pdf: device names on Windows
        stem = head + "_" + dot + rest
    return stem + suffix


def _field_value(name: str, value: object) -> str:
    if value is None:
        return ""
    if name == "date" and isinstance(value, _dt.date):
        return value.strftime("%Y%m%d")
    if name == "ext":
        return _EXT.sub("", str(value).lower().lstrip("."))[:10]
    return sanitize_component(str(value))


def sanitize_component(value: str) -> str:
    """One piece of a file name made safe: unsafe characters and white space become '_'."""
    out = []
    for ch in unicodedata.normalize("NFC", value):
        if _dropped(ch):
            continue
        if ch in _RESERVED or ch.isspace() or unicodedata.category(ch) in ("Zs", "Zl", "Zp"):
            out.append("_")
        else:
            out.append(ch)
    return _UNDERSCORES.sub("_", "".join(out)).lstrip(".")


def _dropped(ch: str) -> bool:
    return unicodedata.category(ch) in _DROP_CATEGORIES


def extension_for(media_type: str, original_name: str | None = None) -> str:
    """The extension for a sniffed media type ('bin' if unknown).

    The original name only chooses among spellings of the same type (photo.jpeg stays jpeg);
    it never changes the type: a PDF called invoice.exe is stored as .pdf.
    """
    base = (media_type or "").split(";", 1)[0].strip().lower()
    ext = MEDIA_TYPE_EXTENSIONS.get(base)
    if ext is None:
        return "bin"
    if original_name and "." in original_name:
        given = original_name.rsplit(".", 1)[1].strip().lower()
        if given in _ALIASES.get(base, ()):
            return given
    return ext
