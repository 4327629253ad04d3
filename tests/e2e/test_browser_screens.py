"""Screenshots of every main page, in English and Simplified Chinese, at desktop (1280×800) and phone (390×844)
width, saved under test-artifacts/screenshots/ (a CI artifact). Each page is also checked on the way: it renders
(no error page), no script error, the language is the one asked for, nothing scrolls sideways on a phone."""

from __future__ import annotations

import re

import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)
import pytest

from clientfolio.services import demo, documents

from .browser import (assert_fits, chromium, go_by_menu, open_page, shot, sign_in, site, viewport,  # noqa: F401
                      web_vault)

pytestmark = pytest.mark.slow  # a real browser: about 20 s a test

LOCALES = {"en": "en-US", "zh": "zh-CN"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(params=sorted(LOCALES))
def language(request) -> str:
    return request.param


def test_screenshots_of_the_main_pages(open_page, site, viewport, language):
    v = site.vault
    made = demo.load_demo(vault=v, actor="admin")
    zhang = made["customers"][0]
    scan = documents.add_document(
        vault=v, actor="admin", customer_code=zhang, category="contract", subtype="formal", title="服务合同 扫描件",
        original_name="contract-scan.pdf",
        content=[docs.text_pdf([["Service contract", "Signed by both parties on 1 March 2025."],
                                ["Annex A", "Fees and payment terms."]])])
    site.drain()
    site.enrol("admin")
    versioned = next(d for d in documents.list_documents(vault=v, actor="admin", customer_code=zhang).items
                     if d.version == 2)
    suffix = "" if language == "en" else "-zh"
    page = open_page(viewport, locale=LOCALES[language])
    chinese = language == "zh"

    def check(name: str, heading: str | None = None):
        assert page.locator("html").get_attribute("lang").startswith("zh" if chinese else "en")
        if heading:
            assert heading in page.locator("main h1").first.inner_text(), page.locator("main h1").first.inner_text()
        assert not page.locator("main .error[role=alert]").count(), page.locator("main").inner_text()[:300]
        assert_fits(page)
        shot(page, name + suffix)

    page.goto("/sign-in")
    check("sign-in")
    sign_in(page, site, "admin")
    page.wait_for_url(site.base + "/")
    check("dashboard")

    go_by_menu(page, "/customers")
    assert page.locator("table.customers tbody tr").count() == 3
    check("customers")
    page.locator(f"a[href='/customers/{zhang}']").first.click()
    page.wait_for_url(re.compile(f"/customers/{zhang}$"))
    check("customer", "张伟")

    page.goto(f"/documents/{scan.id}")
    for image in page.locator("ol.page-list img.page").all():
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert page.locator("ol.page-list img.page").count() == 2
    page.evaluate("window.scrollTo(0, 0)")
    check("document", "服务合同 扫描件")
    page.goto(f"/documents/{versioned.id}/diff?a=1&b=2")
    assert page.locator(".diff ins").count() >= 1
    check("diff")

    go_by_menu(page, "/upload")
    page.locator("#f-customer").select_option(zhang)
    page.locator("#f-files").set_input_files([
        {"name": "会议记录.txt", "mimeType": "text/plain", "buffer": "会议记录：客户要求提供英文版服务条款。\n".encode()},
        {"name": "label-photo.png", "mimeType": "image/png", "buffer": docs.png(docs.snippet(["PARCEL 5521"]))}])
    page.locator("#upload-start").click()
    page.wait_for_function("""() => {
        const rows = [...document.querySelectorAll('#upload-results tbody tr')];
        return rows.length === 2 && rows.every(r => r.dataset.outcome === 'stored');
    }""")
    check("upload")

    go_by_menu(page, "/search")
    page.locator("#f-q").fill("合同")
    page.locator("#search-form button[type=submit].primary").click()
    page.wait_for_load_state()
    assert page.locator("ol.hits > li").count() >= 2 and page.locator("ol.hits mark").count() >= 1
    check("search")

    go_by_menu(page, "/admin")
    check("admin")
    page.goto("/admin/users")
    assert page.get_by_role("link", name="li.manager").count() >= 1
    check("admin-users")
    page.goto("/admin/audit")
    assert page.locator("main table tbody tr").count() >= 10
    check("audit-log")
    page.goto("/account")
    check("account")
    assert not page.js_errors, page.js_errors


def test_the_pages_speak_chinese_to_a_chinese_browser_and_switch_to_english(open_page, site, viewport):
    """The browser's language picks the catalogue; the switch in the header changes it (and remembers it)."""
    page = open_page(viewport, locale="zh-CN")
    page.goto("/sign-in")
    assert page.locator("html").get_attribute("lang").startswith("zh")
    for text in (page.locator("main h1").inner_text(), page.locator("label[for=f-name]").inner_text(),
                 page.locator("main button[type=submit]").inner_text()):
        assert CJK.search(text), f"not translated into Chinese: {text!r}"
    sign_in(page, site, "clara")
    menu = page.locator("nav a").all_text_contents()
    assert all(CJK.search(m) for m in menu), f"menu not translated into Chinese: {menu}"
    assert page.locator("#lang").input_value() == "zh_CN"
    page.locator("#lang").select_option("en")  # submits itself (app.js)
    page.wait_for_function("document.documentElement.lang.startsWith('en')")
    assert "Customers" in page.locator("nav a").all_text_contents()
    page.goto("/customers")
    assert page.locator("html").get_attribute("lang").startswith("en")  # remembered (cf_lang cookie)
