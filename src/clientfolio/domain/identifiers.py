"""Customer identifiers and contact details: validate, normalize, mask.

Pure rules (no I/O). Checksums come from python-stdnum, phone numbers from phonenumbers, e-mail
addresses from email-validator; nothing here is hand-written checksum code. Error messages name
what is wrong but never repeat the value: identifiers and contact details are customer secrets.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength, ValidationError

from clientfolio.domain.errors import InvalidInput

IDENTIFIER_KINDS = ("resident_id", "passport", "credit_code")

IDENTIFIER_LABELS: dict[str, dict[str, str]] = {
    "resident_id": {"zh": "居民身份证号", "en": "Resident ID number"},
    "passport": {"zh": "护照号", "en": "Passport number"},
    "credit_code": {"zh": "统一社会信用代码", "en": "Unified social credit code"},
}

# What people type between groups of characters: spaces (any width) and dashes of every kind.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_SEPARATORS = re.compile(r"[\s" + re.escape(_DASHES) + r"]+")
_PASSPORT = re.compile(r"[A-Z0-9]{5,20}")
_NAMES = {"resident_id": "resident ID number", "passport": "passport number",
          "credit_code": "unified social credit code"}


def identifier_label(kind: str, lang: str = "zh") -> str:
    """The display label of an identifier kind, in Chinese ("zh") or English ("en")."""
    _check_kind(kind)
    if lang not in ("zh", "en"):
        raise InvalidInput(f"unknown language {lang!r}: use 'zh' or 'en'")
    return IDENTIFIER_LABELS[kind][lang]


def normalize_identifier(kind: str, value: str) -> str:
    """The canonical form of an identifier (half-width, no separators, upper case), or InvalidInput."""
    _check_kind(kind)
    name = _NAMES[kind]
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value)).upper()
    if not text:
        raise InvalidInput(f"{name} is empty")
    if kind == "resident_id":
        return _resident_id(text)
    if kind == "credit_code":
        return _credit_code(text)
    if not _PASSPORT.fullmatch(text):
        raise InvalidInput(f"{name} is not valid (expected 5 to 20 letters A-Z or digits)")
    return text


def _resident_id(text: str) -> str:
    """Length, format, checksum and birth date, all through stdnum.cn.ric.

    Not the birth place: stdnum's region table lags new region codes and the 2023 permanent
    residence cards for foreigners (first digit 9) use the same layout with no region code, so a
    place check would turn away real numbers.
    """
    name = _NAMES["resident_id"]
    if len(text) != 18:
        raise InvalidInput(f"{name} is not valid (expected 18 characters, got {len(text)})")
    if not text[:17].isascii() or not text[:17].isdigit() or text[17] not in "0123456789X":
        raise InvalidInput(f"{name} is not valid (expected 17 digits and a final digit or X)")
    try:
        if text[17] != ric.calc_check_digit(text):
            raise InvalidChecksum()
        ric.get_birth_date(text)
    except InvalidChecksum:
        raise InvalidInput(f"{name} is not valid (checksum failed)") from None
    except (InvalidComponent, ValueError):
        raise InvalidInput(f"{name} is not valid (the birth date is not a real date)") from None
    return text


def _credit_code(text: str) -> str:
    name = _NAMES["credit_code"]
    try:
        return uscc.validate(text)
    except InvalidLength:
        raise InvalidInput(f"{name} is not valid (expected 18 characters, got {len(text)})") from None
    except InvalidFormat:
        raise InvalidInput(f"{name} is not valid (expected 8 digits, then digits or letters "
                           "other than I, O, S, V, Z)") from None
    except InvalidChecksum:
        raise InvalidInput(f"{name} is not valid (checksum failed)") from None
    except ValidationError:
        raise InvalidInput(f"{name} is not valid") from None


def mask_identifier(kind: str, normalized: str) -> str:
    """A display form that hides the middle: 110101********1234, 91**********0001, E*****678."""
    _check_kind(kind)
    n = len(normalized)
    if kind == "resident_id" and n == 18:
        return _mask(normalized, 6, 4)
    if kind == "credit_code" and n >= 12:
        return _mask(normalized, 2, 4)
    if kind == "passport" and n >= 8:
        return _mask(normalized, 1, 3)
    return _mask(normalized, 0, 2)


def _mask(value: str, head: int, tail: int) -> str:
    """Keep `head` leading and `tail` trailing characters; everything is hidden if too short."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail:]


def normalize_phone(value: str, default_region: str = "CN") -> str:
    """The E.164 form of a phone number (+8613812345678); numbers without + use default_region."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("phone number is empty")
    text = unicodedata.normalize("NFKC", value).strip()
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone number could not be read (use digits, optionally starting "
                           "with + and the country code)") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"phone number is not a valid number for country code "
                           f"+{number.country_code}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(e164: str) -> str:
    """A display form keeping the country code, 3 leading and 4 trailing digits: +86 138****5678.

    Shorter national numbers show fewer leading digits so at least four stay hidden.
    """
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput("phone number is not in E.164 form (+ and digits)") from None
    national = phonenumbers.national_significant_number(number)
    n = len(national)
    if n >= 8:
        masked = _mask(national, max(0, min(3, n - 8)), 4)
    else:
        masked = _mask(national, 0, 2)
    return f"+{number.country_code} {masked}"


def normalize_email(value: str) -> str:
    """The normalized form of an e-mail address (domain lower-cased and IDNA-checked), or InvalidInput.

    Full-width characters typed with a Chinese input method (＠, ．) are folded first. No DNS lookup.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("email address is empty")
    text = unicodedata.normalize("NFKC", value).strip()
    if text.count("@") != 1:
        raise InvalidInput("email address is not valid (expected exactly one @)")
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        # email-validator's own messages quote parts of the address: keep them out.
        raise InvalidInput("email address is not valid (expected name@domain with a real "
                           "domain name)") from None


def _check_kind(kind: str) -> None:
    if kind not in IDENTIFIER_KINDS:
        raise InvalidInput(f"unknown identifier kind {kind!r}: use one of {', '.join(IDENTIFIER_KINDS)}")
