"""Classification rules: keywords and patterns per taxonomy category and subtype (pure logic, data from a file).

Rules see normalized text (full-width folded, traditional to simplified, lower case: the caller normalizes,
keywords included). A Chinese keyword matches as a substring, so it is found inside unspaced text; a keyword
that starts or ends with a Latin letter or digit matches only as a whole word there ("vat" is not in
"private", "contract" not in "contractor"). A suggestion carries a confidence in 0..1; the learned classifier
(adapters/classifier.py) gives the same shape of answer.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.taxonomy import Taxonomy

_RULE_KEYS = {"category", "subtype", "keywords", "patterns", "weight", "tags"}


def _edge(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


@functools.lru_cache(maxsize=4096)
def _whole_word(keyword: str) -> re.Pattern | None:
    """For a keyword with a Latin letter or digit at an end: a pattern that wants no letter or digit beside
    that end. None for a keyword that may match anywhere (Chinese)."""
    if not (_edge(keyword[0]) or _edge(keyword[-1])):
        return None
    return re.compile((r"(?<![a-z0-9])" if _edge(keyword[0]) else "") + re.escape(keyword)
                      + (r"(?![a-z0-9])" if _edge(keyword[-1]) else ""))


@dataclass(frozen=True)
class Suggestion:
    category: str
    subtype: str | None
    confidence: float  # 0..1
    source: str  # rules | model
    tags: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()  # rule keywords that fired (never document text beyond them)

    def to_dict(self) -> dict:
        return {"category": self.category, "subtype": self.subtype, "confidence": round(self.confidence, 3),
                "source": self.source, "tags": list(self.tags)}


@dataclass(frozen=True)
class Rule:
    category: str
    subtype: str | None
    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern, ...]
    weight: float = 1.0
    tags: tuple[str, ...] = ()

    def score(self, text: str) -> tuple[float, tuple[str, ...]]:
        hits = tuple(k for k in self.keywords
                     if k in text and ((word := _whole_word(k)) is None or word.search(text)))
        hits += tuple(p.pattern for p in self.patterns if p.search(text))
        return len(hits) * self.weight, hits


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()
    min_score: float = 2.0
    saturation: float = 6.0  # a score this high (or above) is full confidence
    _by_key: dict = field(default_factory=dict, compare=False, repr=False)

    def classify(self, normalized_text: str) -> Suggestion | None:
        """The best-scoring rule, if it reaches min_score; confidence grows with the score and with its
        lead over the runner-up of another category."""
        scored = sorted(((r.score(normalized_text), r) for r in self.rules), key=lambda x: -x[0][0])
        if not scored or scored[0][0][0] < self.min_score:
            return None
        (best, hits), rule = scored[0]
        runner_up = next((s for (s, _), r in scored[1:] if r.category != rule.category), 0.0)
        strength = min(1.0, best / self.saturation)
        lead = (best - runner_up) / best
        return Suggestion(rule.category, rule.subtype, round(0.5 + 0.5 * strength * lead, 4), "rules",
                          rule.tags, hits)


def rules_from_dict(data: dict, taxonomy: Taxonomy, *, base: RuleSet | None = None) -> RuleSet:
    """Parse (and check against the taxonomy) a rules file; rules of an extension replace the base's rule of
    the same category and subtype."""
    if not isinstance(data, dict):
        raise InvalidInput("classification rules: expected a table")
    rules = {(r.category, r.subtype): r for r in (base.rules if base else ())}
    if not isinstance(data.get("rule", []), list):
        raise InvalidInput("classification rules: `rule` must be an array of tables ([[rule]])")
    for i, raw in enumerate(data.get("rule", [])):
        where = f"classification rules, rule {i + 1}"
        if not isinstance(raw, dict) or set(raw) - _RULE_KEYS:
            raise InvalidInput(f"{where}: unknown keys {sorted(set(raw) - _RULE_KEYS) if isinstance(raw, dict) else raw}")
        category, subtype = raw.get("category"), raw.get("subtype")
        try:
            taxonomy.validate(category, subtype)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}") from None
        words, pats, tags = raw.get("keywords", []), raw.get("patterns", []), raw.get("tags", [])
        if not all(isinstance(v, list) and all(isinstance(x, str) and x.strip() for x in v)
                   for v in (words, pats, tags)):
            raise InvalidInput(f"{where}: keywords, patterns and tags must be lists of text")
        if not words and not pats:  # an extension's empty rule switches the default one off
            rules.pop((category, subtype), None)
            continue
        try:
            compiled = tuple(re.compile(p, re.MULTILINE) for p in pats)
        except re.error as exc:
            raise InvalidInput(f"{where}: bad pattern: {exc}") from None
        weight = raw.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 10:
            raise InvalidInput(f"{where}: weight must be a number between 0 and 10")
        keywords = tuple(w.strip().lower() for w in words)
        rules[(category, subtype)] = Rule(category, subtype, keywords, compiled, float(weight), tuple(tags))
    min_score = data.get("min_score", base.min_score if base else 2.0)
    if not isinstance(min_score, (int, float)) or min_score <= 0:
        raise InvalidInput("classification rules: min_score must be a positive number")
    return RuleSet(tuple(rules.values()), float(min_score))
