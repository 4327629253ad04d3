"""Fields from ID documents' text, OCR noise included."""

import pytest
from mrz.generator.td3 import TD3CodeGenerator

from clientfolio.domain import fields

RID = "11010519491231002X"  # born 1949-12-31; digit 17 is 2: female


def values(proposal):
    return {f.name: (f.value, f.valid) for f in proposal.fields}


def test_front_of_a_resident_id_card():
    text = f"姓名 王芳\n性别 女 民族 汉\n出生 1949年12月31日\n住址 北京市朝阳区\n建国路88号\n公民身份号码 {RID}"
    p = fields.extract(text)
    assert p.kind == "resident_id_front"
    assert values(p) == {"name": ("王芳", True), "sex": ("女", True), "ethnicity": ("汉", True),
                         "birth_date": ("1949-12-31", True), "address": ("北京市朝阳区建国路88号", True),
                         "resident_id": (RID, True)}


def test_ocr_noise_spaced_labels_full_width_digits_and_letter_slips():
    text = "姓 名王芳 性 别 女\n出 生 1949.12.31\n公 民 身 份 号 码 １１０１０５ l949l23lOO2x"
    v = values(fields.extract(text))
    assert v["name"] == ("王芳", True) and v["birth_date"] == ("1949-12-31", True)
    assert v["resident_id"] == (RID, True)


def test_a_bad_checksum_or_a_mismatch_is_flagged_with_the_reason():
    p = fields.extract("姓名 王芳 性别 女\n出生 1949年12月31日\n公民身份号码 110105194912310021")
    number = p.get("resident_id")
    assert not number.valid and "checksum" in number.note
    other = fields.extract("姓名 王芳 性别 男\n出生 1949年12月31日\n公民身份号码 " + RID)
    assert not other.get("resident_id").valid and "女" in other.get("resident_id").note
    born = fields.extract("姓名 王芳 性别 女\n出生 1950年1月1日\n公民身份号码 " + RID)
    assert "birth date" in born.get("resident_id").note


def test_back_of_the_card_gives_the_validity_period():
    p = fields.extract("中华人民共和国\n居民身份证\n签发机关 北京市公安局朝阳分局\n有效期限 2015.03.01-2035.03.01")
    assert p.kind == "resident_id_back"
    assert values(p) == {"authority": ("北京市公安局朝阳分局", True), "valid_from": ("2015-03-01", True),
                         "valid_until": ("2035-03-01", True)}
    long_term = fields.extract("签发机关 上海市公安局\n有效期限 2010.05.06-长期")
    assert long_term.get("valid_until").value == fields.LONG_TERM
    wrong = fields.extract("签发机关 上海市公安局\n有效期限 2020.05.06-2010.05.06")
    assert not wrong.get("valid_until").valid


def test_business_licence():
    text = ("营业执照\n统一社会信用代码 91310000MA1FL4XQ27\n名称 上海星河贸易有限公司\n类型 有限责任公司\n"
            "法定代表人 李雷\n成立日期 2019年05月06日\n营业期限 2019年05月06日至2039年05月05日")
    v = values(fields.extract(text))
    assert v == {"company_name": ("上海星河贸易有限公司", True), "legal_representative": ("李雷", True),
                 "credit_code": ("91310000MA1FL4XQ27", True), "established": ("2019-05-06", True),
                 "valid_until": ("2039-05-05", True)}
    assert values(fields.extract("营业执照 統一社會信用代碼 91310000MA1FL4XQ28 营业期限 长期"))["credit_code"][1] is False
    assert fields.extract("营业执照 营业期限 长期").get("valid_until").value == fields.LONG_TERM


def test_passport_machine_readable_zone_with_check_digits():
    mrz = str(TD3CodeGenerator("P", "CHN", "ZHANG", "WEI", "E12345678", "CHN", "900101", "M", "300312", ""))
    p = fields.extract("中华人民共和国 护照 PASSPORT\n" + mrz)
    assert p.kind == "passport"
    assert values(p) == {"surname": ("ZHANG", True), "given_names": ("WEI", True), "passport": ("E12345678", True),
                         "nationality": ("CHN", True), "sex": ("男", True), "birth_date": ("1990-01-01", True),
                         "valid_until": ("2030-03-12", True)}
    first, second = mrz.splitlines()
    broken = second[:9] + ("3" if second[9] != "3" else "4") + second[10:]  # the number's check digit
    bad = fields.extract(first + "\n" + broken)
    assert not bad.get("passport").valid and "check digits" in bad.get("passport").note


def test_other_text_is_no_id_document():
    assert fields.detect("购销合同 甲方 乙方") is None
    assert fields.extract("购销合同 甲方 乙方") is None


def test_a_proposal_round_trips_through_a_dict():
    p = fields.extract("签发机关 上海市公安局\n有效期限 2010.05.06-长期")
    assert fields.Proposal.from_dict(p.to_dict()) == p
