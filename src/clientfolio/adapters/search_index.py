"""Full-text search over keyed hashes of tokens (tantivy): it matches words and phrases and ranks them by
BM25, yet no word of a document is on disk.

Every token is stored as keyed BLAKE2b(subkey, token) of 12 bytes (16 base64 characters); the subkeys come
from the search key, itself from the master key (`Keyring.subkey("search-index")`). Word tokens, bigram tokens
and filter values each have their own subkey, so the same string gives unrelated hashes in different kinds of
field. Positions are kept, so phrases work; nothing is stored except what tantivy needs to rank, filter and
return a document id.

Fields: `words` and `bigrams` hold the text and the metadata (title, tags, names; a separate value, so no
phrase runs from one into the other); `meta_words` and `meta_bigrams` hold the metadata again, alone, for
users who may see that a document exists but not read it, and to rank metadata matches higher.

What a reader of the index files (without the key) can still learn: document ids, customer and owner ids,
the sensitive flag, issue/expiry dates, and how often each (hashed) token occurs where: deterministic
tokens are open to frequency analysis, the price of a search index that ranks. See docs/search.md.

Permissions and filters are MUST clauses of the same tantivy query as the text, so a hidden document is
never scored, returned or counted. One writer per index: tantivy's lock file refuses a second writer, in
this process or another, so a multi-process deployment runs one indexing worker and any number of readers.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
import shutil
import threading
import unicodedata
from binascii import b2a_base64
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import NamedTuple

import tantivy

from clientfolio.adapters import textnorm
from clientfolio.adapters.textnorm import ParsedQuery, QueryTerm
from clientfolio.domain.errors import Conflict, WrongKey
from clientfolio.domain.model import DocumentStatus
from clientfolio.domain.search import IndexedDocument, SearchFilters, SearchHit, SearchResult, Visibility

__all__ = ["IndexedDocument", "SearchFilters", "SearchHit", "SearchResult", "Visibility", "KeyedSearchIndex",
           "IndexBusy", "snippet"]

FORMAT = 2  # bump when tokenization, hashing or fields change: an index of another format starts over
HASH_BYTES = 12
WRITER_HEAP_BYTES = 100_000_000  # below ~100 MB, segment flushes and merges of the keyed terms dominate
SMALL_WRITER_HEAP_BYTES = 15_000_000  # a writer that only collects files or probes the lock (tantivy's minimum)
MAX_LIMIT = 100_000
RESTRICTION_CACHE = 256  # (filters, visibility) pairs whose permission and filter clauses are kept built
CACHE_ENTRIES = 262_144  # distinct tokens per stream whose hashes stay memoized (LRU), ~40 MB each at most
TOKENIZER = "cf_keyed"
COMMON_SHARE = 0.05  # a word in more of the documents than this is ranked by its bigrams alone...
COMMON_MIN_DOCS = 10_000  # ...once in this many at least: below, the word clause costs next to nothing
W_WORD, W_BIGRAM, W_META = 1.0, 0.3, 3.0  # word matches over bigram matches; title/tags/names boosted
META_FILE = "clientfolio-search.json"
TEXT_FIELDS = ("words", "bigrams", "meta_words", "meta_bigrams")


def _matched_by(query: tantivy.Query, scores: Sequence[tantivy.Query]) -> tantivy.Query:
    """`query` decides what matches; `scores` only add to the score of what it matched."""
    if not scores:
        return query
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, query)]
                                       + [(tantivy.Occur.Should, q) for q in scores])


def _write_json(path: Path, value: dict) -> None:
    """Replace `path` whole: a crash leaves the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value))
    os.replace(tmp, path)


class IndexBusy(Conflict):
    code = "index-busy"


def _is_lock_refusal(exc: ValueError) -> bool:
    """tantivy's answer when another writer, in this process or another, holds the index's lock."""
    return "lock" in str(exc).lower()


def _writer_alive(index_dir: Path) -> bool:
    """Whether some process holds the writer lock of the tantivy index in `index_dir` (a worker of an older
    version, in a rolling upgrade): asked of tantivy itself, by trying to take the lock and letting it go."""
    if not (index_dir / "meta.json").exists():
        return False
    try:
        writer = tantivy.Index.open(str(index_dir)).writer(heap_size=SMALL_WRITER_HEAP_BYTES, num_threads=1)
    except ValueError as exc:
        return _is_lock_refusal(exc)  # anything else: an unreadable old index, about to be removed
    del writer  # dropping it releases the lock at once
    return False


class _Hasher:
    """Keyed token hashes, one subkey per purpose, each memoized for its distinct tokens (bounded)."""

    def __init__(self, key: bytes, purposes: Iterable[str], cache_entries: int):
        self._caches = {}
        for purpose in purposes:
            subkey = hmac.digest(key, b"clientfolio/search/v1/" + purpose.encode(), "sha256")
            self._caches[purpose] = _TokenCache(subkey, cache_entries)

    def __call__(self, purpose: str):
        return self._caches[purpose].__getitem__

    def count(self, purpose: str, n: int) -> None:
        self._caches[purpose].count(n)

    def cache_info(self) -> dict[str, object]:
        return {p: c.info() for p, c in self._caches.items()}


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    currsize: int


class _TokenCache(dict):
    """token -> base64 of keyed BLAKE2b(subkey, token), 12 bytes. A dict whose hits cost one C lookup (an
    lru_cache wrapper costs a Python call per token); emptied when full, the cheapest bound that keeps it
    in memory. BLAKE2b's keyed mode is a MAC in one C call: 1.0 µs a token against 3.3 µs for HMAC-SHA256
    through the hmac module, which was half the indexing time (a bigram vocabulary outgrows any cache)."""

    def __init__(self, subkey: bytes, max_entries: int):
        super().__init__()
        self._subkey, self._max = subkey, max_entries
        self.lookups_missed = 0
        self.lookups = 0  # every token looked up (counted by the caller per stream; hits = lookups - misses)

    def __missing__(self, token: str, blake2b=hashlib.blake2b, b64=b2a_base64) -> str:
        if len(self) >= self._max:
            self.clear()
        self.lookups_missed += 1
        digest = blake2b(token.encode("utf-8"), key=self._subkey, digest_size=HASH_BYTES).digest()
        value = self[token] = b64(digest, newline=False).decode("ascii")
        return value

    def count(self, n: int) -> None:
        self.lookups += n

    def info(self) -> CacheInfo:
        return CacheInfo(max(0, self.lookups - self.lookups_missed), self.lookups_missed, len(self))


def key_fingerprint(key: bytes) -> str:
    return hmac.digest(key, b"clientfolio/search/v1/fingerprint", "sha256")[:8].hex()


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    b.add_unsigned_field("doc_id", indexed=True, fast=True)
    for name in TEXT_FIELDS:
        b.add_text_field(name, tokenizer_name=TOKENIZER, index_option="position")
    b.add_text_field("filters", tokenizer_name=TOKENIZER, index_option="basic")  # keyed kind+value
    b.add_unsigned_field("customer_id", indexed=True, fast=True)
    b.add_unsigned_field("owner_id", indexed=True, fast=True)  # 0: no owner
    b.add_unsigned_field("sensitive", indexed=True, fast=True)
    b.add_integer_field("issued", indexed=True, fast=True)  # date.toordinal()
    b.add_integer_field("expires", indexed=True, fast=True)
    return b.build()


class KeyedSearchIndex:
    """A tantivy index under `path` whose terms are keyed hashes. Thread-safe; one writer per index."""

    def __init__(self, path: Path, key: bytes, *, bigrams: bool = True, segment_mode: str = "precise",
                 writer_heap_bytes: int = WRITER_HEAP_BYTES, cache_entries: int = CACHE_ENTRIES,
                 common_min_docs: int = COMMON_MIN_DOCS):
        if len(key) < 16:
            raise WrongKey("the search key must be at least 16 bytes")
        self.path = Path(path)
        self.bigrams = bigrams
        self.segment_mode = segment_mode
        self._heap = writer_heap_bytes
        self._key, self._cache_entries = key, cache_entries
        self._common_min_docs = common_min_docs
        self._lock = threading.RLock()
        self._writer = None
        self._rebuild_requested = False
        self._index = None  # opened on first use: a command that never searches never touches the index
        self._restriction_cache: dict[tuple[SearchFilters, Visibility], list[tuple]] = {}

    def _open(self) -> None:
        if self._index is not None:  # every call after the first: no lock to take
            return
        with self._lock:
            if self._index is not None:
                return
            self._check_meta(self._key)
            self._h = _Hasher(self._key, ("word", "bigram", "filter"), self._cache_entries)
            (self.path / "index").mkdir(exist_ok=True)
            index = tantivy.Index(_schema(), path=str(self.path / "index"), reuse=True)
            index.register_tokenizer(TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
            self._schema = index.schema
            self._index = index

    def _check_meta(self, key: bytes) -> None:
        """Refuse another key; start an index of another format over, empty, with a rebuild requested (its
        terms were made another way: nothing in it could be found any more, and it is derived data)."""
        meta_path = self.path / META_FILE
        want = {"format": FORMAT, "key_id": key_fingerprint(key), "bigrams": self.bigrams,
                "segment_mode": self.segment_mode}
        if not meta_path.exists():
            self.path.mkdir(parents=True, exist_ok=True)
            _write_json(meta_path, want)
            return
        have = json.loads(meta_path.read_text())
        if have.get("key_id") != want["key_id"]:
            raise WrongKey(f"the search index at {self.path} was built with another key; rebuild it")
        if {k: have.get(k) for k in want} != want:
            if _writer_alive(self.path / "index"):
                raise IndexBusy(f"the search index at {self.path} is of another format and a process of another "
                                "version is still writing it; stop that process, then start this one again")
            shutil.rmtree(self.path / "index", ignore_errors=True)
            have = want | {"rebuild_requested": True}
            _write_json(meta_path, have)
        self._rebuild_requested = bool(have.get("rebuild_requested"))

    def rebuild_requested(self) -> bool:
        """True after this index was started over (a new format): every document must be indexed again.
        Checked against the file while it says so, since another process may have scheduled it already."""
        self._open()
        if self._rebuild_requested:
            with self._lock:
                meta = json.loads((self.path / META_FILE).read_text())
                self._rebuild_requested = bool(meta.get("rebuild_requested"))
        return self._rebuild_requested

    def rebuild_scheduled(self) -> None:
        """The caller has marked every document for indexing: the request is done with."""
        self._open()
        with self._lock:
            meta_path = self.path / META_FILE
            _write_json(meta_path, {k: v for k, v in json.loads(meta_path.read_text()).items()
                                    if k != "rebuild_requested"})
            self._rebuild_requested = False

    # ------------------------------------------------------------------------------------------ writing

    def _get_writer(self):
        if self._writer is None:
            try:
                self._writer = self._index.writer(heap_size=self._heap, num_threads=1)
            except ValueError as exc:
                if _is_lock_refusal(exc):
                    raise IndexBusy(f"another process is writing the search index at {self.path}; "
                                    "run a single indexing worker") from None
                raise
        return self._writer

    def _keyed_text(self, tokens: Sequence[str], purpose: str) -> str:
        self._h.count(purpose, len(tokens))
        return " ".join(map(self._h(purpose), tokens))

    def _streams(self, text: str) -> tuple[list[str], list[str]]:
        return textnorm.analyze(text, mode=self.segment_mode)

    def to_tantivy(self, doc: IndexedDocument) -> tantivy.Document:
        self._open()
        t = tantivy.Document()
        t.add_unsigned("doc_id", doc.doc_id)
        words, bigrams = self._streams(doc.text)
        meta = " \n ".join(x for x in (doc.title, doc.canonical_name, doc.customer_name, doc.customer_code,
                                       *doc.tags) if x)
        mwords, mbigrams = self._streams(meta)
        for name, toks, purpose in (("words", words, "word"), ("bigrams", bigrams, "bigram"),
                                    ("meta_words", mwords, "word"), ("meta_bigrams", mbigrams, "bigram")):
            if toks and (self.bigrams or purpose == "word"):
                keyed = self._keyed_text(toks, purpose)
                t.add_text(name, keyed)
                if name.startswith("meta_"):  # and in the all-text field, as a value of its own
                    t.add_text(name.removeprefix("meta_"), keyed)
        fh = self._h("filter")
        values = [("category", doc.category), ("subtype", doc.subtype or ""), ("status", doc.status),
                  *(("tag", textnorm.normalize(tag)) for tag in doc.tags)]
        t.add_text("filters", " ".join(fh(f"{kind}\x00{value}") for kind, value in values))
        t.add_unsigned("customer_id", doc.customer_id)
        t.add_unsigned("owner_id", doc.owner_id or 0)
        t.add_unsigned("sensitive", 1 if doc.sensitivity == "sensitive" else 0)
        if doc.issued_on is not None:
            t.add_integer("issued", doc.issued_on.toordinal())
        if doc.expires_on is not None:
            t.add_integer("expires", doc.expires_on.toordinal())
        return t

    def upsert(self, doc: IndexedDocument) -> None:
        """Replace the document's entry (visible after commit)."""
        tdoc = self.to_tantivy(doc)
        with self._lock:
            w = self._get_writer()
            w.delete_documents_by_query(self._u64("doc_id", doc.doc_id))  # by_term takes ints as i64
            w.add_document(tdoc)

    def upsert_many(self, docs: Iterable[IndexedDocument]) -> int:
        n = 0
        for doc in docs:
            self.upsert(doc)
            n += 1
        return n

    def delete(self, doc_id: int) -> None:
        self._open()
        with self._lock:
            self._get_writer().delete_documents_by_query(self._u64("doc_id", doc_id))

    def commit(self) -> None:
        self._open()
        with self._lock:
            if self._writer is not None:
                self._writer.commit()
                self._index.reload()

    def close(self) -> None:
        """Commit pending changes, wait for merges, release the writer lock."""
        self._open()
        with self._lock:
            if self._writer is not None:
                self._writer.commit()
                self._writer.wait_merging_threads()
                self._writer = None
                gc = self._index.writer(heap_size=SMALL_WRITER_HEAP_BYTES, num_threads=1)
                gc.garbage_collect_files()  # segment files left over from merges
                gc.wait_merging_threads()
                self._index.reload()

    def __enter__(self) -> KeyedSearchIndex:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def cache_info(self) -> dict[str, object]:
        self._open()
        return self._h.cache_info()

    # ------------------------------------------------------------------------------------------ reading

    def _phrase(self, fname: str, tokens: Sequence[str], purpose: str) -> tantivy.Query:
        h = self._h(purpose)
        if len(tokens) == 1:
            return tantivy.Query.term_query(self._schema, fname, h(tokens[0]))
        return tantivy.Query.phrase_query(self._schema, fname, [h(t) for t in tokens])

    def _term_query(self, term: QueryTerm, *, content: bool = True, common: bool = False) -> tantivy.Query:
        """One query term. The bigram phrase (an exact substring match) decides what matches a Chinese term;
        the word phrase only adds to the score, so documents where jieba found the term as a word rank first.
        One field per stream holds text and metadata, and the metadata field adds its boost: 2–3 posting lists
        a term where a union of four alternatives cost 2.4× plaintext bigrams at p95 (docs/search.md).
        A `common` word (in more than COMMON_SHARE of the documents) is ranked by its bigrams alone."""
        words_f, bigrams_f = ("words", "bigrams") if content else ("meta_words", "meta_bigrams")
        # a user who may not read content must not learn it by what matches: metadata fields only
        multiword = len(term.words) > 1
        word = self._boosted(W_WORD, words_f, term.words, "word", multiword=multiword)
        scores = [self._boosted(W_META, "meta_words", term.words, "word", multiword=multiword)] if content else []
        if not (self.bigrams and term.has_cjk):
            return _matched_by(word, scores)
        bigram = self._boosted(W_BIGRAM, bigrams_f, term.bigrams, "bigram", multiword=multiword)
        if term.has_lone_cjk:  # a unigram matches only a character standing alone: any stream may match
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in (word, *scores, bigram)])
        return _matched_by(bigram, scores if common else [word, *scores])

    def _is_common(self, term: QueryTerm, searcher, visibility: Visibility) -> bool:
        """A one-word Chinese term found as a word in more than COMMON_SHARE of the documents (and at least
        COMMON_MIN_DOCS). Its word clause
        would double the cost of the slowest queries (every match scored twice) for nothing a reader sees: at
        1,000,000 documents the top 20 for such words were 0.997–1.000 relevant with bigrams alone."""
        if searcher is None or not visibility.content or len(term.words) != 1 or not self.bigrams \
                or not term.has_cjk or term.has_lone_cjk:
            return False
        total = searcher.num_docs
        if total <= self._common_min_docs:  # no word can be common yet: spare the term look-up
            return False
        return searcher.doc_freq("words", self._h("word")(term.words[0])) > max(self._common_min_docs,
                                                                              COMMON_SHARE * total)

    def _boosted(self, weight: float, fname: str, tokens: Sequence[str], purpose: str, *,
                 multiword: bool) -> tantivy.Query:
        if self.segment_mode == "search" and multiword and purpose == "word":  # overlapping: no positions
            q = self._all_of(fname, tokens, purpose)
        else:
            q = self._phrase(fname, tokens, purpose)
        return q if weight == 1.0 else tantivy.Query.boost_query(q, weight)

    def _all_of(self, fname: str, tokens: Sequence[str], purpose: str) -> tantivy.Query:
        h = self._h(purpose)
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, tantivy.Query.term_query(self._schema, fname, h(t))) for t in tokens])

    def _filter_term(self, kind: str, value: str) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, "filters", self._h("filter")(f"{kind}\x00{value}"))

    def _u64(self, fname: str, value: int) -> tantivy.Query:
        return tantivy.Query.term_query(self._schema, fname, value)

    def _range(self, fname: str, lo: date | None, hi: date | None, *, hi_inclusive: bool = True):
        return tantivy.Query.range_query(self._schema, fname, tantivy.FieldType.Integer,
                                         lo.toordinal() if lo else None, hi.toordinal() if hi else None,
                                         include_upper=hi_inclusive if hi else True)

    def _restrictions(self, filters: SearchFilters, visibility: Visibility) -> list[tuple]:
        """The clauses of `_restriction_clauses`, built once per filters and visibility (a handful of each are
        in use at a time; tantivy queries are immutable and can be shared between threads)."""
        key = (filters, visibility)
        clauses = self._restriction_cache.get(key)
        if clauses is None:
            if len(self._restriction_cache) >= RESTRICTION_CACHE:
                self._restriction_cache.clear()
            clauses = self._restriction_cache[key] = self._restriction_clauses(filters, visibility)
        return clauses

    def _restriction_clauses(self, filters: SearchFilters, visibility: Visibility) -> list[tuple]:
        """(occur, query) pairs that score nothing. What a user may not see is cut out with MUST_NOT where
        that is the rarer set (deleted and sensitive documents): an exclusion costs far less than intersecting
        every match with a filter that nearly every document passes (measured: p95 -20% at 20,000 documents)."""
        q, must, must_not = tantivy.Query, tantivy.Occur.Must, tantivy.Occur.MustNot
        hidden = [s.value for s in DocumentStatus if s.value not in visibility.statuses]
        out = [(must_not, self._filter_term("status", s)) for s in hidden]
        if not visibility.include_sensitive:
            out.append((must_not, self._u64("sensitive", 1)))
        if visibility.owner_id is not None:
            out.append((must, self._u64("owner_id", visibility.owner_id)))
        if filters.customer_id is not None:
            out.append((must, self._u64("customer_id", filters.customer_id)))
        if filters.category:
            out.append((must, self._filter_term("category", filters.category)))
        if filters.subtype:
            out.append((must, self._filter_term("subtype", filters.subtype)))
        for tag in filters.tags:
            out.append((must, self._filter_term("tag", textnorm.normalize(tag))))
        if filters.sensitivity:
            out.append((must, self._u64("sensitive", 1 if filters.sensitivity == "sensitive" else 0)))
        if filters.issued_from or filters.issued_to:
            out.append((must, self._range("issued", filters.issued_from, filters.issued_to)))
        if filters.expires_from or filters.expires_to:
            out.append((must, self._range("expires", filters.expires_from, filters.expires_to)))
        if filters.expires_before:
            out.append((must, self._range("expires", None, filters.expires_before, hi_inclusive=False)))
        return [(occur, r if occur == must_not else q.const_score_query(r, 0.0)) for occur, r in out]

    def build_query(self, query: str | ParsedQuery, *, filters: SearchFilters, visibility: Visibility,
                    searcher: tantivy.Searcher | None = None) -> tantivy.Query | None:
        """The whole query, permissions included; None when nothing can be visible. With the `searcher` it
        will run on, terms common in it are ranked the cheaper way (see _term_query)."""
        self._open()
        if not visibility.statuses:
            return None
        parsed = textnorm.query_terms(query) if isinstance(query, str) else query
        clauses = [(tantivy.Occur.Must, self._term_query(t, content=visibility.content,
                                                         common=self._is_common(t, searcher, visibility)))
                   for t in parsed.terms]
        if not clauses:
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses + self._restrictions(filters, visibility))

    def search(self, query: str | ParsedQuery, *, filters: SearchFilters | None = None,
               visibility: Visibility, limit: int = 20, offset: int = 0) -> SearchResult:
        """Top `limit` visible documents by BM25 (newest first for a filter-only query) and their count."""
        parsed = textnorm.query_terms(query) if isinstance(query, str) else query
        self._open()
        searcher = self._index.searcher()
        tq = self.build_query(parsed, filters=filters or SearchFilters(), visibility=visibility, searcher=searcher)
        if tq is None:
            return SearchResult(0)
        limit = max(0, min(limit, MAX_LIMIT))
        if limit == 0:
            return SearchResult(searcher.search(tq, 1, count=True).count or 0)
        parsed_empty = not parsed
        if parsed_empty:
            res = searcher.search(tq, limit, count=True, offset=offset, order_by_field="doc_id")
        else:
            res = searcher.search(tq, limit, count=True, offset=offset)
        ids = searcher.fast_field_values("doc_id", [addr for _, addr in res.hits])
        hits = [SearchHit(int(i), float(s) if not parsed_empty else 0.0) for (s, _), i in zip(res.hits, ids)]
        return SearchResult(res.count or 0, hits)

    def num_docs(self) -> int:
        self._open()
        return self._index.searcher().num_docs

    def refresh(self) -> None:
        """See what other processes committed since this one opened the index."""
        self._open()
        self._index.reload()

    @staticmethod
    def snippet(text: str, query: str, *, width: int = 80) -> str:
        return snippet(text, query, width=width)


# ---------------------------------------------------------------------------------------------- snippets


def _normalized_with_map(text: str) -> tuple[str, list[int] | range]:
    """normalize(text), with the index in `text` of every normalized character."""
    if unicodedata.is_normalized("NFKC", text):
        folded = textnorm.normalize(text)
        if len(folded) == len(text):  # the usual case: character for character, no per-character work
            return folded, range(len(text))
    pieces = [unicodedata.normalize("NFKC", c) for c in text]
    joined = "".join(pieces)
    folded = textnorm.normalize(joined)
    if len(folded) != len(joined):  # a length-changing fold (ß → ss, a phrase in t2s): char by char
        pieces = [textnorm.normalize(p) for p in pieces]
        folded = "".join(pieces)
    out_map: list[int] = []
    for i, p in enumerate(pieces):
        out_map.extend([i] * len(p))
    return folded, out_map


def _match_spans(norm: str, parsed: ParsedQuery) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    words = textnorm.word_spans(norm)
    tok = [w for w, _, _ in words]
    for term in parsed.terms:
        n = len(term.words)
        for i in range(len(tok) - n + 1):
            if tok[i] == term.words[0] and tok[i:i + n] == list(term.words):
                spans.append((words[i][1], words[i + n - 1][2]))
        if term.has_cjk:  # what the bigram stream matched: the Chinese text as a substring
            needle = "".join(term.text.split())
            start = norm.find(needle)
            while start >= 0 and len(spans) < 2000:
                spans.append((start, start + len(needle)))
                start = norm.find(needle, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def _clean(s: str) -> str:
    return html.escape(re.sub(r"\s+", " ", s))


SNIPPET_SCAN = 1000  # characters normalized around the likely first match (not the whole document)


def snippet(text: str, query: str | ParsedQuery, *, width: int = 80) -> str:
    """An HTML-escaped excerpt of about `width` characters around the densest matches, in <mark>…</mark>.

    Only a window of SNIPPET_SCAN characters around the first place a query term plausibly occurs is
    normalized and segmented: doing that to a whole 200 kB text for each of 20 hits cost 4 s per search, and
    a 4,000-character window still cost 3 ms a hit (50 hits on a page of results)."""
    parsed = textnorm.query_terms(query) if isinstance(query, str) else query
    if len(text) <= SNIPPET_SCAN:
        return _snippet_in(text, parsed, width, False, False)
    start = max(0, _likely_match(text, parsed) - SNIPPET_SCAN // 4)
    end = min(len(text), start + SNIPPET_SCAN)
    return _snippet_in(text[start:end], parsed, width, start > 0, end < len(text))


def _likely_match(text: str, parsed: ParsedQuery) -> int:
    """Where a term first occurs in the lower-cased raw text (0 if only normalization would reveal it)."""
    lowered = text.lower()
    found = [lowered.find(needle) for term in parsed.terms
             for needle in {term.text.lower(), "".join(term.text.split()).lower(), *term.words} if needle]
    return min((i for i in found if i >= 0), default=0)


def _snippet_in(text: str, parsed: ParsedQuery, width: int, more_before: bool, more_after: bool) -> str:
    norm, to_orig = _normalized_with_map(text)
    spans = [(to_orig[s], to_orig[e - 1] + 1) for s, e in _match_spans(norm, parsed)] if norm else []
    if not spans:
        cut = text[:width]
        return ("…" if more_before else "") + _clean(cut) + ("…" if len(text) > width or more_after else "")
    best, best_n = 0, 0  # the window starting at span i that holds the most spans
    for i, (s, _) in enumerate(spans):
        n = sum(1 for s2, e2 in spans[i:] if e2 <= s + width)
        if n > best_n:
            best, best_n = i, n
    first_s, first_e = spans[best]
    lead = max(0, (width - (first_e - first_s)) // 4)
    a = max(0, first_s - lead)
    b = min(len(text), max(a + width, first_e))
    out = ["…" if a > 0 or more_before else ""]
    pos = a
    for s, e in spans:
        if e <= a or s >= b:
            continue
        s, e = max(s, a), min(e, b)
        out.append(_clean(text[pos:s]))
        out.append("<mark>" + _clean(text[s:e]) + "</mark>")
        pos = e
    out.append(_clean(text[pos:b]))
    out.append("…" if b < len(text) or more_after else "")
    return "".join(out)
