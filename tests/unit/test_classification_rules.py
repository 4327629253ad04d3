"""The default classification rules on realistic Chinese and English texts, and the rules file format."""

import pytest

from clientfolio.adapters import textnorm
from clientfolio.adapters.classifier import DEFAULT_RULES, load_rules
from clientfolio.adapters.settings import load_taxonomy
from clientfolio.domain.classification import rules_from_dict
from clientfolio.domain.errors import InvalidInput

TAXONOMY = load_taxonomy(DEFAULT_RULES.parent / "no-home")


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return load_rules(tmp_path_factory.mktemp("home"), TAXONOMY)


CASES = [
    ("劳动合同\n甲方：某某公司 乙方：李四\n双方经协商一致签订本合同，违约责任依法承担。", ("contract", "formal")),
    ("购销合同 合同编号：GX-2024-017 甲方（买方） 乙方（卖方） 争议解决：提交上海仲裁委员会", ("contract", "formal")),
    ("补充协议\n就原合同第三条付款方式变更如下，本补充协议与原合同具有同等效力。", ("contract", "amendment")),
    ("房屋租赁续约协议：双方同意续签，租期延长期限一年，租金不变。", ("contract", "renewal")),
    ("增值税专用发票 发票代码 3100231130 发票号码 01234567 开票日期 2024年03月05日 价税合计 ¥11,300.00",
     ("finance", "invoice")),
    ("中国工商银行 电子回单 付款人：上海星河贸易有限公司 收款人：张伟 交易流水号 9087", ("finance", "receipt")),
    ("对账单 2024年3月 期初余额 10,000.00 期末余额 8,765.43 请核对", ("finance", "statement")),
    ("中华人民共和国居民身份证 签发机关 北京市公安局朝阳分局 有效期限 2015.03.01-2035.03.01",
     ("id_document", "resident_id")),
    ("姓名 张伟 性别 男 民族 汉 出生 1949年12月31日 住址 北京市朝阳区 公民身份号码 11010519491231002X",
     ("id_document", "resident_id")),
    ("营业执照 统一社会信用代码 91310000MA1FL4XQ27 名称 上海星河贸易有限公司 法定代表人 王五 成立日期 2019年5月6日",
     ("id_document", "business_licence")),
    ("PASSPORT 护照 Nationality CHINESE Date of expiry 12 MAR 2030\nPOCHNZHANG<<WEI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<",
     ("id_document", "passport")),
    ("业务办理签字确认单：本人已阅读并理解上述条款。客户签字：＿＿＿ 日期：", ("signed_form", None)),
    ("營業執照 統一社會信用代碼 91310000MA1FL4XQ27 法定代表人 王五", ("id_document", "business_licence")),  # traditional
    ("ＩＮＶＯＩＣＥ Ｎｏ． 2024-17 VAT 13% Tax amount 1,300.00", ("finance", "invoice")),  # full-width
    ("Meeting minutes, 3 March: call notes with Ms Lin about the renewal schedule. Regards, Wang",
     ("communication", None)),
    # Chinese terms inside unspaced running text (no spaces to split on)
    ("本公司与员工李四于二〇二四年签订劳动合同甲方负责缴纳社会保险乙方遵守劳动纪律违约责任另行约定", ("contract", "formal")),
    ("招商银行银行回单付款人上海星河贸易有限公司收款人张伟金额壹万元整交易流水号20240305", ("finance", "receipt")),
    ("客户已于柜台签字确认单据内容无误客户签字张伟", ("signed_form", None)),
    # English
    ("EMPLOYMENT CONTRACT. This Agreement is made between Party A (the employer) and Party B (the employee).",
     ("contract", "formal")),
    ("VAT INVOICE No. 00417, tax amount 1,300.00, total 11,300.00", ("finance", "invoice")),
    ("Bank transfer receipt. Payer: Xinghe Trading Co. Payee: Zhang Wei. Payment received 5 March.",
     ("finance", "receipt")),
    ("People's Republic of China Resident Identity Card. Issuing authority: Beijing PSB. "
     "Citizen ID number 11010519491231002X", ("id_document", "resident_id")),
    ("BUSINESS LICENCE Unified social credit code 91310000MA1FL4XQ27 Legal representative Wang Wu",
     ("id_document", "business_licence")),
    ("Consent form: I confirm that I have read the terms above. Signature: ____ Date: ____", ("signed_form", None)),
    # traditional characters and full-width forms
    ("勞動合同 甲方：某某公司 乙方：李四 違約責任", ("contract", "formal")),
    ("增值稅專用發票 發票代碼 3100231130 價稅合計 ＲＭＢ１１３００", ("finance", "invoice")),
    ("中華人民共和國居民身份證 簽發機關 北京市公安局 有效期限 2015.03.01-2035.03.01", ("id_document", "resident_id")),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[1][0] + "-" + str(i) for i, c in enumerate(CASES)])
def test_default_rules_file_each_kind(rules, text, expected):
    made = rules.classify(textnorm.normalize(text))
    assert made is not None and (made.category, made.subtype) == expected, made
    assert 0.5 <= made.confidence <= 1.0 and made.source == "rules"


def test_a_text_with_no_clue_gets_no_suggestion(rules):
    assert rules.classify(textnorm.normalize("今天天气不错。The weather is fine today.")) is None


def test_latin_keywords_match_whole_words_only(rules):
    # "vat" in private, "contract" in contractors, "signed" in assigned, "receipt" in receipts-office: no hits
    text = textnorm.normalize("A private contractor was assigned to the receipts-office renovation; invoiced later.")
    made = rules.classify(text)
    assert made is None or made.matched == (), made
    # while a Chinese keyword is found wherever it stands
    assert rules.classify(textnorm.normalize("附件为营业执照副本统一社会信用代码见下")).subtype == "business_licence"


def test_the_passport_pattern_wants_a_machine_readable_zone(rules):
    [passport] = [r for r in rules.rules if r.subtype == "passport"]
    assert passport.score(textnorm.normalize("Party A and Party B\nPayment terms\nPassed on 3 March")) == (0, ())
    mrz = "P<CHNZHANG<<WEI<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<\nE123456784CHN4912317M3003128<<<<<<<<<<<<<<00"
    assert rules.classify(textnorm.normalize(mrz)).subtype == "passport"


def test_an_administrator_adds_and_replaces_rules(tmp_path):
    (tmp_path / "classification.toml").write_text(
        '[[rule]]\ncategory = "finance"\nsubtype = "invoice"\nkeywords = ["形式发票", "proforma"]\nweight = 3.0\n'
        '[[rule]]\ncategory = "other"\nkeywords = ["杂项", "misc"]\nweight = 2.0\n', encoding="utf-8")
    rules = load_rules(tmp_path, TAXONOMY)
    assert rules.classify("形式发票 第12号").subtype == "invoice"  # the replaced rule
    assert rules.classify("增值税 发票代码") is None  # the default invoice keywords are gone
    assert rules.classify("杂项 资料").category == "other"


def test_an_administrator_writes_traditional_keywords_and_switches_a_rule_off(tmp_path):
    (tmp_path / "classification.toml").write_text(
        '[[rule]]\ncategory = "other"\nkeywords = ["會員登記", "ＭＥＭＢＥＲＳＨＩＰ"]\n'
        '[[rule]]\ncategory = "communication"\nkeywords = []\n', encoding="utf-8")
    rules = load_rules(tmp_path, TAXONOMY)
    assert rules.classify(textnorm.normalize("會員登記表 Membership")).category == "other"  # folded both sides
    assert not any(r.category == "communication" for r in rules.rules)
    assert rules.classify(textnorm.normalize("会议纪要 沟通记录 meeting minutes")) is None


@pytest.mark.parametrize("bad,message", [
    ({"rule": [{"category": "nope", "keywords": ["x"]}]}, "unknown category"),
    ({"rule": [{"category": "contract", "subtype": "nope", "keywords": ["x"]}]}, "unknown subtype"),
    ({"rule": [{"category": "contract", "patterns": ["(unclosed"]}]}, "bad pattern"),
    ({"rule": [{"category": "contract", "keywords": [3]}]}, "lists of text"),
    ({"rule": [{"category": "contract", "keywords": "合同"}]}, "lists of text"),
    ({"rule": [{"category": "contract", "keywords": ["合同"], "tags": "x"}]}, "lists of text"),
    ({"rule": {"category": "contract"}}, "array of tables"),
    ({"rule": [{"category": "contract", "colour": "red"}]}, "unknown keys"),
    ({"rule": [{"category": "contract", "keywords": ["x"], "weight": 99}]}, "weight"),
    ({"min_score": -1}, "min_score"),
])
def test_a_bad_rules_file_is_refused_with_its_reason(bad, message):
    with pytest.raises(InvalidInput, match=message):
        rules_from_dict(bad, TAXONOMY)
