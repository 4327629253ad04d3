"""Search engines compared on one generated corpus, in one run: indexing rate, index size, latency per
query kind, Chinese precision and recall, memory. Results and the choices made from them: docs/search.md.

    python -m bench.search_engines --size 100000            # the issue's sizes: 100000 and 1000000
    python -m bench.search_engines --quick                  # a few thousand documents, a minute
    python -m bench.search_engines --size 1000000 --engines a,c --json out.json

Engines (each built one after another in its own forked process, which stays to answer queries, so its RSS
is its own; the engines then take turns on every query, so all are timed on the same machine state):
  a   keyed tantivy, jieba words + CJK bigrams, every token an HMAC (ours, KeyedSearchIndex)
  b   keyed tantivy, jieba words only
  b2  keyed tantivy, jieba search-mode words only (overlapping sub-words; multi-word terms AND-ed)
  c   plaintext tantivy, CJK character bigrams (phrase of bigrams per term; paperless-ngx 3's CJK way)
  d   plaintext SQLite FTS5 (unicode61) over jieba words, contentless table
  e   Whoosh (whoosh-reloaded; paperless-ngx's engine before 3.0) over jieba words, capped (it is slow)
  f   plaintext PostgreSQL tsvector ('simple' over jieba words) with a GIN index, ts_rank; a throw-away
      database on --pg-url, dropped afterwards (what "search on PostgreSQL's own full text" would cost)
Every engine answers top-20 by BM25 plus the exact total of matches, query parsing included.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:
    from bench.search_corpus import KINDS, Corpus, stored_batches
except ImportError:  # run as a script from bench/
    from search_corpus import KINDS, Corpus, stored_batches

from clientfolio.adapters import textnorm
from clientfolio.adapters.search_index import (MAX_LIMIT, IndexedDocument, KeyedSearchIndex, Visibility)

TOP = 20
PASSES = 3  # timed passes over the queries; each query's median counts
HEAP = 100_000_000
LABELS = {
    "a": "keyed tantivy, words + bigrams (ours)",
    "b": "keyed tantivy, words only",
    "b2": "keyed tantivy, search-mode words only",
    "c": "plaintext tantivy, CJK bigrams",
    "d": "plaintext SQLite FTS5, jieba words",
    "e": "Whoosh, jieba words",
    "f": "plaintext PostgreSQL tsvector + GIN, jieba words",
}
PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"  # --pg-url; engines run in forked children


# ------------------------------------------------------------------------------------------------ engines


class KeyedEngine:
    def __init__(self, folder: Path, *, bigrams: bool, mode: str):
        self.ix = KeyedSearchIndex(folder, hashlib.sha256(b"bench key").digest(), bigrams=bigrams,
                                   segment_mode=mode, writer_heap_bytes=HEAP)
        self.everyone = Visibility(include_sensitive=True)
        self.folder = folder

    def add(self, docs) -> None:
        for d in docs:
            self.ix.upsert(IndexedDocument(doc_id=d.doc_id, customer_id=d.customer_id, text=d.text,
                                           owner_id=d.owner_id,
                                           sensitivity="sensitive" if d.sensitive else "normal"))

    def finish(self) -> None:
        self.ix.close()

    def top(self, q: str, *, visibility: Visibility | None = None):
        r = self.ix.search(q, visibility=visibility or self.everyone, limit=TOP)
        return r.total, [h.doc_id for h in r.hits]

    def all_ids(self, q: str):
        r = self.ix.search(q, visibility=self.everyone, limit=MAX_LIMIT)
        return None if r.total > MAX_LIMIT else [h.doc_id for h in r.hits]

    def extra(self) -> dict:
        info = self.ix.cache_info()
        return {f"hash cache {k}": f"{v.hits / max(1, v.hits + v.misses):.1%} hits, {v.currsize:,} entries"
                for k, v in info.items() if k != "filter"}


class PlainBigramEngine:
    def __init__(self, folder: Path):
        import tantivy

        self.t = tantivy
        b = tantivy.SchemaBuilder()
        b.add_unsigned_field("doc_id", indexed=True, fast=True)
        b.add_text_field("body", tokenizer_name="ws", index_option="position")
        folder.mkdir(parents=True, exist_ok=True)
        self.index = tantivy.Index(b.build(), path=str(folder))
        self.index.register_tokenizer("ws", tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
        self.schema = self.index.schema
        self.writer = self.index.writer(heap_size=HEAP, num_threads=1)
        self.folder = folder

    def add(self, docs) -> None:
        for d in docs:
            _, bigrams = textnorm.analyze(d.text, mode="none")
            doc = self.t.Document()
            doc.add_unsigned("doc_id", d.doc_id)
            doc.add_text("body", " ".join(bigrams))
            self.writer.add_document(doc)

    def finish(self) -> None:
        self.writer.commit()
        self.writer.wait_merging_threads()
        self.writer = self.index.writer(heap_size=15_000_000, num_threads=1)
        self.writer.garbage_collect_files()
        self.index.reload()

    def _query(self, q: str):
        Q, Occur = self.t.Query, self.t.Occur
        subs = []
        for term in textnorm.query_terms(q).terms:
            toks = term.bigrams
            sub = Q.term_query(self.schema, "body", toks[0]) if len(toks) == 1 else \
                Q.phrase_query(self.schema, "body", list(toks))
            subs.append((Occur.Must, sub))
        return Q.boolean_query(subs)

    def _search(self, q: str, limit: int):
        s = self.index.searcher()
        r = s.search(self._query(q), limit, count=True)
        return r.count, s.fast_field_values("doc_id", [a for _, a in r.hits])

    def top(self, q: str, **_):
        return self._search(q, TOP)

    def all_ids(self, q: str):
        total, ids = self._search(q, MAX_LIMIT)
        return None if total > MAX_LIMIT else list(ids)

    def extra(self) -> dict:
        return {}


def _fts_match(q: str) -> str:
    return " AND ".join('"' + " ".join(t.words) + '"' for t in textnorm.query_terms(q).terms)


class Fts5Engine:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "fts.db"
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("CREATE VIRTUAL TABLE t USING fts5(body, content='', tokenize='unicode61')")
        self.folder = folder

    def add(self, docs) -> None:
        rows = [(d.doc_id, " ".join(textnorm.analyze(d.text)[0])) for d in docs]
        self.db.executemany("INSERT INTO t(rowid, body) VALUES (?, ?)", rows)

    def finish(self) -> None:
        self.db.execute("INSERT INTO t(t) VALUES ('optimize')")
        self.db.commit()

    def top(self, q: str, **_):
        m = _fts_match(q)
        ids = [r[0] for r in self.db.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank LIMIT ?",
                                              (m, TOP))]
        total = self.db.execute("SELECT count(*) FROM t WHERE t MATCH ?", (m,)).fetchone()[0]
        return total, ids

    def all_ids(self, q: str):
        ids = [r[0] for r in self.db.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY rank",
                                              (_fts_match(q),))]
        return None if len(ids) > MAX_LIMIT else ids

    def extra(self) -> dict:
        return {}


class WhooshEngine:
    def __init__(self, folder: Path):
        from whoosh import analysis, fields, index

        folder.mkdir(parents=True, exist_ok=True)
        schema = fields.Schema(doc_id=fields.NUMERIC(stored=True, unique=True),
                               body=fields.TEXT(analyzer=analysis.SpaceSeparatedTokenizer(), phrase=True))
        self.index = index.create_in(str(folder), schema)
        self.writer = self.index.writer(limitmb=64, procs=1)
        self.searcher = None
        self.folder = folder

    def add(self, docs) -> None:
        for d in docs:
            self.writer.add_document(doc_id=d.doc_id, body=" ".join(textnorm.analyze(d.text)[0]))

    def finish(self) -> None:
        self.writer.commit()
        self.searcher = self.index.searcher()

    def _query(self, q: str):
        from whoosh import query as wq

        parts = [wq.Phrase("body", list(t.words)) if len(t.words) > 1 else wq.Term("body", t.words[0])
                 for t in textnorm.query_terms(q).terms]
        return wq.And(parts)

    def top(self, q: str, **_):
        r = self.searcher.search(self._query(q), limit=TOP)
        return len(r), [h["doc_id"] for h in r]

    def all_ids(self, q: str):
        r = self.searcher.search(self._query(q), limit=None)
        return None if len(r) > MAX_LIMIT else [h["doc_id"] for h in r]

    def extra(self) -> dict:
        return {}


class PostgresEngine:
    """tsvector over jieba words ('simple': no stemming, no stop words), GIN built after the load (as a bulk
    import would), each query term a phraseto_tsquery, AND-ed; top-20 by ts_rank plus the exact count."""

    def __init__(self, folder: Path):
        import uuid

        import psycopg

        self.psycopg = psycopg
        self.name = f"cf_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        self.db = psycopg.connect(PG_URL.rsplit("/", 1)[0] + "/" + self.name, autocommit=True)
        self.db.execute("CREATE UNLOGGED TABLE t (id integer PRIMARY KEY, tsv tsvector NOT NULL)")
        self.folder = folder

    def add(self, docs) -> None:
        rows = [(d.doc_id, " ".join(textnorm.analyze(d.text)[0])) for d in docs]
        with self.db.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s, to_tsvector('simple', %s))", rows)

    def finish(self) -> None:
        self.db.execute("CREATE INDEX t_tsv ON t USING gin (tsv)")
        self.db.execute("VACUUM ANALYZE t")

    def _where(self, q: str) -> tuple[str, list[str]]:
        terms = [" ".join(t.words) for t in textnorm.query_terms(q).terms]
        return " && ".join(["phraseto_tsquery('simple', %s)"] * len(terms)), terms

    def top(self, q: str, **_):
        tsq, params = self._where(q)
        ids = [r[0] for r in self.db.execute(
            f"SELECT id FROM t, (SELECT {tsq} AS q) AS qq WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC LIMIT {TOP}",
            params)]
        total = self.db.execute(f"SELECT count(*) FROM t WHERE tsv @@ ({tsq})", params).fetchone()[0]
        return total, ids

    def all_ids(self, q: str):
        tsq, params = self._where(q)
        ids = [r[0] for r in self.db.execute(
            f"SELECT id FROM t, (SELECT {tsq} AS q) AS qq WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC", params)]
        return None if len(ids) > MAX_LIMIT else ids

    def index_bytes(self) -> int:
        return self.db.execute("SELECT pg_total_relation_size('t')").fetchone()[0]

    def extra(self) -> dict:
        gin = self.db.execute("SELECT pg_relation_size('t_tsv')").fetchone()[0]
        return {"GIN index": f"{gin / 1e6:,.1f} MB", "RSS": "the PostgreSQL server's, not counted"}

    def close(self) -> None:
        self.db.close()
        with self.psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def make_engine(key: str, folder: Path):
    if key == "a":
        return KeyedEngine(folder, bigrams=True, mode="precise")
    if key == "b":
        return KeyedEngine(folder, bigrams=False, mode="precise")
    if key == "b2":
        return KeyedEngine(folder, bigrams=False, mode="search")
    if key == "c":
        return PlainBigramEngine(folder)
    if key == "d":
        return Fts5Engine(folder)
    if key == "e":
        return WhooshEngine(folder)
    if key == "f":
        return PostgresEngine(folder)
    raise ValueError(f"unknown engine {key!r}")


# ---------------------------------------------------------------------------------------------- measuring


def _rss() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MB."""
    vals = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                vals[line.split(":")[0]] = int(line.split()[1]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


def _du(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


def _engine_server(key: str, folder: Path, corpus_dir: Path, n_docs: int, queries, truth, conn) -> None:
    """A forked child that builds one engine, then answers the parent's timing requests until told to finish:
    the parent asks every engine the same query in turn, so all of them see the machine in the same state
    (timed one engine after another, two runs at 100,000 documents gave 0.97× and 2.1× for the same code)."""
    eng = None
    try:
        textnorm.analyze("预热 warm-up")  # segmenter, stemmer and OpenCC loaded before the clock starts
        eng = make_engine(key, folder)
        built = _build(eng, folder, corpus_dir, n_docs) | {"takes_visibility": isinstance(eng, KeyedEngine)}
        for q in queries:  # warm-up pass
            eng.top(q.text)
        conn.send(built)
        restricted = Visibility(include_sensitive=False, owner_id=7)  # own customers, no sensitive documents
        while (msg := conn.recv()) != "finish":
            i, as_restricted = msg
            kw = {"visibility": restricted} if as_restricted else {}
            t0 = time.perf_counter()
            eng.top(queries[i].text, **kw)
            conn.send((time.perf_counter() - t0) * 1000)
        rss, peak = _rss()
        conn.send({"quality": _quality(eng, queries, truth, n_docs), "rss_mb": rss, "rss_peak_mb": peak,
                   "extra": eng.extra()})
    except BaseException as exc:  # report, never hang the parent
        conn.send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        if eng is not None:
            getattr(eng, "close", lambda: None)()
        conn.close()


def _build(eng, folder: Path, corpus_dir: Path, n_docs: int) -> dict:
    spent = 0.0
    for docs in stored_batches(corpus_dir, stop=n_docs):
        t0 = time.perf_counter()
        eng.add(docs)
        spent += time.perf_counter() - t0
    t0 = time.perf_counter()
    eng.finish()
    spent += time.perf_counter() - t0
    size = eng.index_bytes() if hasattr(eng, "index_bytes") else _du(folder)
    return {"docs": n_docs, "build_s": spent, "docs_per_s": n_docs / spent, "index_bytes": size,
            "bytes_per_doc": size / n_docs, "rss_after_build_mb": _rss()[0]}


def _timed(servers: dict, queries, *, restricted: bool = False) -> dict[str, list[float]]:
    """Milliseconds per query and engine, each the median of PASSES passes (one pass alone swings ±30% on a
    busy 2-core machine, and a single stall would land in the p99). Engines take turns on every query,
    the first one alternating, so none is timed on a quieter machine than another."""
    passes: dict[str, list[list[float]]] = {k: [] for k in servers}
    keys = list(servers)
    for _ in range(PASSES):
        one: dict[str, list[float]] = {k: [] for k in servers}
        for i in range(len(queries)):
            order = keys if i % 2 == 0 else keys[::-1]
            for k in order:
                servers[k].send((i, restricted))
                ms = servers[k].recv()
                if isinstance(ms, dict):
                    raise RuntimeError(f"engine {k}: {ms['error']}")
                one[k].append(ms)
        for k in servers:
            passes[k].append(one[k])
    return {k: [statistics.median(x) for x in zip(*p)] for k, p in passes.items()}


def _latency(ms: list[float]) -> dict[str, float]:
    return {"p50": _pct(ms, 50), "p95": _pct(ms, 95), "p99": _pct(ms, 99)}


def _measure(engines, size: int, root: Path, corpus_dir: Path, queries, truth, cap: int, log) -> dict:
    """Build each engine in its own forked child (one at a time, so builds do not compete, and each RSS is
    its own), then time them all together, then collect each one's quality and memory."""
    ctx = multiprocessing.get_context("fork")
    servers, procs, out, finished = {}, {}, {}, False
    try:
        for key in engines:
            n = min(size, cap) if key == "e" else size
            t0 = time.perf_counter()
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_engine_server,
                               args=(key, root / f"index-{key}-{size}", corpus_dir, n, queries, truth, child))
            proc.start()
            child.close()
            built = parent.recv()
            out[key] = {"engine": key, "label": LABELS[key], **built, "build_wall_s": time.perf_counter() - t0,
                        "loadavg_1m_after": os.getloadavg()[0]}  # other work skews absolute numbers
            if "error" in built:
                proc.join()
            else:
                servers[key], procs[key] = parent, proc
            log(f"  {key}: {LABELS[key]}: {built.get('error') or 'built'} in {out[key]['build_wall_s']:.0f} s")
        for key, ms in _timed(servers, queries).items():
            lat = {kind: [] for kind in KINDS}
            for q, x in zip(queries, ms):
                lat[q.kind].append(x)
            out[key]["latency"] = {kind: _latency(v) for kind, v in lat.items()} | {"all": _latency(ms)}
        keyed = {k: s for k, s in servers.items() if out[k]["takes_visibility"]}  # the permission filter's cost
        for key, ms in _timed(keyed, queries, restricted=True).items():
            out[key]["latency"]["all, restricted user"] = _latency(ms)
        for key, conn in servers.items():
            conn.send("finish")
            out[key] |= conn.recv()
        finished = True
    finally:
        for key, proc in procs.items():
            if not finished:  # a child waiting for a query would wait forever (its siblings hold its pipe too)
                proc.terminate()
            proc.join()
        for key in engines:
            shutil.rmtree(root / f"index-{key}-{size}", ignore_errors=True)
    return out


def _quality(eng, queries, truth, n_docs) -> dict:
    """Per Chinese query: precision and recall of the set of matches, P@20, and two measures of the ranked
    list of all matches, which compare engines at equal recall: precision at full recall (relevant
    documents / rank of the last one found; 0 when not all are found, as trec_eval interpolates) and
    average precision."""
    per: dict[str, dict[str, list[float]]] = {}
    for q in queries:
        if not _is_chinese(q.text):
            continue
        rel = {d for d in truth[q.qid] if d < n_docs}
        ranked = eng.all_ids(q.text)
        if ranked is None or not rel:  # more than MAX_LIMIT matches, or nothing relevant in this corpus
            continue
        got = set(ranked)
        _, top = eng.top(q.text)
        groups = [q.kind, "all Chinese"] + (["phrase, segments differently"] if q.resegmented else [])
        for g in groups:
            acc = per.setdefault(g, {"precision": [], "recall": [], "p_at_20": [], "p_at_full_recall": [],
                                     "average_precision": []})
            acc["recall"].append(len(got & rel) / len(rel))
            if got:
                acc["precision"].append(len(got & rel) / len(got))
            if top:
                acc["p_at_20"].append(sum(1 for d in top if d in rel) / len(top))
            full, ap = _ranked_precision(ranked, rel)
            acc["p_at_full_recall"].append(full)
            acc["average_precision"].append(ap)
    return {g: {m: (statistics.fmean(v) if v else float("nan")) for m, v in acc.items()} | {
        "queries": len(acc["recall"])} for g, acc in per.items()}


def _ranked_precision(ranked: list[int], rel: set[int]) -> tuple[float, float]:
    """(precision at the rank where the last relevant document comes, or 0; average precision)."""
    found, precision_sum, last = 0, 0.0, 0
    for rank, d in enumerate(ranked, 1):
        if d in rel:
            found += 1
            precision_sum += found / rank
            last = rank
    return (len(rel) / last if found == len(rel) else 0.0), precision_sum / len(rel)


def tokenizer_stats(corpus_dir: Path, n: int = 2000) -> dict:
    """Segmenter speed (rjieba vs jieba) and agreement, and the cost of each step of `analyze`."""
    docs = [d for batch in stored_batches(corpus_dir, stop=n) for d in batch]
    texts = [textnorm.normalize(d.text) for d in docs]
    out = {"docs": len(texts), "chars_per_doc": sum(map(len, texts)) / max(1, len(texts))}
    t0 = time.perf_counter()
    for d in docs:
        textnorm.normalize(d.text)
    out["normalize docs/s"] = len(docs) / (time.perf_counter() - t0)
    for mode in ("none", "precise", "search"):
        t0 = time.perf_counter()
        for t in texts:
            textnorm.analyze_normalized(t, mode=mode)
        out[f"analyze[{mode}] docs/s"] = len(texts) / (time.perf_counter() - t0)
    import jieba
    import rjieba

    rj = rjieba.Jieba()
    jb = jieba.Tokenizer()
    jb.tmp_dir = tempfile.mkdtemp(prefix="cf-jieba-")
    jieba.setLogLevel(40)
    jb.initialize()
    sample = [re.findall("[\u4e00-\u9fff]+", t) for t in texts[:500]]  # what textnorm hands the segmenter
    t0 = time.perf_counter()
    a = [[w for run in runs for w in rj.cut(run, True)] for runs in sample]
    out["rjieba docs/s"] = len(sample) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    b = [[w for run in runs for w in jb.lcut(run, HMM=True)] for runs in sample]
    out["jieba docs/s"] = len(sample) / (time.perf_counter() - t0)
    out["rjieba = jieba (docs)"] = f"{sum(x == y for x, y in zip(a, b))}/{len(sample)}"
    shutil.rmtree(jb.tmp_dir, ignore_errors=True)
    return out


# ---------------------------------------------------------------------------------------------- running


def run(quick: bool = False, sizes=(100_000,), *, engines=("a", "b", "b2", "c", "d", "e"),
        whoosh_cap: int | None = None, workdir: Path | None = None, log=print) -> dict:
    """Measure every engine on each corpus size; returns {size: {"corpus":…, "engines": {key: …}}}."""
    if unknown := [k for k in engines if k not in LABELS]:
        raise ValueError(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(LABELS)}")
    if quick:
        sizes = tuple(min(s, 5_000) for s in sizes)
    cap = whoosh_cap or (2_000 if quick else 10_000)
    root = Path(workdir or tempfile.mkdtemp(prefix="cf-search-bench-"))
    results: dict = {}
    try:
        for size in sizes:
            t0 = time.perf_counter()
            corpus = Corpus(size, queries_per_kind=24 if quick else 168)
            corpus_dir = root / f"corpus-{size}"
            corpus.materialize(corpus_dir)
            truth = corpus.truth
            res = {"corpus": {"docs": size, "queries": len(corpus.queries),
                              "generate_s": time.perf_counter() - t0,
                              "resegmented phrase queries": sum(q.resegmented for q in corpus.queries)},
                   "tokenizer": tokenizer_stats(corpus_dir), "engines": {}}
            log(f"corpus of {size:,} docs and {len(corpus.queries)} queries in {res['corpus']['generate_s']:.0f} s")
            res["engines"] = _measure(engines, size, root, corpus_dir, corpus.queries, truth, cap, log)
            shutil.rmtree(corpus_dir, ignore_errors=True)
            results[size] = res
    finally:
        if workdir is None:
            shutil.rmtree(root, ignore_errors=True)
    return results


def _ms(x: float) -> str:
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


QUALITY_GROUPS = ("common", "rare", "and", "name", "phrase", "phrase, segments differently", "all Chinese")


def _quality_table(engines: dict, title: str, cell) -> list[str]:
    lines = ["", title, "", "| engine | " + " | ".join(QUALITY_GROUPS) + " |",
             "| --- |" + " --- |" * len(QUALITY_GROUPS)]
    for k, r in engines.items():
        cells = [cell(x) if (x := r["quality"].get(g)) else "–" for g in QUALITY_GROUPS]
        lines.append(f"| ({k}) | " + " | ".join(cells) + " |")
    return lines


def report(results: dict) -> str:
    lines = []
    for size, res in results.items():
        engines = {k: v for k, v in res["engines"].items() if "error" not in v}
        c = res["corpus"]
        lines += [f"### {size:,} documents, {c['queries']} queries "
                  f"({c['resegmented phrase queries']} phrases planted where jieba segments the document "
                  f"differently), top-{TOP} + exact count", ""]
        lines += ["| engine | docs | index docs/s | index size | bytes/doc | RSS peak | all p50 | all p95 | all p99 | load |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for k, r in engines.items():
            a = r["latency"]["all"]
            lines.append(f"| ({k}) {r['label']} | {r['docs']:,} | {r['docs_per_s']:,.0f} | "
                         f"{r['index_bytes'] / 1e6:,.1f} MB | {r['bytes_per_doc']:,.0f} | {r['rss_peak_mb']:,.0f} MB | "
                         f"{_ms(a['p50'])} ms | {_ms(a['p95'])} ms | {_ms(a['p99'])} ms | "
                         f"{r.get('loadavg_1m_after', float('nan')):.1f} |")
        kinds = list(KINDS) + ["all, restricted user"]
        lines += ["", "Latency p50 / p95 / p99 in ms per query kind:", "",
                  "| engine | " + " | ".join(kinds) + " |", "| --- |" + " --- |" * len(kinds)]
        for k, r in engines.items():
            cells = []
            for kind in kinds:
                x = r["latency"].get(kind)
                cells.append(f"{_ms(x['p50'])} / {_ms(x['p95'])} / {_ms(x['p99'])}" if x else "–")
            lines.append(f"| ({k}) | " + " | ".join(cells) + " |")
        lines += _quality_table(engines, "Chinese queries, precision / recall over all matches (P@20 in brackets):",
                                lambda x: f"{x['precision']:.3f} / {x['recall']:.3f} ({x['p_at_20']:.3f})")
        lines += _quality_table(engines, "Ranked, at equal recall: precision at full recall / average precision "
                                         "(every match in rank order):",
                                lambda x: f"{x['p_at_full_recall']:.3f} / {x['average_precision']:.3f}")
        lines += ["", "Tokenizer (per document, single thread): " + ", ".join(
            f"{k} {v:,.0f}" if isinstance(v, float) else f"{k} {v}" for k, v in res["tokenizer"].items())]
        for k, r in engines.items():
            if r["extra"]:
                lines.append(f"({k}) " + ", ".join(f"{a}: {b}" for a, b in r["extra"].items()))
        for k, r in res["engines"].items():
            if "error" in r:
                lines.append(f"({k}) failed: {r['error']}")
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--size", type=int, action="append", help="documents (repeatable; default 100000)")
    ap.add_argument("--engines", default="a,b,b2,c,d,e")
    ap.add_argument("--whoosh-cap", type=int)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--workdir", type=Path, help="where corpora and indexes go (default: a temp folder)")
    ap.add_argument("--pg-url", default=PG_URL, help="PostgreSQL server for engine f (a database is made there)")
    args = ap.parse_args(argv)
    globals()["PG_URL"] = args.pg_url
    t0 = time.perf_counter()
    results = run(args.quick, tuple(args.size or (100_000,)), engines=tuple(args.engines.split(",")),
                  whoosh_cap=args.whoosh_cap, workdir=args.workdir,
                  log=lambda m: print(m, file=sys.stderr, flush=True))
    print(report(results))
    print(f"total wall time {time.perf_counter() - t0:.0f} s on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
