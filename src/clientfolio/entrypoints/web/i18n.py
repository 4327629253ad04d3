"""Languages of the pages: Simplified Chinese first, English second.

The language comes from the `cf_lang` cookie (the switch in the page header) or else the browser's
Accept-Language. Catalogues are gettext .po files compiled in memory at start-up (no .mo build step);
dates, times and numbers are formatted for the locale with Babel.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from io import BytesIO

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LANG_COOKIE = "cf_lang"
NAMES = {"zh_CN": "简体中文", "en": "English"}


@cache
def translations(locale: str) -> NullTranslations:
    """The catalogue of `locale`; English is the source language, so it needs none."""
    if locale == "en":
        return NullTranslations()
    po = resources.files(__package__) / "locales" / locale / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def choose_locale(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LOCALES:
        return cookie
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            wanted.append((q, tag.replace("-", "_")))
    for _, tag in sorted(wanted, key=lambda w: -w[0]):  # stable: equal weights keep the browser's order
        try:
            found = Locale.parse(tag)
        except (ValueError, UnknownLocaleError):
            continue
        if found.language == "zh":
            return "zh_CN"  # the only Chinese catalogue (zh-TW readers still read it better than English)
        if found.language == "en":
            return "en"
    return DEFAULT_LOCALE


class Formats:
    """Locale-aware formatting for templates: dates in the vault's time zone, numbers with grouping."""

    def __init__(self, locale: str, zone: dt.tzinfo):
        self.locale = Locale.parse(locale)
        self.zone = zone

    def date(self, value: dt.date | dt.datetime | None, width: str = "medium") -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.zone).date()
        return babel_dates.format_date(value, format=width, locale=self.locale)

    def datetime(self, value: dt.datetime | None, width: str = "medium") -> str:
        if value is None:
            return ""
        return babel_dates.format_datetime(value, format=width, tzinfo=self.zone, locale=self.locale)

    def number(self, value: int | float | None) -> str:
        return "" if value is None else babel_numbers.format_decimal(value, locale=self.locale)

    def size(self, n: int | None) -> str:
        """Bytes as kB/MB with the locale's decimal mark."""
        if n is None:
            return ""
        for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
            if n >= scale:
                return f"{babel_numbers.format_decimal(round(n / scale, 1), locale=self.locale)} {unit}"
        return f"{babel_numbers.format_decimal(n, locale=self.locale)} B"

    def ago(self, value: dt.datetime | None, now: dt.datetime) -> str:
        if value is None:
            return ""
        return babel_dates.format_timedelta(value - now, add_direction=True, locale=self.locale)
