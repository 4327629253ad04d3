"""Customers: codes, validated and normalized identifiers and contacts, masking and audited reveal, exact
lookup through keyed hashes, uniqueness of identifiers, edits, and no plaintext secret in the database."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text
from stdnum.cn import ric, uscc

from clientfolio.domain.errors import Conflict, InvalidInput, PermissionDenied
from clientfolio.services import audit, customers

# Valid numbers, built with stdnum's own check-digit functions.
RID = "11010519900307123" + ric.calc_check_digit("11010519900307123" + "0")  # 110105199003071239
RID2 = "44030519851120456" + ric.calc_check_digit("44030519851120456" + "0")  # 440305198511204563
RID_X = next(s + "X" for n in range(1000) if ric.calc_check_digit((s := f"31011519880701{n:03d}") + "0") == "X")
USCC = "91110108MA01G2345" + uscc.calc_check_digit("91110108MA01G2345")  # 91110108MA01G2345U
PASSPORT = "E12345678"
PHONE, PHONE_E164 = "13812345678", "+8613812345678"
EMAIL = "zhang.san.secret@example.com"

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def add(vault, name="张三", actor="admin", **kw):
    kw.setdefault("kind", "person")
    kw.setdefault("tier", "standard")
    return customers.add_customer(vault=vault, actor=actor, name=name, **kw)


def count(vault, table: str) -> int:
    with vault.uow() as uow:
        return uow.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def events(vault, action: str) -> list[dict]:
    with vault.uow() as uow:
        rows = uow.session.execute(text("SELECT seq, actor, action, object_id, customer_code, outcome, details "
                                        "FROM audit_events WHERE action = :a ORDER BY seq"), {"a": action})
        return [dict(r._mapping) for r in rows]


def idents(view) -> dict[str, tuple[str, bool]]:
    return {i.kind: (i.value, i.masked) for i in view.identifiers}


# --- codes and validation -------------------------------------------------------------------------------

def test_codes_are_assigned_in_sequence(vault):
    made = [add(vault, name=f"客户 {i}").code for i in range(3)]
    assert made == ["C000001", "C000002", "C000003"]
    org = add(vault, name="北京某某科技有限公司", kind="organization", tier="key", identifiers={"credit_code": USCC})
    assert org.code == "C000004" and (org.kind, org.tier) == ("organization", "key")
    page = customers.list_customers(vault=vault, actor="admin")
    assert [c.code for c in page.items] == ["C000001", "C000002", "C000003", "C000004"] and page.total == 4
    created = events(vault, "customer.create")
    assert [e["object_id"] for e in created] == made + ["C000004"]
    assert json.loads(created[-1]["details"]) == {"fields": ["identifier.credit_code"]}


BAD_INPUTS = [
    ({"phone": "12345"}, "12345"),
    ({"phone": "1381234567890123"}, "1381234567890123"),
    ({"email": "zhang.san.at.example.com"}, "zhang.san.at.example.com"),
    ({"email": "zhang@@example.com"}, "zhang@@example.com"),
    ({"email": "secretlocal@-bad-.invalid_"}, "secretlocal"),
    ({"identifiers": {"resident_id": RID[:17] + ("0" if RID[17] != "0" else "1")}}, RID[:17]),  # checksum
    ({"identifiers": {"resident_id": "110105199002301230"}}, "110105199002301230"),  # 30 February
    ({"identifiers": {"resident_id": "11010519900307"}}, "11010519900307"),  # too short
    ({"identifiers": {"credit_code": USCC[:17] + ("0" if USCC[17] != "0" else "1")}}, USCC[:17]),
    ({"identifiers": {"credit_code": "91110108IO01G2345U"}}, "91110108IO01G2345U"),
    ({"identifiers": {"passport": "E1!"}}, "E1!"),
]


def test_invalid_contacts_and_identifiers_are_refused_without_echoing_them(vault):
    for fields, secret in BAD_INPUTS:  # one vault for all cases: a vault per case costs more than the case
        with pytest.raises(InvalidInput) as refused:
            add(vault, **fields)
        message = refused.value.message
        assert secret.lower() not in message.lower() and secret not in str(refused.value), (fields, message)
    with pytest.raises(InvalidInput, match="unknown identifier kind"):
        add(vault, identifiers={"ssn": "123-45-6789"})
    assert count(vault, "customers") == 0 and count(vault, "customer_identifiers") == 0
    assert events(vault, "customer.create") == []
    valid = add(vault, phone=PHONE)  # a valid one still goes through (PostgreSQL may skip spent sequence numbers)
    assert re.fullmatch(r"C\d{6}", valid.code) and valid.phone == PHONE_E164


def test_full_width_and_spaced_input_is_normalized(vault):
    c = add(vault, phone=PHONE.translate(FULL_WIDTH), email="ＺＨＡＮＧ＠Ｅｘａｍｐｌｅ．ｃｏｍ",
            identifiers={"resident_id": " ".join([RID[:6], RID[6:14], RID[14:]]).translate(FULL_WIDTH),
                         "passport": "ｅ１２３４５６７８"})
    assert c.phone == PHONE_E164
    assert c.email == "ZHANG@example.com"
    shown = customers.show_customer(vault=vault, actor="admin", code=c.code, reveal=True)
    assert idents(shown) == {"resident_id": (RID, False), "passport": (PASSPORT, False)}
    x = add(vault, name="李四", identifiers={"resident_id": RID_X[:17] + "x"})  # lower-case x is fine
    assert idents(customers.show_customer(vault=vault, actor="admin", code=x.code, reveal=True)) == \
           {"resident_id": (RID_X, False)}


# --- masking and reveal ----------------------------------------------------------------------------------

def test_identifiers_are_masked_in_show_and_list(vault):
    c = add(vault, identifiers={"resident_id": RID, "passport": PASSPORT})
    org = add(vault, name="某公司", kind="organization", identifiers={"credit_code": USCC})
    expected = {"resident_id": (RID[:6] + "*" * 8 + RID[-4:], True), "passport": ("E*****678", True)}
    assert idents(c) == expected
    assert idents(customers.show_customer(vault=vault, actor="admin", code=c.code)) == expected
    listed = {v.code: v for v in customers.list_customers(vault=vault, actor="admin").items}
    assert idents(listed[c.code]) == expected
    assert idents(listed[org.code]) == {"credit_code": (USCC[:2] + "*" * 12 + USCC[-4:], True)}
    for view in (c, listed[c.code], listed[org.code]):
        rendered = json.dumps(view.to_dict(), ensure_ascii=False)
        assert RID not in rendered and PASSPORT not in rendered and USCC not in rendered
    assert events(vault, "identifier.unmask") == []  # masked views are not reveals


def test_reveal_unmasks_for_admin_and_is_audited(staffed):
    vault = staffed
    c = add(vault, identifiers={"resident_id": RID, "credit_code": USCC})
    shown = customers.show_customer(vault=vault, actor="admin", code=c.code, reveal=True)
    assert idents(shown) == {"resident_id": (RID, False), "credit_code": (USCC, False)}
    [event] = events(vault, "identifier.unmask")
    assert (event["actor"], event["object_id"], event["customer_code"], event["outcome"]) == \
           ("admin", c.code, c.code, "ok")
    assert json.loads(event["details"]) == {"kinds": ["credit_code", "resident_id"]}
    assert RID not in event["details"]

    manager = customers.show_customer(vault=vault, actor="max", code=c.code, reveal=True)
    assert idents(manager)["resident_id"] == (RID, False)
    for clerk_or_viewer in ("clara", "vera"):
        with pytest.raises(PermissionDenied):
            customers.show_customer(vault=vault, actor=clerk_or_viewer, code=c.code, reveal=True)
        masked = customers.show_customer(vault=vault, actor=clerk_or_viewer, code=c.code)
        assert all(i.masked for i in masked.identifiers)
    reveals = events(vault, "identifier.unmask")
    assert [(e["actor"], e["outcome"]) for e in reveals] == \
           [("admin", "ok"), ("max", "ok"), ("clara", "denied"), ("vera", "denied")]


# --- lookup ----------------------------------------------------------------------------------------------

TYPED_RID = [
    RID,
    f"{RID[:6]} {RID[6:14]} {RID[14:]}",
    f"{RID[:6]}-{RID[6:14]}-{RID[14:]}",
    RID.translate(FULL_WIDTH),
    f"  {RID[:6]}\u3000{RID[6:]}  ",  # ideographic space
    f"{RID[:6]}\u2014{RID[6:]}".translate(FULL_WIDTH),  # em dash and full-width digits
]


def test_find_by_identifier_through_the_keyed_hash(vault):
    target = add(vault, identifiers={"resident_id": RID})
    add(vault, name="李四", identifiers={"resident_id": RID2})
    for typed in TYPED_RID:
        found = customers.find_by_identifier(vault=vault, actor="admin", kind="resident_id", value=typed)
        assert [c.code for c in found] == [target.code], typed
        assert all(i.masked for i in found[0].identifiers)
    lookups = events(vault, "customer.lookup")
    assert len(lookups) == len(TYPED_RID)
    for event in lookups:
        assert json.loads(event["details"]) == {"kind": "resident_id", "matches": 1}
        assert RID not in event["details"] and RID not in event["object_id"]
    with vault.uow() as uow:
        hashes = [r[0] for r in uow.session.execute(text("SELECT lookup_hash FROM customer_identifiers"))]
    assert vault.fields.lookup_hash("resident_id", RID) in hashes
    assert all(RID not in h for h in hashes)


def test_find_by_identifier_other_kinds_and_misses(vault):
    org = add(vault, name="某公司", kind="organization", identifiers={"credit_code": USCC, "passport": PASSPORT})
    assert [c.code for c in customers.find_by_identifier(vault=vault, actor="admin", kind="credit_code",
                                                         value=USCC.lower())] == [org.code]
    assert [c.code for c in customers.find_by_identifier(vault=vault, actor="admin", kind="passport",
                                                         value="e 1234 5678")] == [org.code]
    assert customers.find_by_identifier(vault=vault, actor="admin", kind="resident_id", value=RID2) == []
    # the same characters as another kind are another value
    assert customers.find_by_identifier(vault=vault, actor="admin", kind="passport", value=USCC) == []
    with pytest.raises(InvalidInput) as refused:
        customers.find_by_identifier(vault=vault, actor="admin", kind="resident_id", value="110105199003071230")
    assert "110105199003071230" not in refused.value.message


def test_two_customers_cannot_share_a_resident_id(vault):
    first = add(vault, identifiers={"resident_id": RID})
    with pytest.raises(Conflict, match=first.code):
        add(vault, name="冒名者", identifiers={"resident_id": RID.translate(FULL_WIDTH)})
    assert count(vault, "customers") == 1 and count(vault, "customer_identifiers") == 1
    other = add(vault, name="李四", identifiers={"resident_id": RID2})
    with pytest.raises(Conflict, match=first.code):
        customers.edit_customer(vault=vault, actor="admin", code=other.code, identifiers={"resident_id": RID})
    assert idents(customers.show_customer(vault=vault, actor="admin", code=other.code, reveal=True)) == \
           {"resident_id": (RID2, False)}
    # setting a customer's own number again is not a conflict
    again = customers.edit_customer(vault=vault, actor="admin", code=first.code, identifiers={"resident_id": RID})
    assert again.code == first.code


# --- edit ------------------------------------------------------------------------------------------------

def test_edit_customer_changes_and_removes_fields(vault):
    c = add(vault, phone=PHONE, email=EMAIL, identifiers={"resident_id": RID, "passport": PASSPORT})
    edited = customers.edit_customer(vault=vault, actor="admin", code=c.code.lower(), name="  张  三丰 ",
                                     tier="key", phone="+86 139 1234 5678", email="",
                                     identifiers={"passport": None, "resident_id": RID2})
    assert (edited.name, edited.tier, edited.phone, edited.email) == ("张 三丰", "key", "+8613912345678", None)
    shown = customers.show_customer(vault=vault, actor="admin", code=c.code, reveal=True)
    assert idents(shown) == {"resident_id": (RID2, False)}
    assert (shown.name, shown.tier, shown.phone, shown.email) == ("张 三丰", "key", "+8613912345678", None)
    assert customers.find_by_identifier(vault=vault, actor="admin", kind="resident_id", value=RID) == []
    assert customers.find_by_identifier(vault=vault, actor="admin", kind="passport", value=PASSPORT) == []
    assert [x.code for x in customers.find_by_identifier(vault=vault, actor="admin", kind="resident_id",
                                                         value=RID2)] == [c.code]
    [event] = events(vault, "customer.edit")
    assert sorted(json.loads(event["details"])["fields"]) == \
           ["email", "identifier.passport", "identifier.resident_id", "name", "phone", "tier"]
    removed = customers.edit_customer(vault=vault, actor="admin", code=c.code, phone=None,
                                      identifiers={"resident_id": ""})
    assert removed.phone is None and removed.identifiers == []
    assert count(vault, "customer_identifiers") == 0
    with pytest.raises(InvalidInput, match="nothing to change"):
        customers.edit_customer(vault=vault, actor="admin", code=c.code)
    with pytest.raises(InvalidInput) as refused:
        customers.edit_customer(vault=vault, actor="admin", code=c.code, email="no-at-sign.example.com")
    assert "no-at-sign" not in refused.value.message
    # a later valid edit reuses a removed number freely
    customers.edit_customer(vault=vault, actor="admin", code=c.code, identifiers={"resident_id": RID})
    assert idents(customers.show_customer(vault=vault, actor="admin", code=c.code, reveal=True)) == \
           {"resident_id": (RID, False)}


# --- nothing in clear at rest ----------------------------------------------------------------------------

SECRETS = [RID, RID2, USCC, PASSPORT, PHONE, PHONE_E164, "+86 138", EMAIL, "zhang.san.secret",
           "13912345678", "E98765432"]


def _populate_with_secrets(vault):
    a = add(vault, phone=PHONE, email=EMAIL, identifiers={"resident_id": RID, "passport": PASSPORT})
    b = add(vault, name="某公司", kind="organization", phone="13912345678",
            identifiers={"credit_code": USCC, "resident_id": RID2})
    customers.show_customer(vault=vault, actor="admin", code=a.code, reveal=True)
    customers.find_by_identifier(vault=vault, actor="admin", kind="resident_id", value=RID)
    customers.find_by_identifier(vault=vault, actor="admin", kind="passport", value="E98765432")
    customers.edit_customer(vault=vault, actor="admin", code=b.code, identifiers={"passport": "E98765432"})
    with pytest.raises(Conflict):
        add(vault, name="冒名者", identifiers={"resident_id": RID})
    audit.audit_log(vault=vault, actor="admin")


def test_no_plaintext_identifier_phone_or_email_in_the_database(vault, vault_home):
    _populate_with_secrets(vault)
    with vault.uow() as uow:
        dialect = uow.session.bind.dialect.name
    if dialect == "sqlite":
        files = [p for p in (vault_home / "clientfolio.db", vault_home / "clientfolio.db-wal") if p.exists()]
        assert files and files[0].stat().st_size > 0
        raw = b"".join(p.read_bytes() for p in files)
        assert "张三".encode() in raw  # sanity: names are in clear, so the scan does see the data
        for secret in SECRETS:
            for encoded in (secret.encode("utf-8"), secret.encode("utf-16-le")):
                assert encoded not in raw, f"{secret!r} found in clear in the SQLite files"
        digits = RID[:-1].encode()
        assert digits not in raw
    else:
        with vault.uow() as uow:
            tables = [r[0] for r in uow.session.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))]
            dump = []
            for table in tables:
                for row in uow.session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                    for value in row:
                        dump.append(bytes(value).decode("latin-1") if isinstance(value, (bytes, memoryview))
                                    else repr(value))
        assert {"customers", "customer_identifiers", "audit_events", "versions"} <= set(tables)
        blob = "\n".join(dump)
        assert "张三" in blob  # sanity
        for secret in SECRETS:
            assert secret not in blob, f"{secret!r} found in clear in PostgreSQL"
