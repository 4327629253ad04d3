"""Every piece of text on the pages has its Simplified Chinese, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from clientfolio.entrypoints.web import i18n

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "clientfolio" / "entrypoints" / "web"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "translate": (2,), "N_": None}


def _source_messages() -> set[str]:
    """What `make messages` extracts (babel.cfg): Python files and the Jinja2 templates."""
    found = set()
    for method, folder in (("python", WEB), ("jinja2", WEB / "templates")):
        pattern = "**.py" if method == "python" else "**.html"
        for _, _, message, _, _ in extract_from_dir(
                folder, method_map=[(pattern, method)], keywords=KEYWORDS,
                options_map={pattern: {"extensions": "jinja2.ext.i18n"}} if method == "jinja2" else None):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_on_the_pages_is_translated():
    with open(WEB / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
    missing = sorted(m for m in _source_messages() if not translated.get(m))
    assert not missing, f"run `make messages` and translate: {missing[:20]}"


def test_translations_keep_their_placeholders():
    with open(WEB / "locales" / "zh_CN" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    for m in catalog:
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == wanted, (m.id, s)


def test_the_catalogue_compiles_and_the_language_is_chosen_from_the_browser():
    zh = i18n.translations("zh_CN")
    assert zh.gettext("Sign in") == "登录"
    assert i18n.choose_locale(None, "en-US,en;q=0.9,zh;q=0.1") == "en"
    assert i18n.choose_locale(None, "zh-TW,zh;q=0.9") == "zh_CN"
    assert i18n.choose_locale(None, "fr-FR") == "zh_CN"  # neither: the vault's first language
    assert i18n.choose_locale("en", "zh-CN") == "en"  # the switch wins over the browser
    assert i18n.choose_locale("xx", "en") == "en"  # an unknown cookie value is ignored
