"""The dashboard on a real server: expiring documents in the right bucket, expired ones, the inbox, reviews due
and recent activity, and no trace of a sensitive document for a user who may not see it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from clientfolio.services import customers, ingest
from clientfolio.services.context import vault_today

from .liveserver import live_server
from .test_web_customers import add_doc, signed_in, with_passwords

def add(v, code, title, *, expires, **kw) -> int:
    return add_doc(v, code, title, title=title, expires=expires, **kw)


@pytest.fixture
def site(staffed):
    v = with_passwords(staffed)
    zhang = customers.add_customer(vault=v, actor="admin", name="张伟", kind="person", tier="key", owner="clara")
    star = customers.add_customer(vault=v, actor="admin", name="上海星河贸易有限公司", kind="organization",
                                  tier="standard", owner="olga")
    today = vault_today(v)

    def days(n):
        return today + timedelta(days=n)

    ids = {
        "d10": add(v, zhang.code, "租赁合同 10天", expires=days(10)),
        "d45": add(v, zhang.code, "服务合同 45天", expires=days(45)),
        "d75": add(v, star.code, "营业执照 75天", expires=days(75), category="id_document",
                       subtype="business_licence", sensitive=False),
        "gone": add(v, star.code, "旧合同 已过期", expires=days(-5)),
        "far": add(v, zhang.code, "长期合同 200天", expires=days(200)),
        "secret": add(v, zhang.code, "张伟 身份证 20天", expires=days(20), category="id_document",
                          subtype="resident_id"),  # sensitive by default
    }
    customers.review_customer(vault=v, actor="admin", code=zhang.code, today=date(2001, 1, 1))  # due long ago
    with live_server(v) as base:
        yield v, base, zhang, star, ids


def section(page: str, heading_id: str) -> str:
    start = page.index(f'aria-labelledby="{heading_id}"')
    return page[start:page.index("</section>", start)]


def links(part: str) -> set[int]:
    return {int(x) for x in re.findall(r'href="/documents/(\d+)"', part)}


def count(part: str) -> int:
    return int(re.search(r'<span class="count">\((\d+)\)</span>', part).group(1))


def test_each_expiry_lands_in_its_bucket(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        page = b.get("/").text
        assert links(section(page, "h-30")) == {ids["d10"], ids["secret"]} and count(section(page, "h-30")) == 2
        assert links(section(page, "h-60")) == {ids["d45"]}
        assert links(section(page, "h-90")) == {ids["d75"]}
        assert links(section(page, "h-expired")) == {ids["gone"]}
        assert ids["far"] not in links("".join(section(page, h) for h in ("h-30", "h-60", "h-90", "h-expired")))
        thirty = section(page, "h-30")
        assert f'href="/customers/{zhang.code}"' in thirty and "Resident ID card" in thirty
        reviews = section(page, "h-reviews")
        assert f'href="/customers/{zhang.code}"' in reviews and count(reviews) == 1
        activity = section(page, "h-activity")
        assert "Document filed" in activity and "Review recorded" in activity


def test_a_viewer_sees_no_sensitive_document_in_any_list_or_count(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        manager = b.get("/").text
    with signed_in(base, "vera") as b:
        page = b.get("/").text
    assert "身份证" in manager and "身份证" not in page
    assert ids["secret"] not in links(page)
    assert links(section(page, "h-30")) == {ids["d10"]} and count(section(page, "h-30")) == 1
    expiring = re.search(r"<strong>(\d+)</strong> expiring within 90 days", page).group(1)
    assert expiring == "3"  # d10, d45, d75: not the ID card
    assert re.search(r"<strong>(\d+)</strong> documents", page).group(1) == "5"
    assert "/inbox" not in section(page, "h-activity") and 'href="/inbox"' not in page  # no inbox for a viewer
    activity = section(page, "h-activity")
    assert f'/documents/{ids["secret"]}' not in activity


def test_inbox_count_for_those_who_file_and_own_customers_only_for_olga(site, tmp_path):
    v, base, zhang, star, ids = site
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "unknown.txt").write_text("A note about someone we cannot tell from this text alone.\n")
    got = ingest.ingest_file(v, "clara", tmp_path / "scans", tmp_path / "scans" / "unknown.txt")
    assert got.outcome == "inbox"
    with signed_in(base, "clara") as b:
        page = b.get("/").text
        assert '<strong>1</strong> <a href="/inbox">waiting in the inbox</a>' in page
    with signed_in(base, "olga") as b:  # her own customer only: star's licence and old contract
        page = b.get("/").text
        assert links(page) == {ids["d75"], ids["gone"]} and "张伟" not in page
        assert 'href="/inbox"' not in page.split("<main", 1)[1]  # an own-customers-only clerk has no inbox
        assert count(section(page, "h-reviews")) == 0
