"""The document page over HTTP against a real server: details, page images (private PNGs), edit, versions
(added through the page's multipart form, compared, restored), ID fields, the document's own trail, delete
and undelete; who is refused what; CSRF; hostile file names."""

from __future__ import annotations

import re
import uuid
from html import unescape

import pytest

from clientfolio.services import audit, auth, customers, documents, fields, ingest, versions

from fixtures_docs import docx_bytes, text_pdf, truncated_pdf  # tests/ is on sys.path (rootdir conftest)
from .liveserver import live_server
from .webtools import PASSWORD, Browser, csrf_of

SECRET_TITLE = "Passport-of-Wang-Fang-TOPSECRET"
RID = "11010519491231002X"
FRONT = f"中华人民共和国居民身份证\n姓名 王芳\n性别 女 民族 汉\n出生 1949年12月31日\n住址 北京市朝阳区建国路88号\n公民身份号码 {RID}"
V1_TEXT = "Lease terms\n第二行 旧的租金 1000 元\nline three\n"
V2_TEXT = "Lease terms\n第二行 新的租金 1200 元\nline three\nline four added\n"
_IMG = re.compile(r"<img class=\"page\"[^>]*>", re.S)
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def site(staffed):
    v = staffed
    for name in ("vera", "clara", "max", "audrey", "admin"):
        auth.set_password(vault=v, actor="admin", name=name, new_password=PASSWORD)
    code = customers.add_customer(vault=v, actor="admin", name="王芳", kind="person", tier="key").code
    card = documents.add_document(vault=v, actor="clara", customer_code=code, content=[FRONT.encode()],
                                  original_name="card.txt", category="id_document", subtype="resident_id",
                                  title=SECRET_TITLE)
    note = documents.add_document(vault=v, actor="clara", customer_code=code, content=[V1_TEXT.encode()],
                                  original_name="terms.txt", category="contract", title="Terms text")
    v.jobs.drain()  # the text files are read (the card's ID fields proposed); the PDF below waits (no OCR run)
    pdf = documents.add_document(vault=v, actor="clara", customer_code=code, original_name="lease.pdf",
                                 content=[text_pdf([["Lease page one"], ["Page two"], ["Page three"]])],
                                 category="contract", subtype="formal", title="Lease 2025", tags=["lease"])
    with live_server(v) as base:
        yield v, base, {"code": code, "pdf": pdf.id, "card": card.id, "text": note.id}


def browser(base: str, name: str) -> Browser:
    b = Browser(base)
    r = b.sign_in(name)  # (a manager enrols a second factor on the way: the page of recovery codes)
    assert r.status_code == 200 and not r.url.path.startswith("/sign-in"), (r.status_code, r.url)
    return b


def image_urls(page: str) -> list[str]:
    """Every URL of every page image: src and each srcset candidate."""
    urls = []
    for tag in _IMG.findall(page):
        urls.append(unescape(re.search(r'src="([^"]+)"', tag).group(1)))
        srcset = unescape(re.search(r'srcset="([^"]+)"', tag).group(1))
        urls += [c.strip().split(" ")[0] for c in srcset.split(",")]
    return urls


def multipart(fields: list[tuple[str, str]], file_name: bytes, data: bytes, disposition_extra: bytes = b"",
              after: list[tuple[str, str]] = ()) -> tuple[bytes, dict]:
    """A multipart body built by hand, so a file name can hold what a browser library would refuse."""
    boundary = uuid.uuid4().hex

    def text_parts(pairs):
        return b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
                        .encode() for name, value in pairs)
    body = text_parts(fields)
    body += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'.encode() + file_name + b'"'
             + disposition_extra + b"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n")
    body += text_parts(after) + f"--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def add_version(b: Browser, doc: int, data: bytes, *, name: bytes = b"new.txt", note: str = "",
                csrf: str | None = "from-page", extra: bytes = b"", origin: str | None = None):
    fields_ = []
    if csrf == "from-page":
        csrf = csrf_of(b.get(f"/documents/{doc}").text)
    if csrf is not None:
        fields_.append(("csrf", csrf))
    fields_.append(("note", note))
    body, headers = multipart(fields_, name, data, extra)
    if origin:
        headers["Origin"] = origin
    return b.client.post(f"/documents/{doc}/versions", content=body, headers=headers)


@sqlite_only
def test_the_page_shows_details_and_every_page_as_a_private_png(site):
    v, base, ids = site
    with browser(base, "clara") as b:
        r = b.get(f"/documents/{ids['pdf']}")
        assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
        page = r.text
        canonical = documents.show_document(vault=v, actor="clara", document_id=ids["pdf"]).canonical_name
        for shown in ("Lease 2025", "Formal contract", "lease", ids["code"], "王芳", "Waiting to be read", canonical):
            assert shown in unescape(page), shown
        tags = _IMG.findall(page)
        assert len(tags) == 3
        assert [re.search(r'alt="([^"]+)"', t).group(1) for t in tags] == ["Page 1 of 3", "Page 2 of 3", "Page 3 of 3"]
        assert all('loading="lazy"' in t and "srcset=" in t for t in tags)
        urls = image_urls(page)
        assert len(urls) == 3 * 5 and all("?v=1&w=" in u for u in urls)
        for url in urls[:5] + urls[5::5]:  # every width of page 1, then each other page
            got = b.get(url)
            assert got.status_code == 200 and got.headers["content-type"] == "image/png", url
            assert got.headers["cache-control"] == "private, no-store"
            assert got.content.startswith(b"\x89PNG\r\n\x1a\n")
        assert b.get(f"/documents/{ids['pdf']}/pages/4.png?v=1").status_code == 404  # past the last page
        trail = b.get(f"/documents/{ids['pdf']}").text.split('id="trail"', 1)[1]
        assert trail.count("document.preview") == 1 and "pages 1, 2, 3" in trail and "7 times since" in trail
        download = re.search(r'href="(/api/v1/documents/\d+/content\?version=1)"', page).group(1)
        got = b.get(download)
        assert got.status_code == 200 and got.content.startswith(b"%PDF-")
        assert "attachment" in got.headers["content-disposition"] and got.headers["cache-control"] == "private, no-store"
    previews = audit.audit_log(vault=v, actor="admin", action="document.preview", object_id=str(ids["pdf"]))
    assert {e.details["page"] for e in previews} == {1, 2, 3} and {e.actor for e in previews} == {"clara"}


@sqlite_only
def test_a_text_file_shows_its_words_and_word_files_say_why_there_is_no_picture(site):
    v, base, ids = site
    with browser(base, "clara") as b:
        page = b.get(f"/documents/{ids['text']}").text
        assert "<pre" in page and "旧的租金 1000 元" in page and not _IMG.findall(page)
        code = ids["code"]
        word = documents.add_document(vault=v, actor="clara", customer_code=code, content=[docx_bytes()],
                                      original_name="renewal.docx", category="contract")
        page = b.get(f"/documents/{word.id}").text
        assert "There is no picture of the pages of this kind of file." in page and not _IMG.findall(page)
        broken = documents.add_document(vault=v, actor="clara", customer_code=code, content=[truncated_pdf()],
                                        original_name="broken.pdf", category="contract")
        v.jobs.drain()
        page = b.get(f"/documents/{broken.id}").text
        assert "Reading failed" in page and f'action="/documents/{broken.id}/text/retry"' in page
        r = b.client.post(f"/documents/{broken.id}/text/retry", data={"csrf": csrf_of(page), "version": "1"})
        assert r.status_code == 200 and "The text will be read again shortly." in r.text and "Waiting to be read" in r.text
        assert "version.text_retry" in r.text.split('id="trail"', 1)[1]


def test_a_viewer_is_refused_a_sensitive_document_and_its_pages_without_its_title(site):
    v, base, ids = site
    card = ids["card"]
    with browser(base, "vera") as b:
        for path in (f"/documents/{card}", f"/documents/{card}/pages/1.png?v=1&w=800",
                     f"/documents/{card}/diff?a=1&b=1", f"/api/v1/documents/{card}/content"):
            r = b.get(path)
            assert r.status_code in (403, 404), path
            assert not r.headers["content-type"].startswith("image/")
            assert SECRET_TITLE not in r.text and "王芳" not in r.text and RID not in r.text
        refused = b.get(f"/documents/{card}")
        assert "<title>" in refused.text and "Clientfolio" in refused.text
        assert b.get(f"/documents/{ids['pdf']}").status_code == 200  # a normal document is hers to read
    with browser(base, "max") as b:  # a manager reads it, ID fields included
        page = b.get(f"/documents/{card}").text
        assert SECRET_TITLE in page and RID in page and 'id="fields"' in page
    with browser(base, "audrey") as b:  # an auditor sees the details, never the content
        page = b.get(f"/documents/{card}").text
        assert SECRET_TITLE in page and RID not in page and not _IMG.findall(page) and 'id="fields"' not in page
        assert "may see this document's details but not its content" in unescape(page)
    denied = [e for e in audit.audit_log(vault=v, actor="admin", object_id=str(card)) if e.outcome == "denied"]
    assert "vera" in {e.actor for e in denied} and "audrey" not in {e.actor for e in denied}


@sqlite_only
def test_edit_changes_the_title_and_shows_in_the_trail(site):
    v, base, ids = site
    doc = ids["pdf"]
    with browser(base, "clara") as b:
        r = b.submit(f"/documents/{doc}/edit", {"title": "Lease 2025 (signed)", "kind": "contract/renewal",
                                                 "tags": "lease, signed  2025", "issued_on": "2025-01-02",
                                                 "expires_on": "2026-01-01", "paper_location": "Cabinet 3"},
                     from_page=f"/documents/{doc}")
        assert r.status_code == 200 and r.url.path == f"/documents/{doc}"
        assert "Saved." in r.text and "Lease 2025 (signed)" in r.text and "Renewal contract" in r.text
        trail = r.text.split('id="trail"', 1)[1]
        assert "document.edit" in trail and "clara" in trail
        shown = documents.show_document(vault=v, actor="admin", document_id=doc)
        assert (shown.title, shown.subtype, shown.tags) == ("Lease 2025 (signed)", "renewal", ["2025", "lease", "signed"])
        assert str(shown.expires_on) == "2026-01-01" and shown.paper_location == "Cabinet 3"
        same = b.submit(f"/documents/{doc}/edit", {"title": "Lease 2025 (signed)", "kind": "contract/renewal",
                                                    "tags": "lease signed 2025", "issued_on": "2025-01-02",
                                                    "expires_on": "2026-01-01", "paper_location": "Cabinet 3"},
                        from_page=f"/documents/{doc}")
        assert same.status_code == 200 and "Nothing changed." in same.text
        bad = b.submit(f"/documents/{doc}/edit", {"title": "Changed? no", "kind": "contract/renewal",
                                                   "issued_on": "2025-01-02", "expires_on": "2024-01-01"},
                       from_page=f"/documents/{doc}")
        assert bad.status_code == 422 and "expiry date is before the issued date" in bad.text
        assert 'value="Changed? no"' in bad.text  # what was typed is kept
        bad_date = b.submit(f"/documents/{doc}/edit", {"title": "x", "expires_on": "31/12/2030"},
                            from_page=f"/documents/{doc}")
        assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text
    assert documents.show_document(vault=v, actor="admin", document_id=doc).title == "Lease 2025 (signed)"
    [event] = audit.audit_log(vault=v, actor="admin", action="document.edit", object_id=str(doc))
    assert event.actor == "clara" and set(event.details["fields"]) >= {"title", "category", "tags"}


@sqlite_only
def test_add_a_version_through_the_page_then_compare_and_restore(site):
    v, base, ids = site
    doc = ids["text"]
    with browser(base, "max") as b:
        r = add_version(b, doc, V2_TEXT.encode(), name="terms-v2.txt".encode(), note="rent raised")
        assert r.status_code == 200 and r.url.path == f"/documents/{doc}" and "Version 2 was added." in r.text
        listed = versions.list_versions(vault=v, actor="max", document_id=doc)
        assert [(x.version, x.note, x.original_name) for x in listed] == [(1, None, "terms.txt"),
                                                                          (2, "rent raised", "terms-v2.txt")]
        again = add_version(b, doc, V2_TEXT.encode())
        assert again.status_code == 422 and "identical to version 2" in again.text  # the form, with why
        empty = add_version(b, doc, b"")
        assert empty.status_code == 422 and "the file is empty" in empty.text

        diff = b.get(f"/documents/{doc}/diff?a=1&b=2")
        assert diff.status_code == 200
        text = diff.text
        assert re.search(r"<del>.*<mark>旧</mark>.*</del>", text) and re.search(r"<ins>.*<mark>新</mark>.*</ins>", text)
        assert re.search(r"<ins>line four added</ins>", text) and "line three" in text
        assert "Version 1" in text and "Version 2" in text

        page = b.get(f"/documents/{doc}").text
        token = csrf_of(page)
        assert f'action="/documents/{doc}/versions/1/restore"' in page and "data-confirm=" in page
        r = b.client.post(f"/documents/{doc}/versions/1/restore", data={"csrf": token})
        assert r.status_code == 200 and "Version 1 is current again, as version 3." in r.text
        shown = documents.show_document(vault=v, actor="max", document_id=doc)
        assert shown.version == 3 and shown.sha256 == listed[0].sha256
        assert "旧的租金 1000 元" in r.text  # the page shows the restored words
        trail = r.text.split('id="trail"', 1)[1]
        assert "version.restore" in trail and "version.add" in trail and "document.diff" in trail
        current = b.client.post(f"/documents/{doc}/versions/3/restore", data={"csrf": token})
        assert current.status_code == 422 and "already the current version" in current.text


@sqlite_only
def test_pdf_versions_are_compared_page_by_page(site):
    v, base, ids = site
    doc = ids["pdf"]
    with browser(base, "clara") as b:
        r = add_version(b, doc, text_pdf([["Lease page one, amended"], ["Page two"]]), name=b"lease-v2.pdf")
        assert "Version 2 was added." in r.text
        diff = b.get(f"/documents/{doc}/diff?a=1&b=2").text
        srcs = [unescape(re.search(r' src="([^"]+)"', t).group(1)) for t in _IMG.findall(diff)]
        assert sum("v=1&" in u for u in srcs) == 3 and sum("v=2&" in u for u in srcs) == 2
        assert b.get(srcs[-1]).headers["content-type"] == "image/png"
        assert "Version 2 has no page 3." in diff and "media_type" not in diff


def test_csrf_missing_or_foreign_is_refused_and_nothing_changes(site):
    v, base, ids = site
    doc = ids["pdf"]
    with browser(base, "max") as b:
        token = csrf_of(b.get(f"/documents/{doc}").text)
        assert b.client.post(f"/documents/{doc}/edit", data={"title": "hijacked"}).status_code == 403
        assert b.client.post(f"/documents/{doc}/edit", data={"title": "hijacked", "csrf": "forged"}).status_code == 403
        foreign = b.client.post(f"/documents/{doc}/edit", data={"title": "hijacked", "csrf": token},
                                headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert b.client.post(f"/documents/{doc}/delete", data={}).status_code == 403
        for csrf in (None, "forged"):
            r = add_version(b, doc, b"%PDF-1.4 not really", csrf=csrf)
            assert r.status_code == 403 and "CSRF" in r.text
        body, headers = multipart([("note", "x")], b"late.txt", b"late token", after=[("csrf", token)])
        assert b.client.post(f"/documents/{doc}/versions", content=body, headers=headers).status_code == 403
        r = add_version(b, doc, b"text with an evil origin", origin="https://evil.example")
        assert r.status_code == 403
        assert b.client.post(f"/documents/{doc}/versions/1/restore", data={}).status_code == 403
        assert b.client.post(f"/documents/{doc}/text/retry", data={}).status_code == 403
    shown = documents.show_document(vault=v, actor="admin", document_id=doc)
    assert (shown.title, shown.version, shown.status) == ("Lease 2025", 1, "active")
    assert not audit.audit_log(vault=v, actor="admin", action="document.edit", object_id=str(doc))


@sqlite_only
def test_a_hostile_file_name_is_stored_harmless_and_shown_escaped(site):
    v, base, ids = site
    doc = ids["text"]
    hostile = "../../etc/..\\..\\boot\x07\x1b[31m<img src=x>\u202e.txt".encode()
    extended = b"; filename*=UTF-8''..%2F..%2Fwin%5Cnt%0D%0A%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.txt"
    with browser(base, "clara") as b:
        r = add_version(b, doc, b"version two\n", name=hostile)
        assert r.status_code == 200 and "Version 2 was added." in r.text
        r = add_version(b, doc, b"version three\n", name=b"plain.txt", extra=extended)
        assert r.status_code == 200 and "Version 3 was added." in r.text
        names = [x.original_name for x in versions.list_versions(vault=v, actor="clara", document_id=doc)[1:]]
        assert names == ["boot[31m<img src=x>.txt", "nt<img src=x onerror=alert(1)>.txt"]  # last part, printable
        assert "<img src=x" not in r.text
        assert "boot[31m&lt;img src=x&gt;.txt" in r.text and "nt&lt;img src=x onerror=alert(1)&gt;.txt" in r.text
    assert not list(v.home.parent.rglob("boot*")) and not list(v.home.parent.rglob("nt*"))  # never a path


def test_delete_and_undelete_for_those_allowed(site):
    v, base, ids = site
    doc = ids["pdf"]
    with browser(base, "clara") as b:
        page = b.get(f"/documents/{doc}").text
        assert f'action="/documents/{doc}/delete"' not in page  # a clerk may not delete
        assert b.submit(f"/documents/{doc}/delete", from_page=f"/documents/{doc}").status_code == 403
    with browser(base, "max") as b:
        page = b.get(f"/documents/{doc}").text
        assert f'action="/documents/{doc}/delete"' in page and "data-confirm=" in page
        r = b.client.post(f"/documents/{doc}/delete", data={"csrf": csrf_of(page)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/customers/{ids['code']}"
        assert documents.show_document(vault=v, actor="max", document_id=doc).status == "deleted"
        page = b.get(f"/documents/{doc}").text
        assert "Bring it back" in page and f'action="/documents/{doc}/edit"' not in page
        with browser(base, "clara") as clerk:
            assert clerk.get(f"/documents/{doc}").status_code == 404
        r = b.client.post(f"/documents/{doc}/undelete", data={"csrf": csrf_of(page)})
        assert r.status_code == 200 and "The document is back." in r.text
    assert documents.show_document(vault=v, actor="max", document_id=doc).status == "active"
    events = [(e.actor, e.action, e.outcome) for e in audit.audit_log(vault=v, actor="admin", object_id=str(doc))
              if e.action in ("document.delete", "document.undelete")]
    assert events == [("max", "document.undelete", "ok"), ("max", "document.delete", "ok"),
                      ("clara", "document.delete", "denied")]


@sqlite_only
def test_id_fields_beside_the_record_then_taken_over(site):
    v, base, ids = site
    card = ids["card"]
    with browser(base, "max") as b:
        page = b.get(f"/documents/{card}").text
        section = page.split('id="fields"', 1)[1].split("</section>", 1)[0]
        assert "Resident ID number" in section and RID in section and "To check" in section
        assert 'name="only" value="resident_id"' in section and 'name="only" value="name"' not in section
        r = b.client.post(f"/documents/{card}/fields/confirm", data={"csrf": csrf_of(page), "only": "resident_id"})
        assert r.status_code == 200 and "The fields were taken over." in r.text and "Taken over" in r.text
    shown = customers.show_customer(vault=v, actor="max", code=ids["code"], reveal=True)
    assert [(i.kind, i.value) for i in shown.identifiers] == [("resident_id", RID)]
    assert fields.show_fields(vault=v, actor="max", document_id=card).status == "confirmed"


@sqlite_only
def test_the_classifier_filing_is_shown_and_confirmed_or_applied_on_the_page(site, tmp_path):
    v, base, ids = site
    root = tmp_path / "scans" / ids["code"]
    root.mkdir(parents=True)
    (root / "contract.txt").write_text("购销合同\n甲方：上海星河贸易有限公司\n乙方：王芳\n违约责任由双方协商解决。"
                                       "本合同一式两份，自签字之日起生效。\n", encoding="utf-8")
    (root / "card.txt").write_text("居民身份证 公民身份号码 签发机关 有效期限\n", encoding="utf-8")
    got = {p.name: ingest.ingest_file(v, "clara", root.parent, p) for p in ingest.candidates(root.parent)}
    auto, waiting = got["contract.txt"].document_id, got["card.txt"].document_id
    assert (got["contract.txt"].category, got["card.txt"].category) == ("contract", "other")
    action = f'action="/documents/{auto}/suggestion/accept"'
    with browser(base, "vera") as viewer:  # may not edit: no card, and the route refuses
        page = viewer.get(f"/documents/{auto}").text
        assert "Filed automatically" not in page and action not in page
        assert viewer.submit(f"/documents/{auto}/suggestion/accept", from_page=f"/documents/{auto}").status_code == 403
    with browser(base, "clara") as b:
        page = b.get(f"/documents/{auto}").text
        assert action in page and "Filed automatically as Contracts · Formal contract (confidence 100%)" in page
        assert "Confirm filing" in page and "Apply suggestion" not in page
        assert "suggestion/accept" not in b.get(f"/documents/{ids['text']}").text  # filed by a person
        assert b.client.post(f"/documents/{auto}/suggestion/accept", data={}).status_code == 403  # no CSRF
        r = b.submit(f"/documents/{auto}/suggestion/accept", from_page=f"/documents/{auto}")
        assert r.status_code == 200 and r.url.path == f"/documents/{auto}" and "The filing was confirmed." in r.text
        assert action not in r.text and "Filing confirmed" in r.text.split('id="trail"', 1)[1]
        again = b.submit(f"/documents/{auto}/suggestion/accept", from_page=f"/documents/{auto}")
        assert "There is no suggestion to accept any more." in again.text
    with browser(base, "max") as b:
        page = b.get(f"/documents/{waiting}").text
        assert "Suggested: ID documents · Resident ID card (confidence " in page and "Apply suggestion" in page
        r = b.submit(f"/documents/{waiting}/suggestion/accept", from_page=f"/documents/{waiting}")
        assert r.status_code == 200 and "The filing was confirmed." in r.text
    shown = documents.show_document(vault=v, actor="admin", document_id=waiting)
    assert (shown.category, shown.subtype, shown.sensitivity, shown.suggestion) == \
           ("id_document", "resident_id", "sensitive", None)
    events = [(e.actor, e.details["auto_filed"]) for e in audit.audit_log(
        vault=v, actor="admin", action="document.filing_confirm")]
    assert events == [("max", False), ("clara", True)]
