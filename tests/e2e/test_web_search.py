"""The search page on a real server with the real keyed index and text jobs: a word inside a document, a
customer's ID number, filters, highlighted and escaped snippets, paging by POST, and nothing of a sensitive
document for a user who may not see it. The query never appears in a URL."""

from __future__ import annotations

import re
from datetime import date

import pytest

from clientfolio.services import audit, customers

from .liveserver import live_server
from .test_web_customers import add_doc, signed_in, with_passwords
from .webtools import Browser

RID = "11010519491231002X"
SECRET = "秘密词汇"


@pytest.fixture
def site(staffed):
    v = with_passwords(staffed)
    zhang = customers.add_customer(vault=v, actor="admin", name="张伟", kind="person", tier="key",
                                   identifiers={"resident_id": RID})
    star = customers.add_customer(vault=v, actor="admin", name="上海星河贸易有限公司", kind="organization",
                                  tier="standard", owner="olga")
    ids = {
        "sale": add_doc(v, zhang.code, "购销合同 甲方：上海星河贸易有限公司 乙方：张伟 双方就电子元器件的采购达成一致，"
                                       "违约金为合同总额的百分之五。", subtype="formal", title="元器件购销合同",
                        tags=["采购"]),
        "invoice": add_doc(v, star.code, "Invoice No. 2024-0315 Consulting services; payment due within thirty "
                                         "days. <script>alert(1)</script> penalty clause", category="finance",
                           subtype="invoice", title="March invoice", tags=["consulting"]),
        "id_card": add_doc(v, zhang.code, f"居民身份证 姓名 张伟 公民身份号码 {RID} {SECRET}", category="id_document",
                           subtype="resident_id", title="身份证正面", expires=date(2030, 1, 1)),
    }
    v.jobs.drain()  # the background text jobs: extract, seal, index
    with live_server(v) as base:
        yield v, base, zhang, star, ids


def find(b: Browser, **form):
    r = b.submit("/search", form, from_page="/search")
    assert r.url.path == "/search" and not r.url.query and not r.history  # no redirect, nothing in the URL
    return r


def hits(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<a href="/documents/(\d+)"><strong>', page)]


def results(page: str) -> str:
    return page.split('id="h-results"', 1)[1] if 'id="h-results"' in page else ""


def test_a_word_inside_a_document_is_found_with_a_highlighted_snippet(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "clara") as b:
        assert b.get("/search").status_code == 200
        r = find(b, q="违约金")
        assert hits(r.text) == [ids["sale"]] and "<mark>违约金</mark>" in r.text
        assert "1 document found" in r.text and r.headers["cache-control"] == "no-store"
        for link in re.findall(r'(?:href|action)="([^"]*)"', r.text):
            assert "违约金" not in link  # no link carries the query either
        english = find(b, q="consulting")
        assert hits(english.text) == [ids["invoice"]] and "<mark>" in english.text
        assert "&lt;script&gt;" in english.text or "script" not in results(english.text)
        assert "<script>alert" not in english.text
    searches = audit.audit_log(vault=v, actor="admin", action="search")
    assert searches and all("违约金" not in str(e.details) for e in searches)


def test_a_snippet_is_escaped_and_only_mark_is_markup(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "clara") as b:
        r = find(b, q="penalty")
        [snippet] = re.findall(r'<p class="snippet">(.*?)</p>', r.text, re.S)
        assert "&lt;/script&gt;" in snippet and "<mark>penalty</mark>" in snippet
        assert re.sub(r"</?mark>", "", snippet).count("<") == 0
    # Markup typed into a document stays text, <mark> included: only the service's highlights are marks.
    add_doc(v, star.code, 'forfeit <mark>highlight</mark> <b onmouseover="x">bold</b>', category="other")
    v.jobs.drain()
    with signed_in(base, "clara") as b:
        [snippet] = re.findall(r'<p class="snippet">(.*?)</p>', find(b, q="forfeit").text, re.S)
        assert "&lt;mark&gt;highlight&lt;/mark&gt;" in snippet and "<mark>forfeit</mark>" in snippet
        assert "&lt;b onmouseover=&#34;x&#34;&gt;bold" in snippet and re.sub(r"</?mark>", "", snippet).count("<") == 0


def test_an_id_number_finds_the_customer_first_then_the_documents(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        r = find(b, q="110105 19491231 002X")  # typed in groups, as people do
        customers_part = r.text.split('id="h-customers"')[1].split("</section>")[0]
        assert f'href="/customers/{zhang.code}"' in customers_part and "张伟" in customers_part
        assert r.text.index('id="h-customers"') < r.text.index('id="h-results"')
        assert set(hits(r.text)) == {ids["sale"], ids["id_card"]}  # that customer's documents
        assert RID not in r.text.replace(f'value="110105 19491231 002X"', "")  # the number is not echoed in full
        by_name = find(b, q="星河")
        assert f'href="/customers/{star.code}"' in by_name.text.split('id="h-customers"')[1]


@pytest.mark.parametrize("who", ["vera", "clara"])
def test_a_user_without_the_sensitive_right_sees_no_sensitive_hit_or_snippet(site, who):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        r = find(b, q=SECRET)
        assert hits(r.text) == [ids["id_card"]] and f"<mark>{SECRET}</mark>" in r.text
    with signed_in(base, who) as b:
        r = find(b, q=SECRET)
        assert hits(r.text) == [] and "0 documents found" in r.text
        assert SECRET not in results(r.text) and "身份证正面" not in r.text
        r = find(b, q=RID)  # the number finds the customer (readable) but not the ID card
        assert ids["id_card"] not in hits(r.text) and ids["sale"] in hits(r.text)
        assert "身份证正面" not in r.text and "公民身份号码" not in r.text
        r = find(b, q="", category="id_document")
        assert hits(r.text) == []


def test_own_customers_clerk_finds_only_her_customers_documents(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "olga") as b:
        assert hits(find(b, q="违约金").text) == []
        assert hits(find(b, q="consulting").text) == [ids["invoice"]]
        r = find(b, q="张伟")
        assert 'href="/customers/' + zhang.code not in r.text


def test_filters_narrow_the_results_and_bad_filters_are_explained(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        everything = hits(find(b, q="").text)
        assert set(everything) == set(ids.values())
        assert hits(find(b, q="", category="finance").text) == [ids["invoice"]]
        assert hits(find(b, q="", category="contract", subtype="formal").text) == [ids["sale"]]
        assert hits(find(b, q="", tags="采购").text) == [ids["sale"]]
        assert hits(find(b, q="", customer=star.code).text) == [ids["invoice"]]
        assert hits(find(b, q="", expires_before="2031-01-01").text) == [ids["id_card"]]
        assert hits(find(b, q="", expires_before="2029-01-01").text) == []
        today = date.today().isoformat()
        assert set(hits(find(b, q="", issued_to=today).text)) <= set(everything)
        bad = b.submit("/search", {"q": "x", "issued_from": "yesterday"}, from_page="/search")
        assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text and 'value="x"' in bad.text
        wrong = b.submit("/search", {"q": "", "category": "finance", "subtype": "formal"}, from_page="/search")
        assert wrong.status_code == 422 and 'role="alert"' in wrong.text


@pytest.mark.parametrize("backend", ["sqlite"])  # 55 documents through the text jobs: once is enough
def test_results_are_paged_by_posting_the_form_again(site):
    v, base, zhang, star, ids = site
    for i in range(55):
        add_doc(v, zhang.code, f"会议纪要 第{i}次 里程碑", category="communication", title=f"纪要 {i:02d}")
    v.jobs.drain()
    with signed_in(base, "clara") as b:
        first = find(b, q="里程碑")
        assert len(hits(first.text)) == 50 and "1–50 of 55" in first.text
        assert 'form="search-form" name="offset" value="50"' in first.text
        second = find(b, q="里程碑", offset="50")
        assert len(hits(second.text)) == 5 and not set(hits(first.text)) & set(hits(second.text))
        assert 'name="offset" value="0"' in second.text
