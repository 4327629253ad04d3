"""KeyedSearchIndex: matches, permissions inside the query, filters, phrases, ranking, snippets, and no
plaintext on disk."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clientfolio.adapters.search_index import (IndexBusy, IndexedDocument, KeyedSearchIndex, SearchFilters,
                                               Visibility, snippet)
from clientfolio.domain.errors import WrongKey

KEY = bytes(range(32))
ALL = Visibility(include_sensitive=True)
NO_SENSITIVE = Visibility(include_sensitive=False)

DOCS = [
    IndexedDocument(1, customer_id=10, owner_id=100, text="本公司已办理营业执照副本，统一社会信用代码见附件。",
                    title="营业执照", category="licence", subtype="business", tags=("年检",),
                    customer_name="张伟", customer_code="C000010", issued_on=date(2020, 5, 1),
                    expires_on=date(2025, 4, 30)),
    IndexedDocument(2, customer_id=11, owner_id=200, sensitivity="sensitive",
                    text="居民身份证 110105194912310021，本人须缴纳个人所得税。", title="身份证正面",
                    category="id_document", subtype="resident_id", customer_name="李娜",
                    customer_code="C000011", issued_on=date(2019, 1, 1), expires_on=date(2029, 1, 1)),
    IndexedDocument(3, customer_id=10, owner_id=100, text="Lease agreement signed by both parties. "
                    "The licence fee is due yearly.", title="Office lease", category="contract",
                    subtype="formal", tags=("VIP", "年检"), customer_name="张伟", customer_code="C000010",
                    issued_on=date(2023, 3, 1), expires_on=date(2026, 2, 28)),
    IndexedDocument(4, customer_id=12, owner_id=None, status="archived",
                    text="寺里的和尚每天念经，和尚也负责打扫。", title="寺院合同", category="contract",
                    customer_name="王芳", customer_code="C000012"),
    IndexedDocument(5, customer_id=12, owner_id=None, status="deleted", text="已删除的营业执照扫描件",
                    title="旧营业执照", category="licence", customer_name="王芳", customer_code="C000012"),
    IndexedDocument(6, customer_id=13, owner_id=200, text="结婚的和尚未结婚的都要登记。 signed the lease",
                    title="登记表", category="form", customer_name="赵强", customer_code="C000013",
                    expires_on=date(2024, 12, 31)),
]


def ids(result) -> list[int]:
    return [h.doc_id for h in result.hits]


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> KeyedSearchIndex:
    ix = KeyedSearchIndex(tmp_path_factory.mktemp("search"), KEY)
    for doc in DOCS:
        ix.upsert(doc)
    ix.commit()
    return ix


def test_words_phrases_and_traditional_queries_find_their_documents(index):
    assert ids(index.search("营业执照", visibility=ALL)) == [1]  # deleted doc 5 is not visible by default
    assert ids(index.search("營業執照", visibility=ALL)) == [1]
    assert ids(index.search("C000010 营业执照", visibility=ALL)) == [1]
    assert ids(index.search("110105194912310021", visibility=ALL)) == [2]
    assert set(ids(index.search("signed", visibility=ALL))) == {3, 6}
    assert ids(index.search('"lease agreement"', visibility=ALL)) == [3]
    assert ids(index.search('"agreement lease"', visibility=ALL)) == []
    assert ids(index.search("nosuchword", visibility=ALL)) == []


def test_a_query_that_jieba_segments_differently_from_the_document_is_still_found(index, tmp_path):
    # the document is cut 营业执照|副本 and 个人所得税; the queries are cut 执照|副本 and 个人
    assert ids(index.search("执照副本", visibility=ALL)) == [1]
    assert ids(index.search("个人", visibility=ALL)) == [2]
    words_only = KeyedSearchIndex(tmp_path / "words", KEY, bigrams=False)
    for doc in DOCS:
        words_only.upsert(doc)
    words_only.commit()
    assert ids(words_only.search("执照副本", visibility=ALL)) == []  # why the bigram stream is there
    assert ids(words_only.search("个人", visibility=ALL)) == []


def test_sensitive_documents_are_neither_returned_nor_counted(index):
    r = index.search("身份证", visibility=NO_SENSITIVE)
    assert r.total == 0 and r.hits == []
    assert ids(index.search("身份证", visibility=ALL)) == [2]
    everything = index.search("", visibility=NO_SENSITIVE, limit=100)
    assert 2 not in ids(everything) and everything.total == len(everything.hits) == 4


def test_an_own_customers_user_sees_and_counts_only_their_customers(index):
    mine = Visibility(include_sensitive=True, owner_id=100)
    r = index.search("", visibility=mine, limit=100)
    assert sorted(ids(r)) == [1, 3] and r.total == 2
    r = index.search("signed", visibility=mine)
    assert ids(r) == [3] and r.total == 1  # doc 6 matches too, but belongs to owner 200
    theirs = Visibility(include_sensitive=False, owner_id=200)
    assert ids(index.search("", visibility=theirs, limit=100)) == [6]


def test_statuses_decide_whether_archived_and_deleted_documents_show(index):
    assert ids(index.search("和尚", visibility=Visibility(True, statuses=("active",)))) == [6]
    assert set(ids(index.search("营业执照", visibility=Visibility(True, statuses=("deleted",))))) == {5}
    assert index.search("营业执照", visibility=Visibility(True, statuses=())).total == 0


def test_filters(index):
    def f(**kw) -> set[int]:
        return set(ids(index.search("", filters=SearchFilters(**kw), visibility=ALL, limit=100)))

    assert f(customer_id=10) == {1, 3}
    assert f(category="contract") == {3, 4}
    assert f(category="contract", subtype="formal") == {3}
    assert f(tags=("年检",)) == {1, 3}
    assert f(tags=("vip", "年检")) == {3}  # tags are case-folded, all must match
    assert f(sensitivity="sensitive") == {2}
    assert f(sensitivity="normal") == {1, 3, 4, 6}
    assert f(issued_from=date(2020, 1, 1), issued_to=date(2023, 12, 31)) == {1, 3}
    assert f(expires_before=date(2025, 4, 30)) == {6}  # exclusive
    assert f(expires_to=date(2025, 4, 30)) == {1, 6}
    assert f(expires_from=date(2026, 1, 1)) == {2, 3}
    r = index.search("营业执照", filters=SearchFilters(customer_id=11), visibility=ALL)
    assert r.total == 0


def test_ranking_prefers_whole_words_and_metadata(index):
    # doc 4 holds the word 和尚 twice; doc 6 only the characters across 和|尚未
    assert ids(index.search("和尚", visibility=ALL)) == [4, 6]
    # licence: a title/name match beats a body match; 张伟 is doc 1 and 3's customer
    assert ids(index.search("licence", visibility=ALL)) == [3]
    r = index.search("张伟", visibility=ALL)
    assert set(ids(r)) == {1, 3}
    assert all(h.score > 0 for h in r.hits)


def test_a_very_common_word_is_ranked_by_its_bigrams_alone(tmp_path):
    # 和尚 stands as a word once in doc 1; in doc 2 its characters meet three times across 和|尚未.
    docs = [IndexedDocument(1, customer_id=1, text="寺里的和尚每天念经。"),
            IndexedDocument(2, customer_id=1, text="结婚的和尚未结婚的，和尚未登记的，和尚未到场的。")]
    usual = KeyedSearchIndex(tmp_path / "usual", KEY)
    common = KeyedSearchIndex(tmp_path / "common", KEY, common_min_docs=0)  # every word counts as common
    for ix in (usual, common):
        with ix:
            for d in docs:
                ix.upsert(d)
    assert ids(usual.search("和尚", visibility=ALL)) == [1, 2]  # the word first
    assert ids(common.search("和尚", visibility=ALL)) == [2, 1]  # bigram BM25 alone: more occurrences first
    assert common.search("和尚", visibility=ALL).total == usual.search("和尚", visibility=ALL).total == 2


def test_paging_and_counting(index):
    first = index.search("", visibility=ALL, limit=2)
    second = index.search("", visibility=ALL, limit=2, offset=2)
    assert first.total == second.total == 5
    assert not set(ids(first)) & set(ids(second))
    assert index.search("", visibility=ALL, limit=0).total == 5


def test_upsert_replaces_and_delete_removes(tmp_path):
    ix = KeyedSearchIndex(tmp_path, KEY)
    ix.upsert(IndexedDocument(1, customer_id=1, text="旧的内容 apple"))
    ix.commit()
    ix.upsert(IndexedDocument(1, customer_id=1, text="新的内容 banana"))
    ix.commit()
    assert ids(ix.search("apple", visibility=ALL)) == []
    assert ids(ix.search("banana", visibility=ALL)) == [1]
    ix.delete(1)
    ix.commit()
    assert ix.search("banana", visibility=ALL).total == 0 and ix.num_docs() == 0


def test_a_wrong_key_is_refused_and_a_second_writer_is_told_why(tmp_path):
    with KeyedSearchIndex(tmp_path, KEY) as ix:
        ix.upsert(IndexedDocument(1, customer_id=1, text="内容"))
        ix.commit()
        with pytest.raises(WrongKey):  # checked when the index is first used (opening is lazy)
            KeyedSearchIndex(tmp_path, bytes(32)).num_docs()
        other = KeyedSearchIndex(tmp_path, KEY)
        with pytest.raises(IndexBusy):
            other.upsert(IndexedDocument(2, customer_id=1, text="更多"))
        assert ids(other.search("内容", visibility=ALL)) == [1]  # readers are fine


def test_an_old_format_index_still_being_written_is_not_wiped_under_its_writer(tmp_path):
    import json

    import tantivy

    with KeyedSearchIndex(tmp_path, KEY) as ix:
        ix.upsert(IndexedDocument(1, customer_id=1, text="旧版本的内容"))
    meta = tmp_path / "clientfolio-search.json"
    meta.write_text(json.dumps(json.loads(meta.read_text()) | {"format": 1}))
    old_worker = tantivy.Index.open(str(tmp_path / "index")).writer(heap_size=15_000_000, num_threads=1)
    with pytest.raises(IndexBusy, match="another format"):
        KeyedSearchIndex(tmp_path, KEY).num_docs()
    assert json.loads(meta.read_text())["format"] == 1 and (tmp_path / "index" / "meta.json").exists()
    del old_worker  # the old version's worker stops: now the index is started over
    ix = KeyedSearchIndex(tmp_path, KEY)
    assert ix.num_docs() == 0 and ix.rebuild_requested()


def test_an_index_of_another_format_starts_over_empty_and_asks_for_a_rebuild(tmp_path):
    import json

    with KeyedSearchIndex(tmp_path, KEY) as ix:
        ix.upsert(IndexedDocument(1, customer_id=1, text="旧格式的内容"))
    assert not KeyedSearchIndex(tmp_path, KEY).rebuild_requested()
    meta = tmp_path / "clientfolio-search.json"
    meta.write_text(json.dumps(json.loads(meta.read_text()) | {"format": 1}))  # what an older version wrote
    ix = KeyedSearchIndex(tmp_path, KEY)
    assert ix.rebuild_requested() and ix.num_docs() == 0
    other = KeyedSearchIndex(tmp_path, KEY)
    assert other.rebuild_requested()  # until someone schedules it, every process asks
    ix.rebuild_scheduled()
    assert not ix.rebuild_requested() and not KeyedSearchIndex(tmp_path, KEY).rebuild_requested()
    assert not other.rebuild_requested()  # a process that asked earlier sees it done: no second re-marking
    with ix:
        ix.upsert(IndexedDocument(1, customer_id=1, text="旧格式的内容"))
    assert ids(ix.search("内容", visibility=ALL)) == [1]
    assert not list(tmp_path.glob("*.tmp"))


def test_no_plaintext_in_any_index_file(tmp_path):
    secrets = ["绝密客户欧阳娜娜", "Zyxwvutsrq", "440305198807231234", "龙腾虎跃科技", "Quixotically",
               "机密标签", "C009876"]
    ix = KeyedSearchIndex(tmp_path, KEY)
    ix.upsert(IndexedDocument(7, customer_id=9876, text=f"{secrets[0]}签署了合同 {secrets[1]} 身份证{secrets[2]}",
                              title=f"{secrets[3]}营业执照", tags=(secrets[5],), canonical_name=secrets[4],
                              customer_name=secrets[0], customer_code=secrets[6], category="contract"))
    ix.close()
    assert ix.search("欧阳娜娜", visibility=ALL).total == 1  # it is indexed...
    files = [p for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert len(files) > 3
    blob = b"".join(p.read_bytes() for p in files)
    needles = set()
    for s in secrets:
        for form in (s, s.lower(), s[:4], s[-4:]):
            for enc in ("utf-8", "utf-16-le", "utf-16-be"):
                needles.add(form.encode(enc))
    found = [n for n in needles if n in blob]
    assert found == []  # ...but no word of it is on disk


def test_snippet_highlights_escapes_and_finds_both_scripts():
    text = "前言。" + "无关内容" * 30 + "本公司<b>已办理</b>營業執照副本，请核对 Signed contracts & forms。" + "尾声" * 40
    s = snippet(text, "营业执照 signing", width=60)
    assert "<mark>營業執照</mark>" in s  # a simplified query marks the traditional original
    assert "<mark>Signed</mark>" in s  # stems match
    assert "&lt;b&gt;已办理&lt;/b&gt;" in s and "<b>" not in s
    assert "&amp;" in s
    assert s.startswith("…") and s.endswith("…")
    assert len(s.replace("<mark>", "").replace("</mark>", "")) < 120


def test_snippet_without_a_match_is_the_escaped_start():
    assert snippet("<i>短</i>文本", "不存在") == "&lt;i&gt;短&lt;/i&gt;文本"
    assert snippet("很长" * 100, "x", width=10) == "很长" * 5 + "…"


def test_snippet_of_a_long_text_finds_a_match_far_inside_it():
    from clientfolio.adapters.search_index import SNIPPET_SCAN, snippet

    text = "前言 " * 50_000 + "本合同的违约金为十万元。" + " 附录" * 1000
    assert len(text) > 20 * SNIPPET_SCAN
    shown = snippet(text, "违约金")
    assert "<mark>违约金</mark>" in shown and shown.startswith("…") and shown.endswith("…")
    assert "<mark>" not in snippet(text, "不存在") and snippet(text, "不存在").startswith("前言")
