"""Which customer a file belongs to, from the clues an ingested file carries (pure rules, no I/O).

Clues, strongest first: the consumption folder it sits in (one sub-folder per customer, named by code or by
name), a customer code in its file name, an identifier found in its text (resident ID number, unified social
credit code, passport number). Identifier clues are returned as normalized values only: the caller turns
them into keyed lookup hashes, so matching never decrypts a customer record.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from clientfolio.domain import identifiers as ids
from clientfolio.domain.errors import InvalidInput

CODE = re.compile(r"(?<![A-Za-z0-9])C\d{6}(?![0-9])", re.IGNORECASE)
_RESIDENT_ID = re.compile(r"(?<![0-9])\d{17}[0-9Xx](?![0-9A-Za-z])")
_CREDIT_CODE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")
_PASSPORT = re.compile(r"(?:护照号码?|护照|Passport\s*No\.?|Passport\s*Number)\s*[:：]?\s*([A-Z0-9]{7,12})",
                       re.IGNORECASE)
_MRZ_PASSPORT = re.compile(r"^P[A-Z<][A-Z<]{3}[A-Z<]+\n([A-Z0-9<]{9})\d", re.MULTILINE)


@dataclass(frozen=True)
class FolderClue:
    """The first folder below the consumption root: a customer code, or else a customer name."""
    code: str | None
    name: str | None


def folder_clue(relative_path: str) -> FolderClue | None:
    parts = PurePath(relative_path).parts
    if len(parts) < 2:
        return None
    folder = unicodedata.normalize("NFKC", parts[0]).strip()
    code = CODE.fullmatch(folder.split()[0]) if folder else None
    if code:
        return FolderClue(code=code.group(0).upper(), name=None)
    return FolderClue(code=None, name=folder) if folder else None


def code_in_name(file_name: str) -> str | None:
    """A customer code written into the file name (`C000123_合同.pdf`)."""
    found = CODE.search(unicodedata.normalize("NFKC", PurePath(file_name).name))
    return found.group(0).upper() if found else None


def identifiers_in_text(text: str) -> list[tuple[str, str]]:
    """Valid identifiers in the text, as (kind, normalized value), each once, in order of appearance.
    A number that fails its checksum is not a clue (OCR noise, or a different number)."""
    flat = unicodedata.normalize("NFKC", text)
    found: list[tuple[str, str]] = []
    for kind, pattern in (("resident_id", _RESIDENT_ID), ("credit_code", _CREDIT_CODE)):
        for m in pattern.finditer(flat.upper()):
            _add(found, kind, m.group(0))
    for pattern in (_PASSPORT, _MRZ_PASSPORT):
        for m in pattern.finditer(flat):
            _add(found, "passport", m.group(1).replace("<", ""))
    return found


def _add(found: list[tuple[str, str]], kind: str, raw: str) -> None:
    try:
        value = ids.normalize_identifier(kind, raw)
    except InvalidInput:
        return
    if (kind, value) not in found:
        found.append((kind, value))
