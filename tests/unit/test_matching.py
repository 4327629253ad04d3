"""Customer clues in paths and text, and keyed near-duplicate signatures."""

import os

from clientfolio.adapters.similarity import KeyedMinHash
from clientfolio.domain import matching

RID = "11010519491231002X"
USCC = "91310000MA1FL4XQ27"


def test_folder_clue_is_a_code_or_a_name():
    assert matching.folder_clue("C000123/scan.pdf") == matching.FolderClue(code="C000123", name=None)
    assert matching.folder_clue("c000123 张伟/scan.pdf").code == "C000123"
    assert matching.folder_clue("张伟/2024/scan.pdf") == matching.FolderClue(code=None, name="张伟")
    assert matching.folder_clue("ＡＢＣ公司/x.pdf").name == "ABC公司"  # full-width folded
    assert matching.folder_clue("scan.pdf") is None  # at the root: no folder clue


def test_code_in_file_name_needs_word_boundaries():
    assert matching.code_in_name("C000042_合同.pdf") == "C000042"
    assert matching.code_in_name("in/scan-c000042-v2.pdf") == "C000042"
    assert matching.code_in_name("XC0000421.pdf") is None
    assert matching.code_in_name("C00004.pdf") is None


def test_identifiers_in_text_are_checksum_validated():
    text = f"公民身份号码 {RID}\n统一社会信用代码：{USCC}\n错误号码 110105194912310021"
    assert matching.identifiers_in_text(text) == [("resident_id", RID), ("credit_code", USCC)]
    spaced = "身份证号：１１０１０５１９４９１２３１００２ｘ"  # full-width digits and a lower-case x
    assert matching.identifiers_in_text(spaced) == [("resident_id", RID)]
    assert matching.identifiers_in_text("护照号码：E12345678") == [("passport", "E12345678")]
    assert matching.identifiers_in_text("nothing here 12345") == []


def test_keyed_signatures_find_rescans_and_depend_on_the_key():
    key = os.urandom(32)
    signer = KeyedMinHash(key)
    original = ("本合同由甲方上海星河贸易有限公司与乙方张伟于二〇二四年三月一日在上海签订，双方同意以下条款。"
                "第一条 甲方向乙方提供货物，乙方按期付款。第二条 违约责任由双方协商解决。")
    rescan = original.replace("签订", "签汀").replace("协商", "协尚").replace("，", ", ") + " 第2页"  # OCR slips
    other = "增值税专用发票 发票代码 3100231130 开票日期 2024年03月05日 购买方 上海星河贸易有限公司 金额合计 本合同"
    a, b, c = signer.signature(original), signer.signature(rescan), signer.signature(other)
    assert signer.similarity(a, b) >= 0.7 > 0.3 > signer.similarity(a, c)
    assert signer.signature("太短") is None
    # Another key gives unrelated values: a signature cannot be matched against guessed text without it.
    assert KeyedMinHash(os.urandom(32)).similarity(KeyedMinHash(os.urandom(32)).signature(original), a) < 0.1
    assert "合同".encode() not in a and b"contract" not in a
