"""Document categories and subtypes, with Chinese and English labels.

The default taxonomy ships as data (clientfolio/data/taxonomy.toml); an administrator's file may add
categories, add subtypes and relabel, never remove. Files are read by an adapter; this module works on
the already-parsed dicts, in the TOML shape:

    {"category": [{"slug": "contract", "zh": "合同", "en": "Contracts", "sensitive_by_default": False,
                   "subtype": [{"slug": "formal", "zh": "正式合同", "en": "Formal contract"}]}]}
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from clientfolio.domain.errors import InvalidInput

SLUG = re.compile(r"[a-z][a-z0-9_]{0,39}")
LANGS = ("zh", "en")
MAX_LABEL = 100

_CATEGORY_KEYS = {"slug", "zh", "en", "sensitive_by_default", "subtype"}
_SUBTYPE_KEYS = {"slug", "zh", "en"}


@dataclass(frozen=True)
class Subtype:
    slug: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class Category:
    slug: str
    label_zh: str
    label_en: str
    sensitive_by_default: bool
    subtypes: tuple[Subtype, ...] = ()

    def subtype(self, slug: str) -> Subtype:
        """The subtype with this slug, or InvalidInput listing the valid ones."""
        for s in self.subtypes:
            if s.slug == slug:
                return s
        if not self.subtypes:
            raise InvalidInput(f"category {self.slug!r} has no subtypes")
        valid = ", ".join(s.slug for s in self.subtypes)
        raise InvalidInput(f"unknown subtype {slug!r} for category {self.slug!r}: use one of {valid}")


@dataclass(frozen=True)
class Taxonomy:
    categories: tuple[Category, ...]

    def __post_init__(self) -> None:
        _no_duplicates([c.slug for c in self.categories], "category")
        for c in self.categories:
            _no_duplicates([s.slug for s in c.subtypes], f"subtype in category {c.slug!r}")

    @property
    def slugs(self) -> tuple[str, ...]:
        return tuple(c.slug for c in self.categories)

    def category(self, slug: str) -> Category:
        """The category with this slug, or InvalidInput listing the valid ones."""
        for c in self.categories:
            if c.slug == slug:
                return c
        raise InvalidInput(f"unknown category {slug!r}: use one of {', '.join(self.slugs)}")

    def validate(self, category: str, subtype: str | None) -> None:
        """Accept a known category with no subtype, or with one of its own subtypes."""
        c = self.category(category)
        if subtype is not None:
            c.subtype(subtype)

    def validate_filter(self, category: str | None, subtype: str | None) -> None:
        """For list filters: a subtype alone must exist in some category."""
        if category:
            self.validate(category, subtype)
        elif subtype and not any(s.slug == subtype for c in self.categories for s in c.subtypes):
            known = sorted({s.slug for c in self.categories for s in c.subtypes})
            raise InvalidInput(f"unknown subtype {subtype!r}: use one of {', '.join(known)}")

    def is_sensitive_by_default(self, category: str) -> bool:
        return self.category(category).sensitive_by_default

    def label(self, category: str, subtype: str | None = None, lang: str = "zh") -> str:
        """The subtype's label when a subtype is given (it reads on its own: 正式合同), else the category's."""
        if lang not in LANGS:
            raise InvalidInput(f"unknown language {lang!r}: use 'zh' or 'en'")
        self.validate(category, subtype)
        c = self.category(category)
        item: Category | Subtype = c.subtype(subtype) if subtype is not None else c
        return item.label_zh if lang == "zh" else item.label_en


def taxonomy_from_dict(data: dict) -> Taxonomy:
    """Build a Taxonomy from a parsed file; any shape error, bad slug or duplicate is InvalidInput."""
    entries = _category_list(data)
    if not entries:
        raise InvalidInput("taxonomy has no categories")
    categories = []
    for i, entry in enumerate(entries):
        where = _where(entry, i)
        _check_entry(entry, _CATEGORY_KEYS, where)
        sensitive = entry.get("sensitive_by_default", False)
        if not isinstance(sensitive, bool):
            raise InvalidInput(f"{where}: sensitive_by_default must be true or false")
        subtypes = []
        for j, sub in enumerate(_subtype_list(entry, where)):
            sub_where = f"{where}, {_where(sub, j, 'subtype')}"
            _check_entry(sub, _SUBTYPE_KEYS, sub_where)
            subtypes.append(Subtype(sub["slug"], _label(sub, "zh", sub_where), _label(sub, "en", sub_where)))
        categories.append(Category(entry["slug"], _label(entry, "zh", where), _label(entry, "en", where),
                                   sensitive, tuple(subtypes)))
    return Taxonomy(tuple(categories))


def merge_taxonomies(base: dict, extension: dict) -> dict:
    """The base taxonomy with an administrator's additions and relabelings applied (a new dict).

    An extension entry whose slug exists relabels it (zh/en may be given alone) and may add subtypes;
    a new slug adds a category (zh and en required). Nothing can be removed, and a category that is
    sensitive by default cannot be made non-sensitive: that would quietly widen who can read it.
    """
    taxonomy_from_dict(base)
    merged = copy.deepcopy(_category_list(base))
    by_slug = {c["slug"]: c for c in merged}
    ext_entries = _category_list(extension)
    seen: set[str] = set()
    for i, entry in enumerate(ext_entries):
        where = "extension " + _where(entry, i)
        _check_entry(entry, _CATEGORY_KEYS, where, labels_required=False)
        if entry["slug"] in seen:
            raise InvalidInput(f"{where}: duplicate category slug {entry['slug']!r}")
        seen.add(entry["slug"])
        target = by_slug.get(entry["slug"])
        if target is None:
            _check_entry(entry, _CATEGORY_KEYS, where)  # a new category needs both labels
            merged.append(copy.deepcopy(entry))
            by_slug[entry["slug"]] = merged[-1]
            continue
        for lang in LANGS:
            if lang in entry:
                target[lang] = _label(entry, lang, where)
        if "sensitive_by_default" in entry:
            if entry["sensitive_by_default"] is False and target.get("sensitive_by_default", False):
                raise InvalidInput(f"{where}: a sensitive category cannot be made non-sensitive")
            target["sensitive_by_default"] = entry["sensitive_by_default"]
        _merge_subtypes(target, _subtype_list(entry, where), where)
    result = {"category": merged}
    taxonomy_from_dict(result)  # reject a merged result that is not itself a valid taxonomy
    return result


def _merge_subtypes(target: dict, additions: list, where: str) -> None:
    subtypes = target.setdefault("subtype", [])
    by_slug = {s["slug"]: s for s in subtypes}
    seen: set[str] = set()
    for j, sub in enumerate(additions):
        sub_where = f"{where}, {_where(sub, j, 'subtype')}"
        _check_entry(sub, _SUBTYPE_KEYS, sub_where, labels_required=False)
        if sub["slug"] in seen:
            raise InvalidInput(f"{sub_where}: duplicate subtype slug {sub['slug']!r}")
        seen.add(sub["slug"])
        existing = by_slug.get(sub["slug"])
        if existing is None:
            _check_entry(sub, _SUBTYPE_KEYS, sub_where)  # a new subtype needs both labels
            subtypes.append(copy.deepcopy(sub))
        else:
            for lang in LANGS:
                if lang in sub:
                    existing[lang] = _label(sub, lang, sub_where)


def _category_list(data: Any) -> list:
    if not isinstance(data, dict):
        raise InvalidInput("taxonomy must be a table with a [[category]] list")
    unknown = set(data) - {"category"}
    if unknown:
        raise InvalidInput(f"taxonomy has unknown keys: {', '.join(sorted(map(str, unknown)))}")
    entries = data.get("category", [])
    if not isinstance(entries, list):
        raise InvalidInput("taxonomy 'category' must be a list of [[category]] tables")
    return entries


def _subtype_list(entry: dict, where: str) -> list:
    subs = entry.get("subtype", [])
    if not isinstance(subs, list):
        raise InvalidInput(f"{where}: 'subtype' must be a list of [[category.subtype]] tables")
    return subs


def _check_entry(entry: Any, allowed: set[str], where: str, *, labels_required: bool = True) -> None:
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where}: must be a table")
    unknown = set(entry) - allowed
    if unknown:
        raise InvalidInput(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))} "
                           f"(allowed: {', '.join(sorted(allowed))})")
    slug = entry.get("slug")
    if not isinstance(slug, str) or not SLUG.fullmatch(slug):
        raise InvalidInput(f"{where}: slug must match ^[a-z][a-z0-9_]{{0,39}}$ "
                           "(lower-case letters, digits, underscores; at most 40)")
    if labels_required:
        for lang in LANGS:
            _label(entry, lang, where)
    else:
        for lang in LANGS:
            if lang in entry:
                _label(entry, lang, where)
    if "sensitive_by_default" in entry and not isinstance(entry["sensitive_by_default"], bool):
        raise InvalidInput(f"{where}: sensitive_by_default must be true or false")


def _label(entry: dict, lang: str, where: str) -> str:
    value = entry.get(lang)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}: label '{lang}' is missing or empty")
    value = value.strip()
    if len(value) > MAX_LABEL or any(ch < " " for ch in value):
        raise InvalidInput(f"{where}: label '{lang}' must be one line of at most {MAX_LABEL} characters")
    return value


def _where(entry: Any, index: int, kind: str = "category") -> str:
    slug = entry.get("slug") if isinstance(entry, dict) else None
    if isinstance(slug, str) and len(slug) <= 40:
        return f"{kind} {slug!r}"
    return f"{kind} #{index + 1}"


def _no_duplicates(slugs: list[str], what: str) -> None:
    seen: set[str] = set()
    for s in slugs:
        if s in seen:
            raise InvalidInput(f"duplicate {what} slug {s!r}")
        seen.add(s)
