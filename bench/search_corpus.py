"""A seeded Chinese + English corpus and labelled queries for the search benchmark.

Documents are sentences of words drawn Zipf-like (rank^-1) from jieba's dictionary (dict.txt ships in the
jieba package), with English clauses, people's names, resident ID numbers (valid check digit), dates and
phone numbers mixed in. Document i is generated from its own seed, so any engine can regenerate the same
corpus in a stream without holding it in memory.

Queries come in six kinds with ground truth:
  common  one word of rank 30-400               rare    one word from the tail (planted in a few documents)
  and     two mid-frequency words, AND          name    a person's name (planted)
  id      an 18-digit resident ID (planted)     phrase  two adjacent words as one string (planted); half of
          them planted between neighbours that make jieba cut the document differently from the query
A document is relevant when it holds the query's word(s) as whole generated words (adjacent, for phrases):
a hit where the query's characters straddle two other words (东北|京剧 for 北京) is a false positive.
"""

from __future__ import annotations

import marshal
import os
import random
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from pathlib import Path

import numpy as np

BATCH = 1000
KINDS = ("common", "rare", "and", "name", "id", "phrase")
ENGLISH = """account address agreement amendment annual applicant approval archive balance bank beneficiary
branch business capital certificate client company compliance contract copy credit customer date deposit
director document expiry file finance form guarantee holder identity insurance invoice issue lease legal
licence loan manager notice office order owner passport payment period person policy power premium record
register renewal report resident review risk sale seal service share signature signed statement tax term
transfer trust valid verification witness""".split()
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国文辉力鹏宇浩然子轩欣怡梓涵雨桐佳琪思远晨")
EN_FIRST = "alice brian chloe david emma frank grace henry irene jack kevin laura mike nina oscar paula".split()
EN_LAST = "smith jones brown taylor wilson evans thomas roberts walker wright green hall wood clarke".split()
REGIONS = ("110105", "310104", "440305", "320102", "330106", "510107", "420106", "610113")


def jieba_dictionary(limit: int = 200_000) -> list[str]:
    """Chinese words of jieba's dict.txt, most frequent first."""
    import jieba

    path = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in parts[0]):
                rows.append((-int(parts[1]), parts[0]))
    rows.sort()
    return [w for _, w in rows[:limit]]


def resident_id(rng: random.Random) -> str:
    from stdnum.cn import ric

    body = f"{rng.choice(REGIONS)}{rng.randint(1950, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}" \
           f"{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body)


@dataclass(frozen=True)
class Query:
    qid: int
    kind: str
    text: str
    units: tuple[str, ...]  # generated words that make a document relevant (all of them; adjacent if phrase)
    phrase: bool = False
    resegmented: bool = False  # planted between neighbours that make jieba segment the document differently


@dataclass
class Doc:
    doc_id: int
    text: str
    units: list[str]  # the generated words, in order ("" marks punctuation)
    customer_id: int
    owner_id: int
    sensitive: bool


@dataclass
class Corpus:
    size: int
    seed: int = 7
    words_per_doc: int = 300
    queries_per_kind: int = 168
    vocab: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.vocab = self.vocab or jieba_dictionary()
        self._cum = list(accumulate(1.0 / (r + 2.7) for r in range(len(self.vocab))))
        self._np_cum = np.asarray(self._cum)
        self._plan: dict[int, list[tuple[str, ...]]] = defaultdict(list)
        self.queries: list[Query] = []
        self._make_queries()

    # ------------------------------------------------------------------------------------------ queries

    def _expected_df(self, rank: int) -> float:
        p = (1.0 / (rank + 2.7)) / self._cum[-1]
        return p * self.words_per_doc * self.size

    def _plant(self, rng: random.Random, units: tuple[str, ...], copies: int) -> None:
        for d in rng.sample(range(self.size), min(copies, self.size)):
            self._plan[d].append(units)

    def _make_queries(self) -> None:
        rng = random.Random(self.seed * 7919)
        n = self.queries_per_kind
        v = self.vocab
        qs: list[Query] = []

        def add(kind, text, units, **kw):
            qs.append(Query(len(qs), kind, text, tuple(units), **kw))

        multi = [i for i in range(30, 400) if len(v[i]) >= 2]
        for i in rng.sample(multi, min(n, len(multi))):
            add("common", v[i], [v[i]])
        tail_start = next((r for r in range(len(v)) if self._expected_df(r) < 3), len(v) - 5000)
        tail = [r for r in range(tail_start, len(v)) if len(v[r]) >= 2]
        for r in rng.sample(tail, n):
            add("rare", v[r], [v[r]])
            self._plant(rng, (v[r],), rng.randint(1, 12))
        mid = [r for r in range(100, 2000) if len(v[r]) >= 2]
        for _ in range(n):
            a, b = rng.sample(mid, 2)
            add("and", f"{v[a]} {v[b]}", [v[a], v[b]])
        names = set()
        while len(names) < n:
            if rng.random() < 0.85:
                names.add(rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2, 2)))))
            else:
                names.add(f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}")
        for name in sorted(names):
            add("name", name, [name])
            self._plant(rng, (name,), rng.randint(1, 20))
        for _ in range(n):
            rid = resident_id(rng)
            add("id", rid, [rid])
            self._plant(rng, (rid,), rng.randint(1, 3))
        self._make_phrases(rng, add, n)
        self.queries = qs

    def _make_phrases(self, rng, add, n) -> None:
        import rjieba

        cut = rjieba.Jieba().cut
        pool = [r for r in range(2000, 60000) if len(self.vocab[r]) >= 2]
        neigh = [self.vocab[r] for r in range(100, 5000)]
        made = 0
        while made < n:
            a, b = (self.vocab[r] for r in rng.sample(pool, 2))
            qcut = cut(a + b, True)
            if made % 2 == 0:
                add("phrase", a + b, [a, b], phrase=True)
                self._plant(rng, (a, b), rng.randint(2, 15))
                made += 1
                continue
            for _ in range(40):  # neighbours that make the document's segmentation differ from the query's
                left, right = rng.choice(neigh), rng.choice(neigh)
                dcut = cut(left + a + b + right, True)
                if not _contains(dcut, qcut):
                    add("phrase", a + b, [a, b], phrase=True, resegmented=True)
                    self._plant(rng, (left, a, b, right), rng.randint(2, 15))
                    made += 1
                    break

    # ------------------------------------------------------------------------------------------ documents

    def batch(self, b: int) -> list[Doc]:
        """Documents b*BATCH .. (b+1)*BATCH-1 (each batch from its own seed: batches stream independently)."""
        lo, hi = b * BATCH, min((b + 1) * BATCH, self.size)
        if lo >= hi:
            return []
        gen = np.random.default_rng([self.seed, b])
        counts = gen.integers(self.words_per_doc // 2, self.words_per_doc * 3 // 2 + 1, hi - lo)
        ranks = np.searchsorted(self._np_cum, gen.random(int(counts.sum())) * self._cum[-1], side="right")
        v = self.vocab
        drawn_all = [v[k] for k in np.minimum(ranks, len(v) - 1).tolist()]
        rng = random.Random(self.seed * 1_000_003 + b)
        rand, randint = rng.random, rng.randint
        out = []
        at = 0
        for i, count in zip(range(lo, hi), counts.tolist()):
            drawn = drawn_all[at:at + count]
            at += count
            units: list[str] = []
            pieces: list[str] = []
            k = 0
            while k < count:
                n = randint(5, 15)
                sentence = drawn[k:k + n]
                k += n
                units.extend(sentence)
                pieces.extend(sentence)
                r = rand()
                if r < 0.06:
                    extra = rng.choices(ENGLISH, k=randint(2, 7))
                elif r < 0.08:
                    extra = [f"{randint(2015, 2030)}-{randint(1, 12):02d}-{randint(1, 28):02d}"]
                elif r < 0.09:
                    extra = [f"138-{randint(0, 9999):04d}-{randint(0, 9999):04d}"]
                else:
                    extra = ()
                if extra:
                    units.extend(extra)
                    pieces.extend(f" {x} " for x in extra)
                units.append("")
                pieces.append("。" if rand() < 0.3 else "，")
            for planted in self._plan.get(i, ()):  # units and pieces stay aligned one to one
                pos = randint(0, len(units))
                units[pos:pos] = planted
                pieces[pos:pos] = [f" {p} " if p.isascii() else p for p in planted]
            out.append(Doc(i, "".join(pieces), units, customer_id=1 + i % 5000, owner_id=1 + i % 50,
                           sensitive=(i % 10 == 0)))
        return out

    def docs(self, start: int = 0, stop: int | None = None):
        stop = self.size if stop is None else min(stop, self.size)
        for b in range(start // BATCH, (stop + BATCH - 1) // BATCH):
            for d in self.batch(b):
                if start <= d.doc_id < stop:
                    yield d

    def batches(self, stop: int | None = None):
        stop = self.size if stop is None else min(stop, self.size)
        for b in range((stop + BATCH - 1) // BATCH):
            yield [d for d in self.batch(b) if d.doc_id < stop]

    # ------------------------------------------------------------------------------------------ truth

    @cached_property
    def truth(self) -> dict[int, set[int]]:
        """qid -> ids of the relevant documents (one pass over the corpus, unless materialize() ran)."""
        judge = _Judge(self.queries)
        for d in self.docs():
            judge.add(d)
        return judge.out

    def materialize(self, folder: Path) -> None:
        """Write the documents to `folder` (one marshal file per batch) and compute the truth on the way.

        The benchmark's engines then stream the same documents from disk instead of regenerating them.
        """
        folder.mkdir(parents=True, exist_ok=True)
        judge = _Judge(self.queries)
        for b, docs in enumerate(self.batches()):
            for d in docs:
                judge.add(d)
            rows = [(d.doc_id, d.text, d.customer_id, d.owner_id, d.sensitive) for d in docs]
            (folder / f"{b:06d}.marshal").write_bytes(marshal.dumps(rows))
        self.__dict__["truth"] = judge.out


def stored_batches(folder: Path, stop: int | None = None):
    """Batches of Doc (without units) from a materialized corpus."""
    for path in sorted(folder.glob("*.marshal")):
        rows = marshal.loads(path.read_bytes())
        docs = [Doc(i, text, [], c, o, s) for i, text, c, o, s in rows if stop is None or i < stop]
        if docs:
            yield docs
        if stop is not None and rows and rows[-1][0] >= stop - 1:
            break


class _Judge:
    def __init__(self, queries: list[Query]):
        self.by_unit: dict[str, list[Query]] = defaultdict(list)
        for q in queries:
            self.by_unit[q.units[0]].append(q)
        self.wanted = set(self.by_unit)
        self.out: dict[int, set[int]] = {q.qid: set() for q in queries}

    def add(self, d: Doc) -> None:
        present = self.wanted.intersection(d.units)
        if not present:
            return
        have = set(d.units)
        for u in present:
            for q in self.by_unit[u]:
                if q.phrase:
                    if _contains(d.units, list(q.units)):
                        self.out[q.qid].add(d.doc_id)
                elif all(x in have for x in q.units):
                    self.out[q.qid].add(d.doc_id)


def _contains(seq: list[str], sub: list[str]) -> bool:
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1) if seq[i] == sub[0])


if __name__ == "__main__":
    import sys
    import time

    c = Corpus(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, queries_per_kind=10)
    t = time.perf_counter()
    docs = list(c.docs())
    dt = time.perf_counter() - t
    print(f"{len(docs)} docs in {dt:.1f} s, {sum(len(d.text) for d in docs) / len(docs):.0f} chars/doc")
    print(docs[0].text[:300])
    truth = c.truth
    for q in c.queries[::7]:
        print(q.kind, q.text, q.resegmented, len(truth[q.qid]))
