"""The upload page on a real server, driven like a browser without JavaScript (one multipart form with many
files) and like upload.js (one file per request, answered with its result row): per-file outcomes, what the
vault holds afterwards, CSRF, size limits, and the suggestion for a file filed automatically.

The main flow runs on SQLite and PostgreSQL; the rest on SQLite (the services are tested on both)."""

from __future__ import annotations

import html
import os
import re
import tracemalloc

import pytest

import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)
from clientfolio.entrypoints.web import pages_upload
from clientfolio.services import audit, auth, customers, documents

from .liveserver import live_server
from .webtools import PASSWORD, Browser, csrf_of

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
BOUNDARY = "cf-web-boundary-3"
ROW = re.compile(r'<tr data-outcome="(\w+)">\s*<td[^>]*>([^<]*)</td>.*?<td data-label="[^"]*">(.*?)</td>\s*</tr>', re.S)


@pytest.fixture
def site(staffed):
    for name in ("clara", "vera", "max"):
        auth.set_password(vault=staffed, actor="admin", name=name, new_password=PASSWORD)
    code = customers.add_customer(vault=staffed, actor="admin", name="王芳", kind="person", tier="key").code
    with live_server(staffed) as base:
        yield staffed, base, code


@pytest.fixture
def clara(site):
    with Browser(site[1]) as browser:
        browser.sign_in("clara")
        yield browser


def rows(text: str) -> list[tuple[str, str, str]]:
    """(outcome, file name, details as text) of each result row."""
    return [(o, html.unescape(n.strip()), " ".join(html.unescape(re.sub(r"<[^>]+>", " ", d)).split()))
            for o, n, d in ROW.findall(text)]


def post_files(browser: Browser, files: list[tuple[str, bytes, str]], *, path: str = "/upload",
               csrf: bool | str = True, headers=None, **fields):
    """The form as a browser sends it: the short fields first, then every file in a part named `file`.
    `csrf`: the page's token (True), none (False), or this value."""
    data = dict(fields)
    if csrf:
        data = {"csrf": csrf if isinstance(csrf, str) else csrf_of(browser.get("/upload").text), **data}
    return browser.client.post(path, data=data, files=[("file", f) for f in files], headers=headers or {})


def stored(v, code):
    return documents.list_documents(vault=v, actor="admin", customer_code=code, limit=100).items


def test_many_files_in_one_form_each_get_their_own_result(site, clara):
    v, base, code = site
    pdf, png = docs.text_pdf([docs.CONTRACT_LINES]), docs.png()
    page = clara.get("/upload")
    assert page.status_code == 200
    for marker in ('id="drop-zone"', 'id="f-files"', 'multiple', 'accept="image/*" capture="environment"',
                   'id="f-customer"', f'value="{code}"', 'id="f-kind"', 'value="contract/formal"',
                   'id="upload-results"', 'role="status"', 'src="/static/upload.js"'):
        assert marker in page.text, marker
    assert "<script>" not in page.text and " style=" not in page.text  # the CSP allows neither

    r = post_files(clara, [("合同.pdf", pdf, "application/pdf"), ("photo.png", png, "image/png"),
                           ("setup.pdf", docs.windows_exe(), "application/pdf"),
                           ("合同 copy.pdf", pdf, "application/pdf")],
                   customer=code, kind="contract/formal", title="", tags="2024, 签约", expires_on="2030-01-31")
    assert r.status_code == 200, r.text
    got = rows(r.text)
    assert [(o, n) for o, n, _ in got] == [("stored", "合同.pdf"), ("stored", "photo.png"),
                                           ("refused", "setup.pdf"), ("duplicate", "合同 copy.pdf")]
    assert "not a document" in got[2][2]  # the reason, as the service gave it
    assert "2 of 4 files stored" in r.text

    docs_now = {d.media_type: d for d in stored(v, code)}
    assert set(docs_now) == {"application/pdf", "image/png"}  # nothing of the program, no second copy
    first = docs_now["application/pdf"]
    assert (first.category, first.subtype, first.tags) == ("contract", "formal", ["2024", "签约"])
    assert first.expires_on.isoformat() == "2030-01-31" and first.title == "正式合同"
    assert f'href="/documents/{first.id}"' in r.text  # the stored one and the duplicate both point at it
    assert re.search(rf'<tr data-outcome="duplicate">.*?href="/documents/{first.id}"', r.text, re.S)
    created = audit.audit_log(vault=v, actor="admin", action="document.create")
    assert sorted(e.actor for e in created) == ["clara", "clara"]


@sqlite_only
def test_the_form_is_checked_before_any_file_is_stored(site, clara):
    v, base, code = site
    pdf = docs.text_pdf([["one page"]])
    blobs = sorted(v.blobs.ids())
    no_csrf = post_files(clara, [("a.pdf", pdf, "application/pdf")], csrf=False, customer=code, kind="contract")
    forged = post_files(clara, [("a.pdf", pdf, "application/pdf")], csrf="forged", customer=code, kind="contract")
    other_site = post_files(clara, [("a.pdf", pdf, "application/pdf")], customer=code, kind="contract",
                            headers={"Origin": "https://evil.example"})
    assert no_csrf.status_code == forged.status_code == other_site.status_code == 403
    no_customer = post_files(clara, [("a.pdf", pdf, "application/pdf")], customer="", kind="contract")
    assert no_customer.status_code == 422 and "Choose a customer." in no_customer.text
    unknown = post_files(clara, [("a.pdf", pdf, "application/pdf")], customer="C999999", kind="contract")
    assert unknown.status_code == 422 and "no customer with code" in unknown.text
    bad_kind = post_files(clara, [("a.pdf", pdf, "application/pdf")], customer=code, kind="contract/nonsense")
    assert bad_kind.status_code == 422 and "unknown subtype" in bad_kind.text
    no_files = post_files(clara, [("", b"", "application/octet-stream")] * 2, customer=code, kind="contract")
    assert no_files.status_code == 422 and "Choose at least one file." in no_files.text  # empty inputs: no rows
    assert stored(v, code) == [] and sorted(v.blobs.ids()) == blobs

    with Browser(base) as vera:  # a viewer: no form, and a post is refused before a byte is stored
        vera.sign_in("vera")
        assert 'id="upload-not-allowed"' in vera.get("/upload").text
        r = vera.client.post("/upload", data={"csrf": csrf_of(vera.get("/account").text), "customer": code},
                             files=[("file", ("a.pdf", pdf, "application/pdf"))])
        assert r.status_code == 403
    assert stored(v, code) == [] and sorted(v.blobs.ids()) == blobs
    assert any(e.actor == "vera" and e.outcome == "denied"
               for e in audit.audit_log(vault=v, actor="admin", action="document.create"))


@sqlite_only
def test_a_file_over_the_limit_is_refused_and_the_others_still_stored(site, clara):
    v, base, code = site
    v.max_upload_bytes = 4000  # the live server serves this very vault object
    big = docs.text_pdf([[f"line {n} of a long contract" for n in range(60)] for _ in range(8)])
    small = b"%PDF-1.4\n" + b"% small enough\n" * 20
    assert len(big) > 4000 > len(small)
    blobs = sorted(v.blobs.ids())
    r = post_files(clara, [("big.pdf", big, "application/pdf"), ("small.pdf", small, "application/pdf")],
                   customer=code, kind="contract")
    got = rows(r.text)
    assert [(o, n) for o, n, _ in got] == [("too_large", "big.pdf"), ("stored", "small.pdf")]
    assert "larger than the limit of 4,000 bytes" in got[0][2]
    [doc] = stored(v, code)
    assert doc.size == len(small)
    assert len(list(v.blobs.ids())) == len(blobs) + 1 and not list(v.home.rglob("*.part"))

    declared = clara.client.post("/upload", content=b"x" * (50 * (4000 + 64 * 1024) + 1),
                                 headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert declared.status_code == 413
    assert len(stored(v, code)) == 1


@sqlite_only
def test_one_file_per_request_returns_its_row_and_the_suggestion_can_be_applied(site, clara):
    v, base, code = site
    csrf = csrf_of(clara.get("/upload").text)
    pdf = docs.text_pdf([["Service agreement 2024-017", "Party A: Harbor Trading Ltd", "Party B: Wang Fang",
                          "The parties hereby sign this contract"]])
    r = clara.client.post("/upload?rows=1", data={"csrf": csrf, "customer": code, "kind": ""},
                          files=[("file", ("contract.pdf", pdf, "application/pdf"))])
    assert r.status_code == 200 and r.text.strip().startswith("<tr")  # only the row: upload.js puts it in place
    [(outcome, name, details)] = rows(r.text)
    assert (outcome, name) == ("stored", "contract.pdf") and "The text is being read" in details
    [doc] = stored(v, code)
    assert doc.category == "other"  # automatic: filed under "other" until a person applies the suggestion
    assert f'data-suggestion-url="/upload/suggestion/{doc.id}"' in r.text

    v.jobs.drain()  # the worker reads the text
    box = clara.get(f"/upload/suggestion/{doc.id}?fragment=1")
    assert box.status_code == 200 and "data-suggestion-url" not in box.text  # nothing more to wait for
    kind = re.search(r'name="kind" value="([^"]+)"', box.text)
    assert kind and "Suggested:" in box.text, box.text
    assert audit.audit_log(vault=v, actor="admin", action="classifier.suggest")
    full = clara.get(f"/upload/suggestion/{doc.id}")  # the same without JavaScript, as a page
    assert full.status_code == 200 and "<h1>" in full.text

    applied = clara.client.post(f"/upload/suggestion/{doc.id}?fragment=1",
                                data={"csrf": csrf, "kind": kind.group(1), "tags": ""})
    assert applied.status_code == 200 and "Filed as suggested" in applied.text
    now = documents.show_document(vault=v, actor="admin", document_id=doc.id)
    assert "/".join(filter(None, (now.category, now.subtype))) == kind.group(1) != "other"

    refused = clara.client.post("/upload?rows=1", data={"csrf": csrf, "customer": code},
                                files=[("file", ("empty.pdf", b"", "application/pdf"))])
    [(outcome, _, details)] = rows(refused.text)
    assert outcome == "refused" and "empty" in details


@sqlite_only
def test_customer_search_is_a_post_with_the_csrf_token(site, clara, monkeypatch):
    v, base, code = site
    assert 'data-customer-search' not in clara.get("/upload").text  # few customers: a plain <select>
    monkeypatch.setattr(pages_upload, "CHOICES", 0)  # as in a vault with more customers than a list can hold
    page = clara.get(f"/upload?customer={code}")
    assert f'<input id="f-customer" name="customer" type="text" value="{code}"' in page.text
    assert 'data-customer-search="/upload/customers"' in page.text
    csrf = csrf_of(page.text)
    found = clara.client.post("/upload/customers", data={"csrf": csrf, "q": "王"})
    assert found.status_code == 200 and found.json() == [{"code": code, "name": "王芳"}]
    assert clara.client.post("/upload/customers", data={"csrf": csrf, "q": code.lower()}).json()[0]["code"] == code
    assert clara.client.post("/upload/customers", data={"csrf": csrf, "q": "nobody"}).json() == []
    assert clara.client.post("/upload/customers", data={"q": "王"}).status_code == 403


@sqlite_only
def test_files_stream_into_the_vault_without_being_held_in_memory(site, clara):
    v, base, code = site
    size = 32 * 1024 * 1024

    def body():  # a browser's multipart form, produced as it is sent
        yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
               f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"customer\"\r\n\r\n{code}\r\n"
               f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\ncontract\r\n"
               f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
               "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()
        for _ in range(size // (1 << 20)):
            yield os.urandom(1 << 20)
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    csrf = csrf_of(clara.get("/upload").text)
    tracemalloc.start()
    r = clara.client.post("/upload", content=body(),
                          headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.status_code == 200 and [o for o, _, _ in rows(r.text)] == ["stored"]
    assert peak < size // 2, f"an upload of {size:,} bytes peaked at {peak:,} bytes traced"
    [doc] = stored(v, code)
    assert doc.size == size + len(b"%PDF-1.7\n")
