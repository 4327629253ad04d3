"""Filings to confirm, over HTTP against a real server: the queue of the classifier's pending filings (what the
user may see only, filtered, paged), confirmed by the checked row or by the page, failures reported without
stopping the others; the dashboard's line and the menu's link; who is refused; CSRF."""

from __future__ import annotations

import re

import pytest

from clientfolio.services import auth, customers, documents

from services.test_filing_suggestions import ID_CARD, ingest_papers  # tests/ is on sys.path (rootdir conftest)
from .liveserver import live_server
from .webtools import PASSWORD, Browser

CONTRACT = ("购销合同\n甲方：上海星河贸易有限公司\n乙方：王芳\n违约责任由双方协商解决。"
            "本合同一式两份，自签字之日起生效。\n")
DASHBOARD_LINE = re.compile(r'<strong>(\d+)</strong> <a href="/filing">filings? by the classifier waits? for '
                            r"confirmation</a>")


@pytest.fixture(params=["sqlite"])
def backend(request):  # the services' tests run both backends; one is enough for the pages
    return request.param


@pytest.fixture
def site(staffed, tmp_path):
    v = staffed
    for name in ("vera", "clara", "max", "olga"):
        auth.set_password(vault=v, actor="admin", name=name, new_password=PASSWORD)
    code = customers.add_customer(vault=v, actor="admin", name="王芳", kind="person", tier="key").code
    person = documents.add_document(vault=v, actor="clara", customer_code=code, content=[b"notes of a call\n"],
                                    original_name="call.txt", category="communication", title="Call notes").id
    got = ingest_papers(v, "clara", tmp_path / "scans", code, {"contract.txt": CONTRACT, "card.txt": ID_CARD})
    assert (got["contract.txt"].category, got["card.txt"].category) == ("contract", "other")
    with live_server(v) as base:
        yield v, base, {"code": code, "person": person, "auto": got["contract.txt"].document_id,
                        "waiting": got["card.txt"].document_id}


def browser(base: str, name: str, language: str = "en") -> Browser:
    b = Browser(base, language=language)
    r = b.sign_in(name)
    assert r.status_code == 200 and not r.url.path.startswith("/sign-in"), (r.status_code, r.url)
    return b


def listed(page: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-document="(\d+)"', page)]


def both(ids: dict) -> list[int]:
    return sorted([ids["waiting"], ids["auto"]], reverse=True)  # newest first


def waiting_on_dashboard(page: str) -> int | None:
    found = DASHBOARD_LINE.search(page)
    return int(found.group(1)) if found else None


def test_the_queue_lists_pending_filings_and_filters_them(site):
    v, base, ids = site
    with browser(base, "clara") as b:
        page = b.get("/filing").text
        assert "<title>Filings to confirm · Clientfolio</title>" in page and 'href="/filing"' in page.split("</nav>")[0]
        assert listed(page) == both(ids)  # the one a person filed is not there
        assert "2 filings to confirm" in page and "Call notes" not in page
        row = page.split(f'<tr data-document="{ids["auto"]}"')[1].split("</tr>")[0]
        assert f'href="/documents/{ids["auto"]}"' in row and f'href="/customers/{ids["code"]}"' in row
        assert "Contracts · Formal contract" in row and "100%" in row and "Filed automatically" in row
        row = page.split(f'<tr data-document="{ids["waiting"]}"')[1].split("</tr>")[0]
        assert "Other" in row and "ID documents · Resident ID card" in row and "Waiting" in row
        assert listed(b.get("/filing?filing=auto-filed").text) == [ids["auto"]]
        assert listed(b.get("/filing?filing=waiting").text) == [ids["waiting"]]
        assert listed(b.get("/filing?filing=nonsense").text) == both(ids)  # all
        assert listed(b.get("/filing?offset=50").text) == both(ids)  # past the end: last page
    with browser(base, "olga") as b:  # a clerk limited to her own customers: none of these is hers
        assert listed(b.get("/filing").text) == [] and "Nothing to confirm" in b.get("/filing").text
    with browser(base, "clara", "zh-CN") as b:
        page = b.get("/filing").text
        assert "待确认的归档" in page and "确认所选" in page and "确认本页全部" in page


def test_a_sensitive_pending_filing_is_neither_listed_nor_counted_for_a_clerk(site):
    v, base, ids = site
    documents.edit_document(vault=v, actor="max", document_id=ids["waiting"], sensitive=True)
    with browser(base, "clara") as b:
        assert listed(b.get("/filing").text) == [ids["auto"]] and "1 filing to confirm" in b.get("/filing").text
        assert waiting_on_dashboard(b.get("/").text) == 1
    with browser(base, "max") as b:
        assert listed(b.get("/filing").text) == both(ids)
        assert waiting_on_dashboard(b.get("/").text) == 2


def test_confirm_selected_and_the_whole_page_reporting_what_failed(site):
    v, base, ids = site
    with browser(base, "clara") as b:
        assert waiting_on_dashboard(b.get("/").text) == 2
        assert b.client.post("/filing/confirm", data={"scope": "selected", "ids": [ids["auto"]]}).status_code == 403
        assert documents.show_document(vault=v, actor="admin", document_id=ids["auto"]).suggestion  # no CSRF: kept
        r = b.submit("/filing/confirm", {"scope": "selected"}, from_page="/filing")
        assert r.url.path == "/filing" and "Nothing was selected." in r.text
        r = b.submit("/filing/confirm", {"scope": "selected", "ids": [ids["auto"], 99999, ids["person"]],
                                         "page_ids": [ids["waiting"], ids["auto"]], "filing": "auto-filed"},
                     from_page="/filing")
        assert r.status_code == 200 and str(r.url).endswith("/filing?filing=auto-filed")
        assert "1 filing confirmed. 2 could not be confirmed: not found, already settled" in r.text
        assert listed(r.text) == []  # the auto-filed one is settled; the waiting one is not on this tab
        assert documents.show_document(vault=v, actor="admin", document_id=ids["waiting"]).suggestion
        r = b.submit("/filing/confirm", {"scope": "page", "page_ids": [ids["waiting"]]}, from_page="/filing")
        assert "1 filing confirmed." in r.text and "could not" not in r.text
        assert "Nothing to confirm" in r.text and waiting_on_dashboard(b.get("/").text) is None
    shown = documents.show_document(vault=v, actor="admin", document_id=ids["waiting"])
    assert (shown.category, shown.subtype, shown.sensitivity, shown.suggestion) == \
           ("id_document", "resident_id", "sensitive", None)


def test_a_viewer_is_refused_the_queue_and_shown_no_way_to_it(site):
    v, base, ids = site
    with browser(base, "vera") as b:
        assert b.get("/filing").status_code == 403
        r = b.submit("/filing/confirm", {"scope": "page", "page_ids": [ids["auto"]]}, from_page="/")
        assert r.status_code == 403
        home = b.get("/").text
        assert 'href="/filing"' not in home and waiting_on_dashboard(home) is None
    assert documents.show_document(vault=v, actor="admin", document_id=ids["auto"]).suggestion
