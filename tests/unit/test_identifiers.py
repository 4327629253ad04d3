import datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.cn import ric

from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.identifiers import (IDENTIFIER_KINDS, IDENTIFIER_LABELS, identifier_label,
                                            mask_identifier, mask_phone, normalize_email,
                                            normalize_identifier, normalize_phone)

VALID_RIC = "360426199101010071"  # stdnum's own documented example
VALID_USCC = "91110000600037341L"

_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}


def fullwidth(text: str) -> str:
    return "".join(_FULLWIDTH.get(c, c) for c in text)


def with_check_digit(first17: str, module) -> str:
    return first17 + module.calc_check_digit(first17 + "0")


@st.composite
def resident_ids(draw):
    region = draw(st.sampled_from(["110101", "310104", "440305", "360426", "510107", "650102"]))
    born = draw(st.dates(min_value=datetime.date(1991, 1, 1), max_value=datetime.date(2024, 12, 31)))
    seq = draw(st.integers(min_value=0, max_value=999))
    return with_check_digit(f"{region}{born:%Y%m%d}{seq:03d}", ric)


def test_kinds_and_labels():
    assert IDENTIFIER_KINDS == ("resident_id", "passport", "credit_code")
    assert identifier_label("resident_id") == "居民身份证号"
    assert identifier_label("credit_code", "en") == "Unified social credit code"
    assert set(IDENTIFIER_LABELS) == set(IDENTIFIER_KINDS)


@given(resident_ids())
def test_stdnum_valid_resident_ids_round_trip(number):
    assume(ric.is_valid(number))  # stdnum also checks the region existed in the birth year
    assert normalize_identifier("resident_id", number) == number
    spaced = f"{number[:6]} {number[6:14]}-{number[14:]}"
    assert normalize_identifier("resident_id", fullwidth(spaced)) == number
    assert normalize_identifier("resident_id", number.lower()) == number  # a final x


def test_full_width_input_normalizes():
    assert normalize_identifier("resident_id", "３６０４２６\u3000１９９１０１０１－００７１") == VALID_RIC
    assert normalize_identifier("credit_code", fullwidth("9111 0000 6000 3734 1l")) == VALID_USCC
    assert normalize_identifier("passport", fullwidth("e1234-5678")) == "E12345678"


@pytest.mark.parametrize("value, reason", [
    ("360426199101010072", "checksum failed"),
    ("36042619910101007", "expected 18 characters"),
    ("36042619910101007A", "final digit or X"),
    ("", "empty"),
])
def test_bad_resident_ids_are_refused_without_echo(value, reason):
    with pytest.raises(InvalidInput) as exc:
        normalize_identifier("resident_id", value)
    assert reason in exc.value.message
    assert not value or value not in exc.value.message


def test_birth_place_is_not_checked():
    # Nanshan (440305) was created in 1990; numbers issued there to people born earlier are real,
    # but stdnum's place check refuses them. Checksum and birth date are what we hold to.
    number = with_check_digit("44030519820101000", ric)
    assert not ric.is_valid(number)
    assert normalize_identifier("resident_id", number) == number


def test_impossible_birth_date_is_refused():
    number = with_check_digit("36042619910230007", ric)  # 30 February
    with pytest.raises(InvalidInput, match="birth date"):
        normalize_identifier("resident_id", number)


def test_credit_code_checks():
    with pytest.raises(InvalidInput, match="checksum failed"):
        normalize_identifier("credit_code", VALID_USCC[:-1] + "M")
    with pytest.raises(InvalidInput, match="expected 18"):
        normalize_identifier("credit_code", "12345")
    with pytest.raises(InvalidInput, match="letters other than"):
        normalize_identifier("credit_code", "A1110000600037341L")


@pytest.mark.parametrize("value", ["E123", "E1234567890123456789X", "E12345678中", "E1234/5678"])
def test_bad_passports(value):
    with pytest.raises(InvalidInput, match="passport number is not valid"):
        normalize_identifier("passport", value)


def test_unknown_kind():
    with pytest.raises(InvalidInput, match="unknown identifier kind"):
        normalize_identifier("ssn", "123")
    with pytest.raises(InvalidInput):
        mask_identifier("ssn", "123")


def test_masks():
    assert mask_identifier("resident_id", "110101199003071234") == "110101********1234"
    assert mask_identifier("credit_code", VALID_USCC) == "91" + "*" * 12 + "341L"
    assert mask_identifier("passport", "E12345678") == "E*****678"
    assert mask_identifier("passport", "AB123") == "***23"
    assert mask_identifier("passport", "A1") == "**"


@given(st.sampled_from(IDENTIFIER_KINDS), st.text(alphabet="0123456789ABCDEFX", min_size=1, max_size=30))
def test_masks_keep_length_and_hide_at_least_a_third(kind, value):
    masked = mask_identifier(kind, value)
    assert len(masked) == len(value)
    assert masked.count("*") * 3 >= len(value)


def test_phone_numbers():
    assert normalize_phone("138 1234 5678") == "+8613812345678"
    assert normalize_phone("＋８６ １３８－１２３４－５６７８") == "+8613812345678"
    assert normalize_phone("010-12345678") == "+861012345678"
    assert normalize_phone("+1 650-253-0000", "CN") == "+16502530000"
    assert mask_phone("+8613812345678") == "+86 138****5678"
    assert mask_phone("+85291234567") == "+852 ****4567"


@pytest.mark.parametrize("value", ["", "abc", "12", "+86 138 1234 56789 0"])
def test_bad_phone_numbers(value):
    with pytest.raises(InvalidInput) as exc:
        normalize_phone(value)
    assert not value or value not in exc.value.message


def test_emails():
    assert normalize_email(" Li.Wei@Example.COM ") == "Li.Wei@example.com"
    assert normalize_email("li＠ｅｘａｍｐｌｅ．ｃｏｍ") == "li@example.com"
    assert normalize_email("张伟@例子.中国") == "张伟@例子.中国"


@pytest.mark.parametrize("value", ["", "no-at-sign", "a@@b.com", "secret.name@", "x@bad..com"])
def test_bad_emails_do_not_echo(value):
    with pytest.raises(InvalidInput) as exc:
        normalize_email(value)
    assert "secret" not in exc.value.message and "bad..com" not in exc.value.message
