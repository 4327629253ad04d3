"""What a customer is expected to have on file (data/requirements.toml), and what is missing.

A requirement is met by an active document of its category (and one of its subtypes, when it names any) that
has not expired. Parsing works on the already-read TOML dict, checked against the taxonomy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.model import CustomerKind, Tier
from clientfolio.domain.taxonomy import SLUG, Taxonomy

_KEYS = {"slug", "kinds", "tiers", "category", "subtypes", "zh", "en"}


@dataclass(frozen=True)
class Requirement:
    slug: str
    category: str
    subtypes: tuple[str, ...]  # empty: any subtype of the category
    kinds: frozenset[str]
    tiers: frozenset[str]
    label_zh: str
    label_en: str

    def applies_to(self, kind: str, tier: str) -> bool:
        return kind in self.kinds and tier in self.tiers

    def met_by(self, category: str, subtype: str | None) -> bool:
        return category == self.category and (not self.subtypes or subtype in self.subtypes)


@dataclass(frozen=True)
class OnFile:
    """What the check needs to know of one of the customer's documents."""
    category: str
    subtype: str | None
    expires_on: date | None
    status: str


@dataclass(frozen=True)
class Missing:
    requirement: Requirement
    expired_on: date | None  # the latest expiry among documents that would meet it, if all have expired


def requirements_from_dict(data: dict, taxonomy: Taxonomy) -> tuple[Requirement, ...]:
    entries = data.get("requirement", [])
    if not isinstance(entries, list):
        raise InvalidInput("requirements: use [[requirement]] tables")
    found, seen = [], set()
    for i, entry in enumerate(entries, 1):
        where = f"requirement #{i}"
        if not isinstance(entry, dict) or set(entry) - _KEYS:
            raise InvalidInput(f"{where}: unknown keys (allowed: {', '.join(sorted(_KEYS))})")
        slug = entry.get("slug")
        if not isinstance(slug, str) or not SLUG.fullmatch(slug) or slug in seen:
            raise InvalidInput(f"{where}: slug must be a new lower-case name such as 'identity'")
        seen.add(slug)
        category = entry.get("category", "")
        subtypes = tuple(_strings(entry, "subtypes", where))
        for subtype in subtypes or (None,):
            taxonomy.validate(category, subtype)
        kinds = _choices(entry, "kinds", CustomerKind, where)
        tiers = _choices(entry, "tiers", Tier, where)
        labels = [entry.get(lang) for lang in ("zh", "en")]
        if not all(isinstance(x, str) and 0 < len(x) <= 200 for x in labels):
            raise InvalidInput(f"{where}: zh and en labels are required")
        found.append(Requirement(slug, category, subtypes, kinds, tiers, *labels))
    return tuple(found)


def missing(requirements: tuple[Requirement, ...], *, kind: str, tier: str, documents: list[OnFile],
            today: date) -> list[Missing]:
    """The requirements that apply to this customer and no current document meets."""
    out = []
    for req in requirements:
        if not req.applies_to(kind, tier):
            continue
        candidates = [d for d in documents if d.status == "active" and req.met_by(d.category, d.subtype)]
        if any(d.expires_on is None or d.expires_on >= today for d in candidates):
            continue
        expired = max((d.expires_on for d in candidates if d.expires_on), default=None)
        out.append(Missing(req, expired))
    return out


def _strings(entry: dict, key: str, where: str) -> list[str]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: {key} must be a list of names")
    return value


def _choices(entry: dict, key: str, enum: Any, where: str) -> frozenset[str]:
    allowed = {m.value for m in enum}
    given = _strings(entry, key, where) if key in entry else sorted(allowed)
    unknown = set(given) - allowed
    if unknown or not given:
        raise InvalidInput(f"{where}: {key} must name some of {', '.join(sorted(allowed))}")
    return frozenset(given)
