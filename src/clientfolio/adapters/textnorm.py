"""Text normalization and tokenization for search, shared by indexing, querying and snippets.

normalize: NFKC (full-width letters and digits to half-width), traditional → simplified Chinese (OpenCC's
bundled `t2s` dictionaries, no download), case folding. Tokens come in two streams over the same text:

- words:   Chinese runs segmented into dictionary words (jieba's algorithm and dictionary through `rjieba`,
           the jieba-rs binding: the same segmentation as jieba 0.42, about 12× faster, nothing written to
           disk, no log lines; plain `jieba` is the fallback when rjieba is absent), Latin words folded and
           Snowball-stemmed (PyStemmer), digit runs kept whole (an 18-digit ID number is one token, a date
           2025-01-01 is the phrase 2025 · 01 · 01).
- bigrams: Chinese runs as overlapping character bigrams (a lone character stays a unigram); Latin words and
           numbers as in the word stream, so a phrase over the bigram stream can cross from Chinese to digits.

A query whose segmentation differs from the document's (jieba cuts by context) still matches through the
bigram stream, where a phrase of consecutive bigrams is an exact substring match. docs/search.md has the
measurements behind these choices.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

# CJK unified ideographs (+ extension A, compatibility, extensions B and later).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUNS = re.compile(f"(?P<han>[{_HAN}]+)|(?P<alnum>[^\\W_{_HAN}]+)")
_HAS_HAN = re.compile(f"[{_HAN}]")
# In an unquoted query word, runs joined only by these stay one term (dates, IDs, phones, e-mails).
_JOINERS = "-./:@+#&'’_"
_TERM_SPLIT = re.compile(f"[^\\w{re.escape(_JOINERS)}]+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "「": '"', "」": '"', "『": '"', "』": '"', "＂": '"'})
_QUERY_CHUNKS = re.compile(r'"([^"]*)"?|(\S+)')

WORD = "word"
BIGRAM = "bigram"
SEGMENT_MODES = ("precise", "search", "none")


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    stream: str  # WORD or BIGRAM
    position: int  # position within its stream (consecutive: phrases match on it)
    start: int  # character offsets in normalize(text)
    end: int


@dataclass(frozen=True, slots=True)
class QueryTerm:
    """One AND-ed part of a query: a word, a run like 2025-01-01, or a "quoted phrase"."""

    text: str  # normalized
    words: tuple[str, ...]  # word-stream tokens; more than one means they must be adjacent
    bigrams: tuple[str, ...]  # bigram-stream tokens, adjacent
    quoted: bool

    @property
    def has_cjk(self) -> bool:
        return bool(_HAS_HAN.search(self.text))

    @property
    def has_lone_cjk(self) -> bool:
        """A Chinese character standing alone: a unigram in the bigram stream, which matches only where the
        document has it alone too, so the word stream must be able to match it as well."""
        return any(len(b) == 1 and _HAS_HAN.match(b) for b in self.bigrams)


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    terms: tuple[QueryTerm, ...]

    def __bool__(self) -> bool:
        return bool(self.terms)


# ---------------------------------------------------------------------------------------- normalization


class _Lazy:
    """Heavy helpers (OpenCC, the segmenter, the stemmer) built once per process, on first use."""

    lock = threading.Lock()
    t2s = None
    segmenter = None
    stemmer = None


def _opencc():
    if _Lazy.t2s is None:
        with _Lazy.lock:
            if _Lazy.t2s is None:
                import opencc

                _Lazy.t2s = opencc.OpenCC("t2s.json")
    return _Lazy.t2s


def normalize(text: str) -> str:
    """NFKC, traditional → simplified, case-folded. ＩＤ１２３ → id123, 營業執照 → 营业执照."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _opencc().convert(text)
    return text.casefold()


# ----------------------------------------------------------------------------------------- segmentation


class _RJieba:
    name = "rjieba"

    def __init__(self):
        import rjieba

        self._jieba = rjieba.Jieba()

    def cut(self, run: str) -> list[str]:
        return self._jieba.cut(run, True)

    def cut_for_search(self, run: str) -> list[str]:
        return self._jieba.cut_for_search(run, True)

    def offsets(self, run: str) -> list[tuple[str, int, int]]:
        return self._jieba.tokenize(run, "default", True)


class _Jieba:
    """Plain jieba: quiet (no log lines), its dictionary cache in a folder we own, never the shared /tmp."""

    name = "jieba"

    def __init__(self, cache_dir: Path):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tok = jieba.Tokenizer()
        tok.tmp_dir = str(cache_dir)  # the cache holds jieba's dictionary only, never our text
        tok.initialize()
        self._tok = tok

    def cut(self, run: str) -> list[str]:
        return self._tok.lcut(run, HMM=True)

    def cut_for_search(self, run: str) -> list[str]:
        return self._tok.lcut_for_search(run, HMM=True)

    def offsets(self, run: str) -> list[tuple[str, int, int]]:
        return list(self._tok.tokenize(run, mode="default", HMM=True))


def _cache_dir() -> Path:
    env = os.environ.get("CLIENTFOLIO_CACHE_DIR")
    if env:
        return Path(env) / "jieba"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "clientfolio" / "jieba"


def use_segmenter(name: str | None = None, *, cache_dir: Path | None = None) -> str:
    """Choose the segmenter ("rjieba" or "jieba"; default: rjieba when installed). Returns its name."""
    with _Lazy.lock:
        if name in (None, "rjieba"):
            try:
                _Lazy.segmenter = _RJieba()
            except ImportError:
                if name == "rjieba":
                    raise
                _Lazy.segmenter = _Jieba(cache_dir or _cache_dir())
        elif name == "jieba":
            _Lazy.segmenter = _Jieba(cache_dir or _cache_dir())
        else:
            raise ValueError(f"unknown segmenter {name!r}")
        return _Lazy.segmenter.name


def _segmenter():
    if _Lazy.segmenter is None:
        use_segmenter()
    return _Lazy.segmenter


def _stem_word():
    if _Lazy.stemmer is None:
        with _Lazy.lock:
            if _Lazy.stemmer is None:
                import Stemmer

                _Lazy.stemmer = Stemmer.Stemmer("english", 50_000).stemWord
    return _Lazy.stemmer


def _fold_alnum(run: str, stem) -> str:
    return stem(run) if run.isalpha() else run


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


# ----------------------------------------------------------------------------------------- tokenization


def analyze_normalized(norm: str, *, mode: str = "precise") -> tuple[list[str], list[str]]:
    """The two token streams (words, bigrams) of already-normalized text; the fast path for indexing.

    mode: "precise" (jieba's default cut), "search" (jieba's search mode: long words also as their
    dictionary sub-words, overlapping, so positions no longer line up) or "none" (no word stream).
    """
    if mode not in SEGMENT_MODES:
        raise ValueError(f"unknown segmentation mode {mode!r}")
    seg = _segmenter()
    cut = {"precise": seg.cut, "search": seg.cut_for_search, "none": None}[mode]
    stem = _stem_word()
    words: list[str] = []
    bigrams: list[str] = []
    for m in _RUNS.finditer(norm):
        run = m.group("han")
        if run is not None:
            if cut is not None:
                words.extend(cut(run))
            bigrams.extend(_bigrams(run))
        else:
            tok = _fold_alnum(m.group("alnum"), stem)
            words.append(tok)
            bigrams.append(tok)
    return words, bigrams


def analyze(text: str, *, mode: str = "precise") -> tuple[list[str], list[str]]:
    """normalize + the two token streams."""
    return analyze_normalized(normalize(text), mode=mode)


def tokens(text: str) -> list[Token]:
    """Every token of both streams with its position and its offsets in normalize(text)."""
    norm = normalize(text)
    seg = _segmenter()
    stem = _stem_word()
    out: list[Token] = []
    wpos = bpos = 0
    for m in _RUNS.finditer(norm):
        start = m.start()
        run = m.group("han")
        if run is not None:
            for word, s, e in seg.offsets(run):
                out.append(Token(word, WORD, wpos, start + s, start + e))
                wpos += 1
            if len(run) == 1:
                out.append(Token(run, BIGRAM, bpos, start, start + 1))
                bpos += 1
            else:
                for i in range(len(run) - 1):
                    out.append(Token(run[i:i + 2], BIGRAM, bpos, start + i, start + i + 2))
                    bpos += 1
        else:
            tok = _fold_alnum(m.group("alnum"), stem)
            out.append(Token(tok, WORD, wpos, start, m.end()))
            out.append(Token(tok, BIGRAM, bpos, start, m.end()))
            wpos += 1
            bpos += 1
    return out


def word_spans(norm: str) -> list[tuple[str, int, int]]:
    """(token, start, end) of the word stream of already-normalized text (for highlighting)."""
    seg = _segmenter()
    stem = _stem_word()
    out: list[tuple[str, int, int]] = []
    for m in _RUNS.finditer(norm):
        start = m.start()
        run = m.group("han")
        if run is not None:
            out.extend((w, start + s, start + e) for w, s, e in seg.offsets(run))
        else:
            out.append((_fold_alnum(m.group("alnum"), stem), start, m.end()))
    return out


# ---------------------------------------------------------------------------------------------- queries


def query_terms(query: str) -> ParsedQuery:
    """Parse a query: terms are AND-ed; "quoted phrases" (also “…” and 「…」) keep their words adjacent.

    An unquoted word is split at punctuation (张伟,李娜 is two terms) but not at the joiners of dates,
    numbers and addresses (2025-01-01, 138-0013-8000, a@b.cn stay one term whose tokens are a phrase).
    """
    norm = normalize(query).translate(_QUOTES)
    terms: list[QueryTerm] = []
    for m in _QUERY_CHUNKS.finditer(norm):
        if m.group(1) is not None:
            pieces, quoted = [m.group(1)], True
        else:
            pieces, quoted = [p for p in _TERM_SPLIT.split(m.group(2)) if p], False
        for piece in pieces:
            words, bigrams = analyze_normalized(piece)
            if words:
                terms.append(QueryTerm(" ".join(piece.split()), tuple(words), tuple(bigrams), quoted))
    return ParsedQuery(tuple(terms))
