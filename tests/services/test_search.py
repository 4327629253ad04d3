"""Search through the service: real vaults (SQLite, PostgreSQL), the real keyed tantivy index, real text jobs."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from clientfolio.domain.errors import InvalidInput, PermissionDenied
from clientfolio.services import audit, customers, documents, search

RID = "11010519491231002X"


def add(v, code, text, *, category="contract", subtype=None, title=None, tags=None, expires=None, sensitive=None,
        actor="admin"):
    d = documents.add_document(vault=v, actor=actor, customer_code=code, content=[text.encode()],
                               original_name=f"{uuid.uuid4().hex[:6]}.txt", category=category, subtype=subtype,
                               title=title, tags=tags, expires_on=expires, sensitive=sensitive)
    return d.id


@pytest.fixture
def corpus(staffed):
    v = staffed
    zhang = customers.add_customer(vault=v, actor="admin", name="张伟", kind="person", tier="key",
                                   identifiers={"resident_id": RID})
    star = customers.add_customer(vault=v, actor="admin", name="上海星河贸易有限公司", kind="organization",
                                  tier="standard", owner="olga")
    ids = {
        "sale": add(v, zhang.code, "购销合同\n甲方：上海星河贸易有限公司\n乙方：张伟\n双方就电子元器件的采购达成一致，"
                                   "违约金为合同总额的百分之五。", subtype="formal", title="元器件购销合同",
                    tags=["采购", "2024"]),
        "lease": add(v, zhang.code, "房屋租赁合同 出租方将位于上海市浦东新区的房屋出租给承租方使用，租期两年。",
                     subtype="renewal", title="租赁续约", expires=date(2026, 12, 31)),
        "invoice": add(v, star.code, "Invoice No. 2024-0315\nBilled to Shanghai Star River Trading\n"
                                     "Consulting services rendered in March; payment due within thirty days.",
                       category="finance", subtype="invoice", title="March invoice", tags=["consulting"]),
        "id_card": add(v, zhang.code, f"居民身份证 姓名 张伟 公民身份号码 {RID} 签发机关 北京市公安局朝阳分局 秘密词汇",
                       category="id_document", subtype="resident_id", title="张伟 身份证"),
        "licence": add(v, star.code, "營業執照 統一社會信用代碼 91310000MA1FL4XQ27 名稱 上海星河貿易有限公司",
                       category="id_document", subtype="business_licence", title="营业执照", sensitive=False),
    }
    v.jobs.drain()  # the background text jobs: extract, seal, index
    return v, zhang, star, ids


def found(page):
    return [h.document.id for h in page.hits]


def test_chinese_and_english_words_and_phrases_are_found_and_ranked(corpus):
    v, zhang, star, ids = corpus
    page = search.search(vault=v, actor="admin", query="合同")
    assert set(found(page)) >= {ids["sale"], ids["lease"]} and page.total == len(page.hits)
    assert found(search.search(vault=v, actor="admin", query="违约金")) == [ids["sale"]]
    assert found(search.search(vault=v, actor="admin", query="电子元器件 采购")) == [ids["sale"]]  # AND
    assert found(search.search(vault=v, actor="admin", query='"payment due"')) == [ids["invoice"]]
    assert found(search.search(vault=v, actor="admin", query='"due payment"')) == []  # a phrase keeps order
    assert found(search.search(vault=v, actor="admin", query="consult")) == [ids["invoice"]]  # stemmed
    assert found(search.search(vault=v, actor="admin", query="INVOICE")) == [ids["invoice"]]  # folded
    # Traditional ↔ simplified and full-width forms find each other.
    assert found(search.search(vault=v, actor="admin", query="营业执照")) == [ids["licence"]]
    assert found(search.search(vault=v, actor="admin", query="購銷合同")) == [ids["sale"]]
    assert found(search.search(vault=v, actor="admin", query="ＩＮＶＯＩＣＥ")) == [ids["invoice"]]
    # Metadata counts too: customer name and code, title, tags.
    assert ids["invoice"] in found(search.search(vault=v, actor="admin", query=star.code))
    assert found(search.search(vault=v, actor="admin", query="租赁续约")) == [ids["lease"]]


def test_snippets_highlight_the_match_and_are_escaped(corpus):
    v, _, _, ids = corpus
    [hit] = search.search(vault=v, actor="admin", query="违约金").hits
    assert "<mark>违约金</mark>" in hit.snippet
    add(v, corpus[1].code, "<script>alert(1)</script> 违约金条款另行约定", category="contract")
    v.jobs.drain()
    snippets = [h.snippet for h in search.search(vault=v, actor="admin", query="违约金").hits]
    assert any("&lt;/script&gt;" in s for s in snippets) and not any("script>" in s for s in snippets), snippets


def test_every_filter(corpus):
    v, zhang, star, ids = corpus
    def q(**kw):
        return set(found(search.search(vault=v, actor="admin", **kw)))
    assert q(customer_code=star.code) == {ids["invoice"], ids["licence"]}
    assert q(category="finance") == {ids["invoice"]}
    assert q(category="contract", subtype="renewal") == {ids["lease"]}
    assert q(tags=["采购"]) == {ids["sale"]}
    assert q(tags=["采购", "2024"]) == {ids["sale"]} and q(tags=["采购", "nope"]) == set()
    assert q(sensitivity="sensitive") == {ids["id_card"]}
    assert q(expires_before=date(2027, 1, 1)) == {ids["lease"]}
    assert q(expires_before=date(2026, 12, 31)) == set()
    assert q(query="合同", customer_code=zhang.code, category="contract") == {ids["sale"], ids["lease"]}
    with pytest.raises(InvalidInput):
        search.search(vault=v, actor="admin", subtype="nope")
    with pytest.raises(InvalidInput):
        search.search(vault=v, actor="admin", sensitivity="secret")


def test_an_exact_identifier_finds_its_customer(corpus):
    v, zhang, _, ids = corpus
    page = search.search(vault=v, actor="admin", query=RID)
    assert page.customers == [zhang.code]
    assert set(found(page)) == {ids["sale"], ids["lease"], ids["id_card"]}
    spaced = search.search(vault=v, actor="admin", query="110105 19491231 002x")  # typed with spaces, lower x
    assert spaced.customers == [zhang.code] and set(found(spaced)) == set(found(page))
    assert search.search(vault=v, actor="admin", query="110105194912310021").customers == []  # bad checksum


def test_what_a_user_may_not_read_is_never_found_counted_or_quoted(corpus):
    v, zhang, star, ids = corpus
    # A viewer: the sensitive ID card does not exist for them, not even in the count.
    for query in ("秘密词汇", "身份证", RID, ""):
        page = search.search(vault=v, actor="vera", query=query)
        assert ids["id_card"] not in found(page)
        assert page.total == len(found(search.search(vault=v, actor="vera", query=query, limit=100)))
    assert search.search(vault=v, actor="vera", query="秘密词汇").total == 0
    # The manager finds it, with its snippet.
    [hit] = search.search(vault=v, actor="max", query="秘密词汇").hits
    assert hit.document.id == ids["id_card"] and "秘密词汇" in hit.snippet
    # An auditor sees metadata, never content: no match on the text, no snippet at all.
    assert search.search(vault=v, actor="audrey", query="秘密词汇").total == 0
    assert search.search(vault=v, actor="audrey", query="违约金").total == 0
    meta = search.search(vault=v, actor="audrey", query="身份证")  # in the title
    assert found(meta) == [ids["id_card"]] and meta.hits[0].snippet is None
    # Own-customers-only: olga sees her customer's documents only.
    assert set(found(search.search(vault=v, actor="olga", query=""))) == {ids["invoice"], ids["licence"]}
    assert search.search(vault=v, actor="olga", query="违约金").total == 0
    assert search.search(vault=v, actor="olga", query=RID).customers == []
    # Deleted documents: gone for a clerk, still findable by a manager (who may restore them).
    documents.delete_document(vault=v, actor="max", document_id=ids["sale"])
    assert search.search(vault=v, actor="clara", query="违约金").total == 0
    assert found(search.search(vault=v, actor="max", query="违约金")) == [ids["sale"]]
    # A disabled or unknown user cannot search at all; the denial is recorded.
    from clientfolio.services import users
    users.set_role(vault=v, actor="admin", name="vera", disabled=True)
    with pytest.raises(PermissionDenied):
        search.search(vault=v, actor="vera", query="合同")
    assert any(e.outcome == "denied" for e in audit.audit_log(vault=v, actor="admin", user="vera"))


def test_the_index_follows_edits_and_merges(corpus):
    v, zhang, star, ids = corpus
    documents.edit_document(vault=v, actor="admin", document_id=ids["lease"], title="办公室租约")
    assert found(search.search(vault=v, actor="admin", query="办公室租约")) == [ids["lease"]]
    customers.edit_customer(vault=v, actor="admin", code=star.code, name="星河国际集团")
    assert ids["invoice"] in found(search.search(vault=v, actor="admin", query="星河国际集团"))
    customers.merge_customers(vault=v, actor="admin", source_code=star.code, into_code=zhang.code)
    assert set(found(search.search(vault=v, actor="admin", customer_code=zhang.code))) >= {ids["invoice"]}
    assert search.search(vault=v, actor="olga", query="").total == 0  # no longer her customer's documents


def test_the_search_is_audited_without_the_query(corpus):
    v, *_ = corpus
    search.search(vault=v, actor="clara", query=f"{RID} 违约金")
    [event] = audit.audit_log(vault=v, actor="admin", action="search", limit=1)
    assert event.actor == "clara" and RID not in repr(event.details) and "违约金" not in repr(event.details)


def test_the_index_holds_no_word_in_the_clear(corpus, vault_home):
    v, *_ = corpus
    needles = ["秘密词汇", "违约金", "Consulting", "consult", "星河", RID]
    files = [p for p in (vault_home / "search").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for needle in needles:
            for encoded in (needle.encode(), needle.lower().encode(), needle.encode("utf-16-le")):
                assert encoded not in data, (path, needle)


def test_reindex_rebuilds_from_the_sealed_texts(corpus):
    v, _, _, ids = corpus
    with pytest.raises(PermissionDenied):
        search.reindex(vault=v, actor="max")
    assert search.reindex(vault=v, actor="admin") == len(ids)
    assert found(search.search(vault=v, actor="admin", query="违约金")) == [ids["sale"]]


def test_an_index_left_by_an_older_version_is_rebuilt_on_first_use(corpus, vault_home):
    import json

    from clientfolio import bootstrap

    v, _, _, ids = corpus
    meta = vault_home / "search" / "clientfolio-search.json"
    meta.write_text(json.dumps(json.loads(meta.read_text()) | {"format": 1}))
    v.search.close()  # the old version's worker has stopped (while it writes, the index is left alone)
    upgraded = bootstrap.open_vault(vault_home)  # as after an upgrade: a new process, the same home
    assert found(search.search(vault=upgraded, actor="admin", query="违约金")) == [ids["sale"]]
    assert search.search(vault=upgraded, actor="admin", query="").total == len(ids)
    assert not upgraded.search.rebuild_requested()
