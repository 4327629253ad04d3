"""Rows as a file a spreadsheet opens: CSV (UTF-8 with a byte-order mark, so Excel shows Chinese) or XLSX.

A text cell starting with = + - @, a tab or a carriage return gets a leading apostrophe: a spreadsheet would
otherwise take it as a formula (CSV injection). Only values that are plain facts belong here (audit rows):
openpyxl stages a sheet in a temporary file of its own while saving, and deletes it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from clientfolio.domain.errors import InvalidInput

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value):
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


class SpreadsheetWriter:
    """The TableWriter port of domain/ports.py."""

    formats = ("csv", "xlsx")

    def write(self, fmt: str, header: list[str], rows: Iterable[list]) -> bytes:
        if fmt == "csv":
            return _csv(header, rows)
        if fmt == "xlsx":
            return _xlsx(header, rows)
        raise InvalidInput(f"unknown format {fmt!r}: use one of {', '.join(self.formats)}")


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([defuse(v) for v in header])
    writer.writerows([defuse(v) for v in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


def _xlsx(header: list[str], rows: Iterable[list]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value):  # control characters would make openpyxl refuse the whole file
        return defuse(ILLEGAL_CHARACTERS_RE.sub("", value)) if isinstance(value, str) else value

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([cell(v) for v in header])
    for row in rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
