"""Fields read from ID documents' text (OCR included): proposals a person confirms, never facts by themselves.

Resident ID card front (name, sex, ethnicity, birth date, address, ID number) and back (issuing authority,
validity period: 有效期限 → expiry date), business licence (company name, unified social credit code, legal
representative, established, validity) and passport (the machine-readable zone, every check digit verified
with the `mrz` library). Numbers are checked with python-stdnum through domain.identifiers; a resident ID's
birth date and sex are cross-checked against the printed ones. OCR slips in numbers (O for 0, l or I for 1,
spaces) are repaired before checking, and a value that still fails says why.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from mrz.checker.td3 import TD3CodeChecker

from clientfolio.domain import identifiers as ids
from clientfolio.domain.errors import InvalidInput

KINDS = ("resident_id_front", "resident_id_back", "business_licence", "passport")
LONG_TERM = "long-term"  # 长期: no expiry
_DATE = r"(\d{4})\s*[年.\-/]\s*(\d{1,2})\s*[月.\-/]\s*(\d{1,2})\s*日?"
_DIGIT_FIXES = str.maketrans({"O": "0", "o": "0", "D": "0", "Q": "0", "l": "1", "I": "1", "|": "1", "i": "1",
                              "Z": "2", "S": "5", "B": "8", "x": "X", "×": "X"})


@dataclass(frozen=True)
class Field:
    name: str
    value: str
    valid: bool = True
    note: str | None = None  # why a value is doubtful

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "valid": self.valid, "note": self.note}


@dataclass(frozen=True)
class Proposal:
    kind: str
    fields: tuple[Field, ...]

    def get(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "fields": [f.to_dict() for f in self.fields]}

    @staticmethod
    def from_dict(data: dict) -> Proposal:
        return Proposal(data["kind"], tuple(Field(**f) for f in data["fields"]))


def label(text: str) -> str:
    """A label whose characters OCR may have spaced apart: 姓名 matches 姓 名."""
    return r"\s*".join(map(re.escape, text))


# Traditional forms of the characters in the labels below (a card or licence from Hong Kong or Taiwan, or
# an OCR model's preference): enough to find the labels, without a full conversion table in the domain.
_LABEL_T2S = str.maketrans("統會碼簽發機關號營業執稱類負責經長當證據屬", "统会码签发机关号营业执称类负责经长当证据属")


def _flat(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\r", "").translate(_LABEL_T2S)


def detect(text: str) -> str | None:
    flat = _flat(text)
    if _mrz_lines(flat):
        return "passport"
    if re.search(label("统一社会信用代码") + "|" + label("营业执照"), flat):
        return "business_licence"
    if re.search(label("签发机关") + "|" + label("有效期限"), flat):
        return "resident_id_back"
    if re.search(label("公民身份号码") + "|" + label("居民身份证"), flat) or \
            (re.search(label("姓名"), flat) and re.search(label("出生"), flat)):
        return "resident_id_front"
    return None


def extract(text: str, kind: str | None = None) -> Proposal | None:
    kind = kind or detect(text)
    if kind is None:
        return None
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind of ID document {kind!r}")
    flat = _flat(text)
    found = {"resident_id_front": _front, "resident_id_back": _back, "business_licence": _licence,
             "passport": _passport}[kind](flat)
    return Proposal(kind, tuple(f for f in found if f.value)) if found else None


def _one(pattern: str, text: str, group: int = 1) -> str:
    m = re.search(pattern, text, re.MULTILINE)
    return m.group(group).strip() if m else ""


def _date(match) -> tuple[str, str | None]:
    y, mo, d = (int(g) for g in match)
    try:
        return date(y, mo, d).isoformat(), None
    except ValueError:
        return f"{y:04d}-{mo:02d}-{d:02d}", "not a real date"


def _date_field(name: str, pattern: str, text: str) -> Field | None:
    m = re.search(pattern, text)
    if not m:
        return None
    value, note = _date(m.groups()[-3:])
    return Field(name, value, note is None, note)


def _identifier(kind: str, raw: str) -> Field:
    cleaned = re.sub(r"\s+", "", raw).translate(_DIGIT_FIXES) if kind == "resident_id" else re.sub(r"\s+", "", raw)
    try:
        return Field(kind, ids.normalize_identifier(kind, cleaned))
    except InvalidInput as exc:
        return Field(kind, cleaned.upper(), False, exc.message)


def _front(text: str) -> list[Field]:
    out = [Field("name", _one(label("姓名") + r"\s*[:：]?\s*([^\s:：]{2,20}?)(?=\s|" + label("性别") + "|$)", text)),
           Field("sex", _one(label("性别") + r"\s*[:：]?\s*(男|女)", text)),
           Field("ethnicity", _one(label("民族") + r"\s*[:：]?\s*([^\s:：]{1,10}?)(?=\s|" + label("出生") + "|$)", text))]
    birth = _date_field("birth_date", label("出生") + r"\s*[:：]?\s*" + _DATE, text)
    address = _one(label("住址") + r"\s*[:：]?\s*([\s\S]+?)(?=" + label("公民身份号码") + r"|\Z)", text)
    out.append(Field("address", re.sub(r"\s+", "", address)[:120]))
    raw = _one(label("公民身份号码") + r"\s*[:：]?\s*([0-9A-Za-z|×\s]{18,26})", text) or \
        _one(r"(?<![0-9])(\d{17}[0-9Xx])(?![0-9])", text)
    number = _identifier("resident_id", raw) if raw else None
    if birth:
        out.append(birth)
    if number:
        out.append(_cross_check(number, birth, out[1]))
    return out


def _cross_check(number: Field, birth: Field | None, sex: Field) -> Field:
    """The ID number encodes the birth date (digits 7-14) and sex (digit 17: odd male): they must agree."""
    if not number.valid:
        return number
    coded = f"{number.value[6:10]}-{number.value[10:12]}-{number.value[12:14]}"
    if birth is not None and birth.valid and birth.value != coded:
        return Field(number.name, number.value, False, f"the number's birth date {coded} differs from the printed one")
    coded_sex = "男" if int(number.value[16]) % 2 else "女"
    if sex.value and sex.value != coded_sex:
        return Field(number.name, number.value, False, f"the number says {coded_sex}, the card says {sex.value}")
    return number


def _back(text: str) -> list[Field]:
    out = [Field("authority", re.sub(r"\s+", "", _one(label("签发机关") + r"\s*[:：]?\s*(.+?)(?=" +
                                                      label("有效期限") + r"|\n|$)", text)))]
    m = re.search(label("有效期限") + r"\s*[:：]?\s*" + _DATE + r"\s*[-—–~至到]+\s*(" + label("长期") + "|" + _DATE + ")",
                  text)
    if m:
        start, note = _date(m.groups()[:3])
        out.append(Field("valid_from", start, note is None, note))
        if re.fullmatch(label("长期"), m.group(4)):
            out.append(Field("valid_until", LONG_TERM))
        else:
            until, note = _date(m.groups()[4:7])
            valid = note is None and until > start
            out.append(Field("valid_until", until, valid, note or (None if valid else "ends before it starts")))
    return out


def _licence(text: str) -> list[Field]:
    out = [Field("company_name", _one(label("名称") + r"\s*[:：]?\s*([^\n]+?)(?=\s{2,}|" + label("类型") + r"|\n|$)", text)),
           Field("legal_representative", _one(r"(?:" + "|".join(map(label, ("法定代表人", "负责人", "经营者",
                                                                         "执行事务合伙人"))) +
                                              r")\s*[:：]?\s*([^\s:：]{2,20})", text))]
    raw = _one(label("统一社会信用代码") + r"\s*[:：]?\s*([0-9A-Za-z\s]{18,24}?)(?=\s{2,}|\n|$|[^\s0-9A-Za-z])", text)
    if raw:
        out.append(_identifier("credit_code", raw))
    established = _date_field("established", label("成立日期") + r"\s*[:：]?\s*" + _DATE, text)
    if established:
        out.append(established)
    term = re.search(label("营业期限") + r"\s*[:：]?\s*(?:" + _DATE + r")?\s*(?:至|到|-|—)?\s*(" + label("长期") +
                     "|" + label("永久") + "|" + _DATE + ")", text)
    if term:
        if term.group(4) and re.fullmatch(label("长期") + "|" + label("永久"), term.group(4)):
            out.append(Field("valid_until", LONG_TERM))
        elif term.group(5):
            until, note = _date(term.groups()[4:7])
            out.append(Field("valid_until", until, note is None, note))
    return out


def _mrz_lines(text: str) -> tuple[str, str] | None:
    lines = [re.sub(r"\s+", "", line).upper() for line in text.splitlines()]
    for first, second in zip(lines, lines[1:]):
        if len(first) == 44 and len(second) == 44 and first.startswith("P") and re.fullmatch(r"[A-Z0-9<]+", first + second):
            return first, second
    return None


def _passport(text: str) -> list[Field]:
    lines = _mrz_lines(text)
    if lines is None:
        return []
    checker = TD3CodeChecker("\n".join(lines), compute_warnings=True)
    f = checker.fields()
    ok = bool(checker)
    failed = [name for name, _ in checker.report.falses]
    note = None if ok else "check digits of the machine-readable zone do not match: " + ", ".join(failed)
    number = Field("passport", f.document_number.replace("<", ""), ok, note)
    return [Field("surname", f.surname), Field("given_names", f.name), number,
            Field("nationality", f.nationality), Field("sex", {"M": "男", "F": "女"}.get(f.sex, "")),
            _mrz_date("birth_date", f.birth_date, past=True), _mrz_date("valid_until", f.expiry_date, past=False)]


def _mrz_date(name: str, yymmdd: str, *, past: bool) -> Field:
    """Two-digit years: a birth date is in the past; an expiry within the next 20 years (ICAO 9303 leaves it open)."""
    try:
        yy, mm, dd = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    except ValueError:
        return Field(name, yymmdd, False, "not a date")
    this = date.today().year % 100
    century = (1900 if yy > this else 2000) if past else (2000 if yy <= this + 20 else 1900)
    try:
        return Field(name, date(century + yy, mm, dd).isoformat())
    except ValueError:
        return Field(name, yymmdd, False, "not a real date")
