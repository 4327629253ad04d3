"""The customer pages on a real server: the list (search box, filters, sorting, paging), a new customer, a
customer's page (masked identifiers, the audited "show", documents by category, what expires, the timeline),
editing, the periodic review, and what a clerk limited to her own customers sees."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from clientfolio.services import audit, auth, customers, documents

from .liveserver import live_server
from .webtools import PASSWORD, Browser, csrf_of

RID = "11010519491231002X"
MASKED = "110105********002X"


# --- shared by the dashboard and search page tests ------------------------------------------------------------

def add_doc(v, code, text, *, category="contract", subtype=None, title=None, expires=None, sensitive=None,
            tags=None) -> int:
    return documents.add_document(vault=v, actor="admin", customer_code=code, content=[text.encode()],
                                  original_name="scan.txt", category=category, subtype=subtype, title=title,
                                  expires_on=expires, sensitive=sensitive, tags=tags).id


def with_passwords(v):
    """The staff who sign in to these pages (managers and admins enrol a second factor at their first sign-in)."""
    for name in ("admin", "clara", "max", "vera", "olga"):
        auth.set_password(vault=v, actor="admin", name=name, new_password=PASSWORD)
    return v


def signed_in(base, name) -> Browser:
    b = Browser(base)
    assert b.sign_in(name).status_code == 200
    return b


# ---------------------------------------------------------------------------------------------------------------

@pytest.fixture
def site(staffed):
    v = with_passwords(staffed)
    zhang = customers.add_customer(vault=v, actor="admin", name="张伟", kind="person", tier="key", owner="clara",
                                   phone="13800138000", identifiers={"resident_id": RID})
    star = customers.add_customer(vault=v, actor="admin", name="上海星河贸易有限公司", kind="organization",
                                  tier="standard", owner="olga")
    soon = date.today() + timedelta(days=20)
    ids = {
        "formal": add_doc(v, zhang.code, "正式合同 条款", subtype="formal", title="元器件购销合同"),
        "renewal": add_doc(v, zhang.code, "续约 条款", subtype="renewal", title="租赁续约"),
        "invoice": add_doc(v, zhang.code, "Invoice 2024", category="finance", subtype="invoice", title="March invoice"),
        "id_card": add_doc(v, zhang.code, "居民身份证", category="id_document", subtype="resident_id",
                           title="张伟 身份证", expires=soon),
        "licence": add_doc(v, star.code, "营业执照", category="id_document", subtype="business_licence",
                           title="营业执照", sensitive=False, expires=date.today() - timedelta(days=3)),
    }
    with live_server(v) as base:
        yield v, base, zhang, star, ids


def rows(page: str) -> list[str]:
    """The customer codes of the list's rows, in order."""
    return re.findall(r'data-label="Code"><a href="/customers/(C\d+)"', page)


def test_identifiers_are_masked_and_showing_them_is_audited(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        page = b.get(f"/customers/{zhang.code}")
        assert page.status_code == 200 and "张伟" in page.text
        assert MASKED in page.text and RID not in page.text
        assert "Show ID numbers" in page.text
        shown = b.submit(f"/customers/{zhang.code}/reveal", from_page=f"/customers/{zhang.code}")
        assert shown.status_code == 200 and RID in shown.text and str(shown.url).endswith("/reveal")
        assert shown.headers["cache-control"] == "no-store"
        assert RID not in b.get(f"/customers/{zhang.code}").text  # masked again on the next visit
    events = audit.audit_log(vault=v, actor="admin", action="identifier.unmask")
    assert [(e.actor, e.object_id) for e in events] == [("max", zhang.code)]
    with signed_in(base, "clara") as b:  # a clerk may not unmask: no button, and the form is refused
        page = b.get(f"/customers/{zhang.code}").text
        assert MASKED in page and "Show ID numbers" not in page
        refused = b.client.post(f"/customers/{zhang.code}/reveal", data={"csrf": csrf_of(page)})
        assert refused.status_code == 403 and RID not in refused.text
        assert b.client.post(f"/customers/{zhang.code}/reveal", data={}).status_code == 403  # no CSRF field
    denied, allowed = audit.audit_log(vault=v, actor="admin", action="identifier.unmask")  # newest first
    assert (denied.actor, denied.outcome, allowed.actor, allowed.outcome) == ("clara", "denied", "max", "ok")


def test_clerk_edits_a_customer_and_bad_input_is_shown_on_the_form(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "clara") as b:
        page = f"/customers/{zhang.code}"
        r = b.submit(f"{page}/edit", {"name": "张伟明", "kind": "person", "tier": "standard", "owner": "clara",
                                      "phone": "13900139000", "email": "zhang@example.com"}, from_page=page)
        assert r.url.path == page and "Saved." in r.text and "张伟明" in r.text
        after = customers.show_customer(vault=v, actor="admin", code=zhang.code)
        assert (after.name, after.tier, after.phone, after.email) == ("张伟明", "standard", "+8613900139000",
                                                                       "zhang@example.com")
        [event] = audit.audit_log(vault=v, actor="admin", action="customer.edit")
        assert event.actor == "clara" and set(event.details["fields"]) == {"name", "tier", "phone", "email"}
        bad = b.submit(f"{page}/edit", {"name": "张伟明", "kind": "person", "tier": "standard", "owner": "clara",
                                        "phone": "13900139000", "email": "not an address"}, from_page=page)
        assert bad.status_code == 422 and 'role="alert"' in bad.text and "not an address" in bad.text
        same = b.submit(f"{page}/edit", {"name": "张伟明", "kind": "person", "tier": "standard", "owner": "clara",
                                         "phone": "+8613900139000", "email": "zhang@example.com"}, from_page=page)
        assert "Nothing was changed." in same.text
        assert b.client.post(f"{page}/edit", data={"name": "Someone else"}).status_code == 403  # no CSRF
    assert customers.show_customer(vault=v, actor="admin", code=zhang.code).email == "zhang@example.com"
    assert len(audit.audit_log(vault=v, actor="admin", action="customer.edit")) == 1
    with signed_in(base, "vera") as b:  # a viewer has no edit form and may not post one
        page = b.get(f"/customers/{zhang.code}").text
        assert "Edit details" not in page
        r = b.client.post(f"/customers/{zhang.code}/edit", data={"csrf": csrf_of(page), "name": "Hijacked"})
        assert r.status_code == 403
    assert customers.show_customer(vault=v, actor="admin", code=zhang.code).name == "张伟明"


def test_new_customer_form(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "clara") as b:
        assert "New customer" in b.get("/customers").text
        r = b.submit("/customers/new", {"name": "李娜", "kind": "person", "tier": "prospect", "owner": "",
                                        "phone": "", "email": "", "id_passport": "E12345678"},
                     from_page="/customers/new")
        code = r.url.path.rsplit("/", 1)[1]
        assert r.status_code == 200 and "李娜" in r.text and f"Customer {code} added." in r.text
        made = customers.show_customer(vault=v, actor="admin", code=code)
        assert made.owner == "clara" and [i.kind for i in made.identifiers] == ["passport"]
        taken = b.submit("/customers/new", {"name": "王五", "kind": "person", "tier": "key",
                                            "id_resident_id": RID}, from_page="/customers/new")
        assert taken.status_code == 422 and "already belongs" in taken.text and RID not in taken.text
        assert 'value="王五"' in taken.text  # what was typed is kept (except ID numbers)
    with signed_in(base, "vera") as b:
        assert "New customer" not in b.get("/customers").text
        r = b.submit("/customers/new", {"name": "Nobody", "kind": "person", "tier": "key"},
                     from_page="/customers")
        assert r.status_code == 403
    assert customers.list_customers(vault=v, actor="admin", query="Nobody").total == 0


def test_customer_page_groups_documents_shows_what_expires_and_the_timeline(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        page = b.get(f"/customers/{zhang.code}").text
        for heading in ("Formal contract", "Renewal contract", "Invoice", "Resident ID card"):
            assert f"<h3>{heading} " in page
        assert page.index("Resident ID card") < page.index("Formal contract") < page.index("Invoice")
        attention = page.split('id="h-attention"')[1].split("</section>")[0]
        assert f'/documents/{ids["id_card"]}' in attention and "Expires" in attention
        timeline = page.split('id="h-timeline"')[1].split("</section>")[0]
        assert timeline.count("Document filed") == 4 and "Customer added" in timeline
        assert "元器件购销合同" in timeline and "张伟 身份证" in timeline  # events name their documents
    with signed_in(base, "vera") as b:  # a viewer sees neither the sensitive ID card nor any trace of it
        page = b.get(f"/customers/{zhang.code}").text
        assert "身份证" not in page and f'/documents/{ids["id_card"]}' not in page
        assert "Resident ID card" not in page and "Nothing has expired" in page
        timeline = page.split('id="h-timeline"')[1].split("</section>")[0]
        assert timeline.count("Document filed") == 3
        assert "<h2 id=\"h-documents\">Documents <span class=\"count\">(3)</span>" in page


def test_customer_page_says_what_is_missing_as_far_as_the_visitor_may_know(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "max") as b:
        attention = b.get(f"/customers/{star.code}").text.split('id="h-attention"')[1].split("</section>")[0]
        assert "A valid business licence" in attention and "(the last one expired on" in attention
        assert "A formal or renewal contract" in attention
        assert f'/upload?customer={star.code}&amp;kind=contract/formal' in attention
        zhang_page = b.get(f"/customers/{zhang.code}").text.split('id="h-attention"')[1].split("</section>")[0]
        assert "A signature specimen" in zhang_page and "identity document" not in zhang_page
    with signed_in(base, "clara") as b:  # ID documents are sensitive: a clerk is not told about them
        attention = b.get(f"/customers/{star.code}").text.split('id="h-attention"')[1].split("</section>")[0]
        assert "A formal or renewal contract" in attention and "business licence" not in attention


def test_merged_customer_points_to_where_it_went(site):
    v, base, zhang, star, ids = site
    twin = customers.add_customer(vault=v, actor="admin", name="张伟 (dup)", kind="person", tier="key")
    customers.merge_customers(vault=v, actor="admin", source_code=twin.code, into_code=zhang.code)
    with signed_in(base, "clara") as b:
        page = b.get(f"/customers/{twin.code}").text
        assert "was merged into another one" in page and f'href="/customers/{zhang.code}"' in page
        assert "Edit details" not in page
        assert twin.code not in rows(b.get("/customers").text)
        merged = b.get("/customers?status=merged").text
        assert rows(merged) == [twin.code] and f"Merged into {zhang.code}" in merged


def test_mark_reviewed(site):
    v, base, zhang, star, ids = site
    customers.review_customer(vault=v, actor="admin", code=zhang.code, today=date(2001, 1, 1))  # due long ago
    with signed_in(base, "clara") as b:
        page = b.get(f"/customers/{zhang.code}").text
        assert "The periodic review was due on" in page
        r = b.submit(f"/customers/{zhang.code}/reviewed", from_page=f"/customers/{zhang.code}")
        assert "Review recorded." in r.text and "The periodic review was due on" not in r.text
    assert customers.show_customer(vault=v, actor="admin", code=zhang.code).review_due > date.today()
    assert audit.audit_log(vault=v, actor="admin", action="customer.reviewed")[0].actor == "clara"


def test_own_customers_clerk_sees_only_her_customers(site):
    v, base, zhang, star, ids = site
    with signed_in(base, "olga") as b:
        listed = b.get("/customers").text
        assert rows(listed) == [star.code] and "张伟" not in listed
        assert b.get(f"/customers/{zhang.code}").status_code == 403
        assert rows(b.get("/customers?owner=clara").text) == []
        found = b.submit("/customers", {"q": "张伟"}, from_page="/customers")
        assert found.status_code == 200 and rows(found.text) == []
        page = b.get(f"/customers/{star.code}").text
        assert "营业执照" in page and "Expired" in page  # her customer's licence, expired three days ago


@pytest.mark.parametrize("backend", ["sqlite"])  # paging over 60 customers: once is enough
def test_list_search_filters_sorting_and_paging(site):
    v, base, zhang, star, ids = site
    for i in range(58):
        customers.add_customer(vault=v, actor="admin", name=f"Customer {i:02d}", kind="organization" if i % 2 else
                               "person", tier="key" if i < 5 else "standard", owner="max" if i == 7 else None)
    with signed_in(base, "clara") as b:
        first = b.get("/customers").text
        assert len(rows(first)) == 50 and rows(first)[0] == zhang.code and "1–50 of 60" in first
        assert 'rel="next" href="?offset=50"' in first
        second = b.get("/customers?offset=50").text
        assert len(rows(second)) == 10 and not set(rows(first)) & set(rows(second))
        key = b.get("/customers?tier=key").text
        assert len(rows(key)) == 6 and "6 customers" in key  # 张伟 and the first five
        people = b.get("/customers?kind=organization&tier=standard").text
        assert len(rows(people)) == 28 and star.code in rows(people)
        assert len(rows(b.get("/customers?owner=max").text)) == 1
        by_name = rows(b.get("/customers?sort=name").text)
        assert by_name[:2] == ["C000003", "C000004"] and zhang.code not in by_name  # "Customer 00", "…01"
        assert rows(b.get("/customers?sort=-created").text)[0] == "C000060"
        paged = b.get("/customers?tier=standard&offset=50").text
        assert 'href="?tier=standard&amp;offset=0"' in paged  # the pager keeps the filters
        # The search box: a POST whose results are the response; the name never goes into a URL.
        found = b.submit("/customers", {"q": "Customer 1", "sort": "name"}, from_page="/customers")
        assert found.status_code == 200 and found.url.path == "/customers" and not found.url.query
        assert not found.history and len(rows(found.text)) == 10 and "Customer 1" not in str(found.url)
        assert found.headers["cache-control"] == "no-store"
        many = b.submit("/customers", {"q": "Customer"}, from_page="/customers")
        assert len(rows(many.text)) == 50 and 'name="offset" value="50"' in many.text
        more = b.submit("/customers", {"q": "Customer", "offset": "50"}, from_page="/customers")
        assert len(rows(more.text)) == 8
        # Filters alone: the form lands on the plain list, with the filters in the URL.
        r = b.submit("/customers", {"q": "", "tier": "key", "sort": "name"}, from_page="/customers")
        assert r.url.path == "/customers" and r.url.query == b"tier=key&sort=name" and len(rows(r.text)) == 6
        assert b.get("/customers?tier=gold").status_code == 422
        nobody = b.get("/customers?owner=nobody")
        assert nobody.status_code == 422 and "no user named &#39;nobody&#39;" in nobody.text
