"""A real browser (Debian's chromium, headless, through Playwright) at desktop (1280×800) and phone (390×844) width:
signing in with a second factor; uploading, finding, versioning and restoring documents; what a viewer may not
see; keyboard use. Every test runs at both widths; at phone width no page may scroll sideways."""

from __future__ import annotations

import re

import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)
import pytest
from stdnum.cn import ric

from clientfolio.services import audit, customers, documents, versions

from .browser import (accept_confirmations, assert_fits, chromium, drop_files, enrol_in_page, go_by_menu,  # noqa: F401
                      main_text, open_page, shot, sign_in, sign_out, site, viewport, web_vault)

pytestmark = pytest.mark.slow  # a real browser: about 20 s a test


def resident_id(first17: str) -> str:
    """An 18-character resident ID number whose check character is right (stdnum wants a placeholder for it)."""
    number = first17 + ric.calc_check_digit(first17 + "0")
    assert ric.is_valid(number)
    return number


RID = resident_id("44030419850612371")
PDF_WORD, SCAN_WORD, TEXT_WORD = "zephyrquill", "KESTREL", "marigold"
NOTES_V1 = "Meeting notes\nThe customer asked about marigold bonds.\nNext call in May.\n"
NOTES_V2 = "Meeting notes\nThe customer asked about marigold bonds and gold.\nNext call in June.\n"


def _file(name: str, mime: str, data: bytes) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_manager_enrols_a_second_factor_then_signs_in_with_a_code(open_page, site, viewport):
    page = open_page(viewport)
    page.goto("/")
    assert "/sign-in" in page.url  # pages need a session
    assert_fits(page)
    shot(page, "flow-sign-in")

    page.locator("#f-name").fill("max")
    page.locator("#f-password").fill("not the password")
    page.locator("main button[type=submit]").click()
    assert page.locator("main .error[role=alert]").is_visible()
    assert "/sign-in" in page.url

    page.locator("#f-name").fill("max")
    page.locator("#f-password").fill("Correct-Horse-Battery-42")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account/second-factor$"))  # a manager must enrol before anything else
    assert page.locator("details.menu").count() == 0  # no way around it: no menu yet
    page.goto("/customers")
    page.wait_for_url(re.compile(r"/account/second-factor$"))

    page.locator("form[action='/account/second-factor/start'] button").click()
    assert page.locator("figure.qr svg").is_visible()  # the QR code, drawn inline
    assert page.locator("[data-secret]").is_visible()
    assert_fits(page)
    shot(page, "flow-enrolment")
    codes = enrol_in_page(page, site, "max")
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes), codes
    assert_fits(page)
    page.locator("main a.button.primary").click()  # Continue
    page.wait_for_url(site.base + "/")
    assert page.locator("main h1").is_visible()
    assert page.locator("a.who").inner_text() == "max"
    assert_fits(page)
    shot(page, "flow-dashboard")

    sign_out(page)
    page.goto("/")
    assert "/sign-in" in page.url  # the session is gone

    page.locator("#f-name").fill("max")
    page.locator("#f-password").fill("Correct-Horse-Battery-42")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/sign-in/code"))
    page.locator("#f-code").fill(site.apps["max"].wrong_code())
    page.locator("main button[type=submit]").click()
    assert page.locator("main .error[role=alert]").is_visible()  # a wrong code is refused
    page.locator("#f-code").fill(site.apps["max"].code())
    page.locator("main button[type=submit]").click()
    page.wait_for_url(site.base + "/")
    assert page.locator("a.who").inner_text() == "max"

    actions = [e.action for e in audit.audit_log(vault=site.vault, actor="admin", user="max", limit=200)]
    assert {"auth.totp_enrol", "auth.totp_enable"} <= set(actions), actions


def test_keyboard_reaches_the_skip_link_first_then_the_menu_in_order(open_page, site, viewport):
    page = open_page(viewport)
    sign_in(page, site, "clara")  # a clerk: no second factor needed
    page.wait_for_url(site.base + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.className, document.activeElement.getAttribute('href')]")
    assert focused == ["skip", "#main"], focused
    skip_box = page.locator("a.skip").bounding_box()
    assert skip_box and skip_box["x"] >= 0  # shown on screen while focused
    assert _outline(page) != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    page.goto("/")
    if viewport == "phone":  # the menu is folded: its summary is the next stop, Enter opens it
        order = _tab_through(page, 3)
        assert order[2] == "summary", order
        page.keyboard.press("Enter")
    hrefs = [h for h in _tab_through(page, 12) if h.startswith("/")]
    menu = [h for h in page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")]
    assert menu[:3] == ["/", "/customers", "/search"], menu
    assert any(hrefs[i:i + len(menu)] == menu for i in range(len(hrefs))), (hrefs, menu)  # in the order shown
    page.locator("nav a[href='/customers']").focus()
    assert _outline(page) != "none"  # focus is visible


def _tab_through(page, count: int) -> list[str]:
    """Press Tab `count` times (from where the focus is); the href (or tag name) of each element reached."""
    seen = []
    for _ in range(count):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.getAttribute('href') || "
                                  "document.activeElement.tagName.toLowerCase()"))
    return seen


def _outline(page) -> str:
    return page.evaluate("getComputedStyle(document.activeElement).outlineStyle")


def _upload(page, customer: str, kind: str, files: list[dict], dropped: list[dict] = (),
            photo: dict | None = None) -> dict[str, tuple]:
    """Take a photo, choose files, drop some; upload them all; wait for every row to have its result.
    Returns {file name: (outcome, link in the row, row text)}."""
    page.locator("#f-customer").select_option(customer)
    page.locator("#f-kind").select_option(kind)
    before = page.locator("#upload-results tbody tr").count()
    if photo:
        camera = page.locator("#f-photo")
        assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
        camera.set_input_files(photo)
    page.locator("#f-files").set_input_files(files)
    if dropped:
        drop_files(page, "#drop-zone", list(dropped))
    chosen = [*([photo] if photo else []), *files, *dropped]
    total = len(chosen)
    assert page.locator("#upload-chosen li").all_inner_texts() == [f["name"] for f in chosen]
    page.locator("#upload-start").click()
    page.wait_for_function("""([count]) => {
        const rows = [...document.querySelectorAll('#upload-results tbody tr')];
        return rows.length === count && rows.every(r => !['waiting', 'uploading'].includes(r.dataset.outcome));
    }""", arg=[before + total], timeout=60_000)
    results = {}
    for row in page.locator("#upload-results tbody tr").all()[:total]:  # the newest rows come first
        link = row.locator("td").nth(2).locator("a")
        results[row.locator("td").first.inner_text().strip()] = (
            row.get_attribute("data-outcome"), link.first.get_attribute("href") if link.count() else None,
            row.inner_text())
    return results


def _search(page, words: str):
    page.locator("#f-q").fill(words)
    page.locator("#search-form button[type=submit].primary").click()
    page.wait_for_load_state()
    return page.locator("ol.hits > li")


def _doc_id(href: str) -> int:
    return int(re.fullmatch(r"/documents/(\d+)", href).group(1))


def test_upload_find_version_diff_restore_and_the_audit_trail(open_page, site, viewport):
    v = site.vault
    site.enrol("max")
    lin = customers.add_customer(vault=v, actor="admin", name="林晓梅", kind="person", tier="standard", owner="max",
                                 identifiers={"resident_id": RID})
    customers.add_customer(vault=v, actor="admin", name="Another Customer Ltd", kind="organization", tier="key")
    page = open_page(viewport)
    accept_confirmations(page)
    sign_in(page, site, "max")
    assert page.locator("a.who").inner_text() == "max"

    # Upload: three files chosen, one dropped; a second round gives a duplicate and a refusal.
    go_by_menu(page, "/upload")
    assert_fits(page)
    pdf = _file("consignment.pdf", "application/pdf",
                docs.text_pdf([["Consignment agreement", f"Packing word {PDF_WORD} appears only here."]]))
    scan = _file("manifest-scan.png", "image/png", docs.png(docs.snippet([f"PALLET {SCAN_WORD} 7731"])))
    notes = _file("notes.txt", "text/plain", NOTES_V1.encode())
    dropped = _file("dropped-receipt.txt", "text/plain", b"Receipt for the deposit, paid in cash.\n")
    if viewport == "phone":  # the scan comes from the phone's camera
        results = _upload(page, lin.code, "contract", [pdf, notes], [dropped], photo=scan)
    else:
        results = _upload(page, lin.code, "contract", [pdf, scan, notes], [dropped])
    assert {name: r[0] for name, r in results.items()} == {
        "consignment.pdf": "stored", "manifest-scan.png": "stored", "notes.txt": "stored",
        "dropped-receipt.txt": "stored"}, results
    ids = {name: _doc_id(r[1]) for name, r in results.items()}
    assert re.search(r"4\D+4", page.locator("#upload-status").inner_text())  # "4 of 4 files done"

    again = _upload(page, lin.code, "contract",
                    [_file("notes-again.txt", "text/plain", NOTES_V1.encode()),
                     _file("program.pdf", "application/pdf", docs.elf_binary())])
    assert again["notes-again.txt"][0] == "duplicate" and _doc_id(again["notes-again.txt"][1]) == ids["notes.txt"]
    assert again["program.pdf"][0] == "refused" and "executable" in again["program.pdf"][2], again  # and why
    assert page.locator("#upload-results tbody tr").count() == 6
    assert_fits(page)
    shot(page, "flow-upload-results")
    stored = documents.list_documents(vault=v, actor="admin", customer_code=lin.code)
    assert sorted(d.id for d in stored.items) == sorted(ids.values())

    site.drain()  # the worker's part: read the text (OCR for the scan), index it
    for name, doc_id in ids.items():
        assert documents.show_document(vault=v, actor="max", document_id=doc_id).text_status == "done", name

    # Search: a word in the PDF's text layer, a word only OCR can read, the customer's ID number.
    go_by_menu(page, "/search")
    hits = _search(page, PDF_WORD)
    assert hits.count() == 1
    assert hits.first.locator("a").first.get_attribute("href") == f"/documents/{ids['consignment.pdf']}"
    assert hits.first.locator(".snippet mark").first.inner_text().lower() == PDF_WORD
    assert_fits(page)
    shot(page, "flow-search-results")
    hits = _search(page, SCAN_WORD.lower())
    assert [h.locator("a").first.get_attribute("href") for h in hits.all()] == [
        f"/documents/{ids['manifest-scan.png']}"]
    _search(page, RID)
    assert RID not in page.url
    found = page.locator("section[aria-labelledby=h-customers] a")
    assert found.all_inner_texts() == ["林晓梅"]
    found.first.click()
    page.wait_for_url(re.compile(f"/customers/{lin.code}$"))
    listed = page.locator("section[aria-labelledby=h-documents] a[href^='/documents/']")
    assert sorted(_doc_id(a.get_attribute("href")) for a in listed.all()) == sorted(ids.values())
    assert RID not in main_text(page)  # masked on the customer page
    assert_fits(page)
    shot(page, "flow-customer")

    # The PDF's page: previews rendered on the server.
    page.goto(f"/documents/{ids['consignment.pdf']}")
    image = page.locator("ol.page-list img.page").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert_fits(page)
    shot(page, "flow-document")

    # Open the notes (found by a word inside them), add a version, compare, restore the first.
    go_by_menu(page, "/search")
    hits = _search(page, TEXT_WORD)
    assert hits.count() == 1
    hits.first.locator("a").first.click()
    doc_id = ids["notes.txt"]
    page.wait_for_url(re.compile(f"/documents/{doc_id}$"))
    assert "marigold bonds." in page.locator("pre.doc-text").inner_text()
    page.locator("form.add-version #f-note").fill("Second draft")
    page.locator("form.add-version #f-file").set_input_files(_file("notes-v2.txt", "text/plain", NOTES_V2.encode()))
    page.locator("form.add-version button[type=submit]").click()
    page.wait_for_url(re.compile(f"/documents/{doc_id}#versions$"))
    assert page.locator("main .flash").is_visible()
    assert "and gold" in page.locator("pre.doc-text").inner_text()
    assert page.locator("#versions tbody tr").count() == 2
    assert_fits(page)
    site.drain()

    page.locator(f"a[href='/documents/{doc_id}/diff?a=1&b=2']").click()
    page.wait_for_url(re.compile(f"/documents/{doc_id}/diff"))
    removed = " ".join(page.locator(".diff del").all_inner_texts())
    added = " ".join(page.locator(".diff ins").all_inner_texts())
    assert "May" in removed and "June" in added and "and gold" in added, (removed, added)
    assert page.locator(".diff ins mark").count() >= 1  # the changed characters are marked
    assert_fits(page)
    shot(page, "flow-diff")

    page.goto(f"/documents/{doc_id}")
    page.locator(f"form[action='/documents/{doc_id}/versions/1/restore'] button").click()
    page.wait_for_url(re.compile(f"/documents/{doc_id}#versions$"))
    assert page.locator("#versions tbody tr").count() == 3
    assert "marigold bonds." in page.locator("pre.doc-text").inner_text()  # version 3 has version 1's bytes
    listed = versions.list_versions(vault=v, actor="max", document_id=doc_id)
    by_number = {x.version: x for x in listed}
    assert by_number[3].sha256 == by_number[1].sha256 != by_number[2].sha256

    trail = page.locator("#trail")
    codes = trail.locator("code.code").all_inner_texts()
    for step in ("document.create", "version.add", "document.diff", "version.restore"):
        assert step in codes, (step, codes)
    assert codes.index("version.restore") < codes.index("version.add") < codes.index("document.create")  # newest first
    restore_row = trail.locator("tbody tr", has=page.locator("code", has_text="version.restore"))
    assert "max" in restore_row.inner_text() and re.search(r"\b1\b", restore_row.inner_text())
    assert_fits(page)
    assert not page.js_errors, page.js_errors


def test_a_viewer_sees_no_sensitive_document_nor_a_snippet_of_one(open_page, site, viewport):
    v = site.vault
    site.enrol("max")
    zhao = customers.add_customer(vault=v, actor="admin", name="赵敏", kind="person", tier="key",
                                  identifiers={"resident_id": RID})
    secret = documents.add_document(
        vault=v, actor="admin", customer_code=zhao.code, category="id_document", subtype="resident_id",
        title="赵敏 身份证", original_name="id.txt",
        content=[f"居民身份证 公民身份号码 {RID} quasarvelt 签发机关 深圳市公安局".encode()])
    normal = documents.add_document(
        vault=v, actor="admin", customer_code=zhao.code, category="contract", title="Service contract",
        original_name="contract.txt", content=[b"Service contract. The word quasarvelt is here too.\n"])
    assert secret.sensitivity == "sensitive" and normal.sensitivity == "normal"
    site.drain()

    def visible_documents(page) -> set[int]:
        return {_doc_id(a.get_attribute("href")) for a in page.locator("main a[href^='/documents/']").all()}

    # The manager sees both (so what the viewer misses is really there).
    manager = open_page(viewport)
    sign_in(manager, site, "max")
    manager.goto(f"/customers/{zhao.code}")
    assert visible_documents(manager) >= {secret.id, normal.id}
    go_by_menu(manager, "/search")
    hits = _search(manager, "quasarvelt")
    assert hits.count() == 2

    page = open_page(viewport)
    sign_in(page, site, "vera")
    page.goto(f"/customers/{zhao.code}")
    assert visible_documents(page) == {normal.id}
    assert "赵敏 身份证" not in page.content()
    assert_fits(page)

    go_by_menu(page, "/search")
    hits = _search(page, "quasarvelt")
    assert hits.count() == 1 and visible_documents(page) == {normal.id}
    html = page.content()
    assert "赵敏 身份证" not in html and "公安局" not in html and RID not in html
    assert_fits(page)
    for words in ("深圳市公安局", "签发机关"):  # words only the sensitive document has
        assert _search(page, words).count() == 0, words
        assert "公安局" not in page.locator("main").inner_text()
    _search(page, RID)  # the ID number finds the customer and their documents the viewer may see
    assert page.locator("section[aria-labelledby=h-customers] a").all_inner_texts() == ["赵敏"]
    assert visible_documents(page) == {normal.id} and "公安局" not in page.locator("main").inner_text()

    for path in (f"/documents/{secret.id}", f"/documents/{secret.id}/pages/1.png?v=1&w=800",
                 f"/documents/{secret.id}/diff?a=1&b=1"):
        response = page.goto(path)
        assert response.status in (403, 404), (path, response.status)
        if path.startswith(f"/documents/{secret.id}/pages"):
            continue
        assert page.locator("main h1").is_visible() and "赵敏 身份证" not in page.content()
        assert page.locator("main a[href='/']").is_visible()  # the error page leads back
    assert_fits(page)
    shot(page, "flow-error-viewer")
    api = page.request.get(f"/api/v1/documents/{secret.id}/content")
    assert api.status in (401, 403, 404)
