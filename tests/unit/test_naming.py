import datetime
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.naming import (DEFAULT_TEMPLATE, MAX_BYTES, MAX_CHARS, TEMPLATE_FIELDS, canonical_name,
                                       extension_for, name_date, validate_template)

BASE = dict(customer_code="C0001", category="contract", subtype="formal",
            date=datetime.date(2024, 3, 1), version=2, ext="pdf")


def test_default_template():
    assert canonical_name(DEFAULT_TEMPLATE, **BASE) == "C0001_contract_formal_20240301_v2.pdf"


def test_missing_subtype_renders_category_only():
    assert canonical_name(DEFAULT_TEMPLATE, **{**BASE, "subtype": None}) == "C0001_contract_20240301_v2.pdf"
    assert canonical_name(DEFAULT_TEMPLATE, **{**BASE, "subtype": ""}) == "C0001_contract_20240301_v2.pdf"
    assert canonical_name("{customer_code}_{category}_{subtype}.{ext}", customer_code="C1",
                          category="other", ext="pdf") == "C1_other.pdf"


def test_date_field():
    assert name_date(datetime.date(2023, 12, 31), datetime.date(2024, 3, 1)) == "20231231"
    assert name_date(None, datetime.date(2024, 3, 1)) == "20240301"


def test_chinese_is_kept_and_unsafe_characters_replaced():
    name = canonical_name("{customer_name}_{title}.{ext}", customer_name="北京某某/科技 有限公司",
                          title='合同<草稿>:"最终"?*|\\', ext="PDF")
    assert name == "北京某某_科技_有限公司_合同_草稿_最终.pdf"


def test_no_leading_dots_or_windows_devices():
    assert canonical_name("{title}.{ext}", title="../../etc/passwd", ext="txt") == "etc_passwd.txt"
    assert canonical_name("{title}.{ext}", title="CON", ext="pdf") == "CON_.pdf"
    assert canonical_name("{title}.{ext}", title="nul.tar", ext="gz") == "nul_.tar.gz"


def test_never_empty():
    assert canonical_name("{title}.{ext}", title="...", ext="pdf") == "document.pdf"
    assert canonical_name("{title}", title=None) == "document"


def test_length_keeps_extension():
    name = canonical_name("{title}_{document_id}.{ext}", title="x" * 500, document_id=7, ext="pdf")
    assert len(name) == MAX_CHARS and name.endswith("x.pdf")
    chinese = canonical_name("{title}.{ext}", title="合同" * 200, ext="docx")
    assert chinese.endswith(".docx") and len(chinese.encode()) <= MAX_BYTES


@pytest.mark.parametrize("template, message", [
    ("{customer_code}_{secret}.{ext}", "unknown field {secret}"),
    ("{customer_code.__class__}.{ext}", "unknown field"),
    ("{customer_code[0]}.{ext}", "unknown field"),
    ("{customer_code", "unbalanced braces"),
    ("customer_code}", "unbalanced braces"),
    ("{version:03d}.{ext}", "no format spec"),
    ("{title!r}.{ext}", "no format spec"),
    ("{}.{ext}", "unknown field"),
    ("a/{title}.{ext}", "not allowed in file names"),
    ("plain.pdf", "uses no fields"),
    ("", "empty"),
])
def test_bad_templates(template, message):
    with pytest.raises(InvalidInput, match=message):
        validate_template(template)


def test_good_templates():
    validate_template(DEFAULT_TEMPLATE)
    validate_template("{{" + "}}".join("{" + f + "}" for f in TEMPLATE_FIELDS))
    with pytest.raises(InvalidInput, match="unknown name fields: colour"):
        canonical_name(DEFAULT_TEMPLATE, colour="red", **BASE)


field_text = st.one_of(st.none(), st.text(), st.integers())


@given(customer_code=field_text, customer_name=field_text, category=field_text, subtype=field_text,
       title=field_text, document_id=field_text, version=field_text, date=field_text, ext=field_text)
def test_any_input_gives_a_safe_name(**fields):
    template = "{customer_name}_{title}_" + DEFAULT_TEMPLATE + "{document_id}"
    for name in (canonical_name(template, **fields), canonical_name(DEFAULT_TEMPLATE, **fields)):
        assert name
        assert not any(ch in name for ch in '/\\<>:"|?*')
        assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name)
        assert not name.startswith(".") and not name.endswith((".", " "))
        assert "__" not in name
        assert len(name) <= MAX_CHARS and len(name.encode("utf-8")) <= MAX_BYTES


@given(st.text(min_size=1))
def test_any_title_keeps_the_extension(title):
    assert canonical_name("{title}.{ext}", title=title, ext="pdf").endswith(".pdf")


@pytest.mark.parametrize("media_type, original, ext", [
    ("application/pdf", "scan.pdf", "pdf"),
    ("application/pdf", "invoice.exe", "pdf"),
    ("Application/PDF; charset=binary", None, "pdf"),
    ("image/jpeg", "photo.JPEG", "jpeg"),
    ("image/jpeg", "photo.png", "jpg"),
    ("image/jpeg", None, "jpg"),
    ("image/png", None, "png"),
    ("image/tiff", "fax.tiff", "tiff"),
    ("image/tiff", None, "tif"),
    ("image/webp", None, "webp"),
    ("image/heic", "IMG_0001.HEIC", "heic"),
    ("text/plain", "notes.md", "md"),
    ("text/plain", "run.sh", "txt"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a.doc", "docx"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None, "xlsx"),
    ("application/zip", "contract.docx", "zip"),
    ("application/x-msdownload", "setup.pdf", "bin"),
    ("", "a.pdf", "bin"),
])
def test_extension_for(media_type, original, ext):
    assert extension_for(media_type, original) == ext
