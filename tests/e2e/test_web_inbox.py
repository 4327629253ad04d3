"""The inbox pages on a real server: items received by ingestion (or `inbox.receive`) are listed and shown,
filed under a customer, discarded, and downloaded only by those who may open them; a viewer gets 403.

Filing and permissions run on SQLite and PostgreSQL; the rest on SQLite (the services are tested on both)."""

from __future__ import annotations

import re

import pytest

import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)
from clientfolio.entrypoints.web import pages_inbox
from clientfolio.services import audit, auth, customers, documents, inbox, ingest
from clientfolio.services.context import acting_user

from .liveserver import live_server
from .webtools import PASSWORD, Browser, csrf_of

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
LETTER = "a letter from a customer we could not match, asking about the terms of the service"


@pytest.fixture
def site(staffed, tmp_path):
    for name in ("clara", "vera", "max"):
        auth.set_password(vault=staffed, actor="admin", name=name, new_password=PASSWORD)
    code = customers.add_customer(vault=staffed, actor="admin", name="李娜", kind="person", tier="key").code
    with live_server(staffed) as base:
        yield staffed, base, code


def ingested(v, tmp_path, rel: str, text: str) -> int:
    """An unmatched file through the ingestion pipeline: it waits in the inbox."""
    root = tmp_path / "scans"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    result = ingest.ingest_file(v, "admin", root, path)
    assert result.outcome == "inbox", result
    return result.inbox_id


def received_png(v, *, suggestion=None) -> int:
    """A photo put in the inbox the way ingestion does it (inbox.receive inside a unit of work)."""
    with v.uow() as uow:
        blob = v.blobs.put([docs.png()])
        uow.note_blob(blob.blob_id)
        item = inbox.receive(uow, v, acting_user(uow, "admin"), blob, "image/png", original_name="scan 7.png",
                             source="front desk", outcome=None, suggestion=suggestion, reason="no customer matched")
        uow.commit()
        return item.id


def signed_in(base: str, name: str) -> Browser:
    browser = Browser(base)
    browser.sign_in(name)
    return browser


def test_a_clerk_files_an_item_under_a_customer_and_a_viewer_is_refused(site, tmp_path):
    v, base, code = site
    item_id = ingested(v, tmp_path, "unsorted/letter.txt", LETTER)
    with signed_in(base, "clara") as clara:
        listing = clara.get("/inbox")
        assert listing.status_code == 200 and f'href="/inbox/{item_id}"' in listing.text and "letter.txt" in listing.text
        page = clara.get(f"/inbox/{item_id}")
        assert page.status_code == 200 and 'id="inbox-file-form"' in page.text and "unsorted" in page.text
        assert f'href="/inbox/{item_id}/content"' not in page.text  # a clerk may not open received files
        assert 'id="inbox-discard"' not in page.text  # nor set them aside
        assert clara.get(f"/inbox/{item_id}/content").status_code == 403

        csrf = csrf_of(page.text)
        missing = clara.client.post(f"/inbox/{item_id}/file", data={"csrf": csrf, "kind": "communication"})
        assert missing.status_code == 422 and "Choose a customer." in missing.text
        unknown = clara.client.post(f"/inbox/{item_id}/file",
                                    data={"csrf": csrf, "customer": "C999999", "kind": "communication"})
        assert unknown.status_code == 422 and "no customer with code" in unknown.text
        assert clara.client.post(f"/inbox/{item_id}/file",
                                 data={"customer": code, "kind": "communication"}).status_code == 403  # no CSRF
        assert inbox.show_item(vault=v, actor="admin", item_id=item_id).status == "waiting"

        filed = clara.client.post(f"/inbox/{item_id}/file", data={
            "csrf": csrf, "customer": code.lower(), "kind": "communication", "title": "来信", "tags": "letter"})
        assert filed.status_code == 200 and re.fullmatch(r"/documents/\d+", filed.url.path)
        document_id = int(filed.url.path.rsplit("/", 1)[1])
        assert "Filed from the inbox." in filed.text

        assert f'href="/inbox/{item_id}"' not in clara.get("/inbox").text  # no longer waiting
        assert f'href="/inbox/{item_id}"' in clara.get("/inbox?status=filed").text
    item = inbox.show_item(vault=v, actor="admin", item_id=item_id)
    assert (item.status, item.document_id) == ("filed", document_id)
    doc = documents.show_document(vault=v, actor="admin", document_id=document_id)
    assert (doc.customer, doc.category, doc.title, doc.tags) == (code, "communication", "来信", ["letter"])
    assert [e.actor for e in audit.audit_log(vault=v, actor="admin", action="inbox.file")] == ["clara"]

    other = ingested(v, tmp_path, "unsorted/second.txt", LETTER + " and a second page")
    with signed_in(base, "vera") as vera:  # a viewer may not use the inbox at all
        assert vera.get("/inbox").status_code == 403
        assert vera.get(f"/inbox/{other}").status_code == 403
        assert vera.get(f"/inbox/{other}/content").status_code == 403
        csrf = csrf_of(vera.get("/account").text)
        assert vera.client.post(f"/inbox/{other}/file", data={"csrf": csrf, "customer": code,
                                                              "kind": "communication"}).status_code == 403
        assert vera.client.post(f"/inbox/{other}/discard", data={"csrf": csrf}).status_code == 403
        assert "/inbox" not in vera.get("/").text  # the menu does not offer it
    assert inbox.show_item(vault=v, actor="admin", item_id=other).status == "waiting"


@sqlite_only
def test_a_manager_sees_the_file_downloads_it_and_discards_an_item(site, tmp_path):
    v, base, code = site
    photo = received_png(v, suggestion={"category": "id_document", "subtype": "resident_id", "confidence": 0.62,
                                        "source": "rules", "tags": ["身份证"]})
    letter = ingested(v, tmp_path, "misc/letter.txt", LETTER)
    with signed_in(base, "max") as max_:
        listing = max_.get("/inbox")
        assert "scan 7.png" in listing.text and "62% sure" in listing.text  # the suggested kind, in the list
        page = max_.get(f"/inbox/{photo}")
        assert f'<img class="inbox-preview" id="inbox-preview" src="/inbox/{photo}/content"' in page.text
        assert 'value="id_document/resident_id" selected' in page.text  # filing defaults to the suggestion
        assert 'value="身份证"' in page.text and "front desk" in page.text
        got = max_.get(f"/inbox/{photo}/content")
        assert got.status_code == 200 and got.content == docs.png()
        assert got.headers["content-type"] == "image/png" and got.headers["cache-control"] == "private, no-store"
        assert got.headers["content-disposition"].startswith("attachment;") and "scan%207.png" in got.headers["content-disposition"]
        assert [e.actor for e in audit.audit_log(vault=v, actor="admin", action="inbox.read")] == ["max"]

        text_page = max_.get(f"/inbox/{letter}")
        assert 'id="inbox-preview"' not in text_page.text and f'href="/inbox/{letter}/content"' in text_page.text
        assert 'data-confirm=' in text_page.text
        gone = max_.client.post(f"/inbox/{letter}/discard", data={"csrf": csrf_of(text_page.text)})
        assert gone.status_code == 200 and gone.url.path == "/inbox" and "Discarded" in gone.text
        assert f'href="/inbox/{letter}"' not in gone.text
        assert f'href="/inbox/{letter}"' in max_.get("/inbox?status=discarded").text
        discarded = max_.get(f"/inbox/{letter}")
        assert 'id="inbox-file-form"' not in discarded.text  # nothing more to do with it

        filed = max_.client.post(f"/inbox/{photo}/file", data={
            "csrf": csrf_of(page.text), "customer": code, "kind": "id_document/resident_id", "tags": "身份证"})
        document_id = int(filed.url.path.rsplit("/", 1)[1])
    assert inbox.show_item(vault=v, actor="admin", item_id=letter).status == "discarded"
    assert [i.id for i in inbox.list_inbox(vault=v, actor="admin").items] == []
    doc = documents.show_document(vault=v, actor="admin", document_id=document_id)
    assert (doc.category, doc.subtype, doc.sensitivity) == ("id_document", "resident_id", "sensitive")


@sqlite_only
def test_the_list_pages_through_many_items(site, tmp_path, monkeypatch):
    v, base, code = site
    monkeypatch.setattr(pages_inbox, "PAGE_SIZE", 2)
    ids = [ingested(v, tmp_path, f"box/{n}.txt", f"{LETTER}, number {n}") for n in range(3)]
    with signed_in(base, "clara") as clara:
        first = clara.get("/inbox")
        shown = [int(i) for i in re.findall(r'<tr data-item="(\d+)"', first.text)]
        assert len(shown) == 2 and 'rel="next"' in first.text and "1–2 of 3" in first.text
        second = clara.get("/inbox?offset=2")
        more = [int(i) for i in re.findall(r'<tr data-item="(\d+)"', second.text)]
        assert sorted(shown + more) == sorted(ids) and 'rel="prev"' in second.text
        assert clara.get("/inbox?status=filed").text.count("<tr data-item") == 0
