"""ID document fields through the services: proposed after extraction, shown masked or not, confirmed by a
manager into the customer and the document, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text as sql

from clientfolio.domain.errors import InvalidInput, NotFound, PermissionDenied
from clientfolio.services import audit, customers, documents, fields, ingest

RID = "11010519491231002X"
FRONT = f"中华人民共和国居民身份证\n姓名 王芳\n性别 女 民族 汉\n出生 1949年12月31日\n住址 北京市朝阳区建国路88号\n公民身份号码 {RID}"
BACK = "中华人民共和国\n居民身份证\n签发机关 北京市公安局朝阳分局\n有效期限 2015.03.01-2035.03.01"


@pytest.fixture
def card(staffed):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="王芳", kind="person", tier="standard").code
    front = documents.add_document(vault=v, actor="clara", customer_code=code, content=[FRONT.encode()],
                                   original_name="front.txt", category="id_document", subtype="resident_id")
    back = documents.add_document(vault=v, actor="clara", customer_code=code, content=[BACK.encode()],
                                  original_name="back.txt", category="id_document", subtype="resident_id")
    v.jobs.drain()
    return v, code, front.id, back.id


def rows(view):
    return {r.name: r for r in view.rows}


def test_fields_are_proposed_after_extraction_and_shown_side_by_side(card):
    v, code, front, back = card
    view = fields.show_fields(vault=v, actor="max", document_id=front)
    assert (view.kind, view.status) == ("resident_id_front", "proposed")
    r = rows(view)
    assert r["resident_id"].proposed == RID and r["resident_id"].current is None and not r["resident_id"].masked
    assert r["name"].proposed == r["name"].current == "王芳"
    assert r["birth_date"].proposed == "1949-12-31" and r["sex"].proposed == "女"
    back_view = fields.show_fields(vault=v, actor="max", document_id=back)
    assert rows(back_view)["valid_until"].proposed == "2035-03-01"


def test_who_sees_what(card):
    v, code, front, _ = card
    for who in ("vera", "clara", "audrey"):  # the card is sensitive: its content is not theirs to read
        with pytest.raises(PermissionDenied):
            fields.show_fields(vault=v, actor=who, document_id=front)
    denied = [e for e in audit.audit_log(vault=v, actor="admin", object_id=str(front)) if e.outcome == "denied"]
    assert {e.actor for e in denied} == {"vera", "clara", "audrey"}


def test_a_manager_confirms_into_the_customer_and_the_document(card):
    v, code, front, back = card
    confirmed = fields.confirm_fields(vault=v, actor="max", document_id=front)
    assert confirmed.status == "confirmed"
    shown = customers.show_customer(vault=v, actor="max", code=code, reveal=True)
    assert [(i.kind, i.value) for i in shown.identifiers] == [("resident_id", RID)]
    assert [c.code for c in customers.find_by_identifier(vault=v, actor="admin", kind="resident_id", value=RID)] == [code]
    fields.confirm_fields(vault=v, actor="max", document_id=back, only=["valid_until", "valid_from"])
    doc = documents.show_document(vault=v, actor="max", document_id=back)
    assert (doc.issued_on, doc.expires_on) == (date(2015, 3, 1), date(2035, 3, 1))
    [event] = audit.audit_log(vault=v, actor="admin", action="document.fields_confirm", object_id=str(front))
    assert event.details["fields"] == ["customer.resident_id"] and RID not in repr(event.details)
    with pytest.raises(InvalidInput, match="no proposed fields"):
        fields.confirm_fields(vault=v, actor="max", document_id=front)


def test_a_clerk_may_confirm_dates_but_not_identifiers(staffed):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="王芳", kind="person", tier="standard").code
    # a copy filed as normal by a manager: the clerk may read it, yet may not write identifiers from it
    d = documents.add_document(vault=v, actor="max", customer_code=code, content=[FRONT.encode()],
                               original_name="copy.txt", category="id_document", subtype="resident_id",
                               sensitive=False)
    v.jobs.drain()
    view = fields.show_fields(vault=v, actor="clara", document_id=d.id)
    assert rows(view)["resident_id"].masked and RID not in rows(view)["resident_id"].proposed
    with pytest.raises(PermissionDenied):
        fields.confirm_fields(vault=v, actor="clara", document_id=d.id)
    assert customers.show_customer(vault=v, actor="admin", code=code).identifiers == []


def test_an_invalid_value_is_never_written(staffed):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="王芳", kind="person", tier="standard").code
    bad = FRONT.replace(RID, "110105194912310021")
    d = documents.add_document(vault=v, actor="max", customer_code=code, content=[bad.encode()],
                               original_name="bad.txt", category="id_document", subtype="resident_id")
    v.jobs.drain()
    assert not rows(fields.show_fields(vault=v, actor="max", document_id=d.id))["resident_id"].valid
    with pytest.raises(InvalidInput, match="checksum"):
        fields.confirm_fields(vault=v, actor="max", document_id=d.id, only=["resident_id"])
    fields.confirm_fields(vault=v, actor="max", document_id=d.id)  # the valid rest (none writable here)
    assert customers.show_customer(vault=v, actor="admin", code=code).identifiers == []


def test_a_version_that_does_not_exist_is_not_found(card):
    v, code, front, back = card
    with pytest.raises(NotFound, match="no version 9"):
        fields.show_fields(vault=v, actor="max", document_id=front, version=9)


def test_rejecting_keeps_the_vault_as_it_was(card):
    v, code, front, _ = card
    with pytest.raises(PermissionDenied):  # the card is sensitive: a clerk cannot read, so cannot judge, it
        fields.reject_fields(vault=v, actor="clara", document_id=front)
    assert fields.reject_fields(vault=v, actor="max", document_id=front).status == "rejected"
    with pytest.raises(InvalidInput, match="no proposed fields"):
        fields.confirm_fields(vault=v, actor="max", document_id=front)
    assert customers.show_customer(vault=v, actor="admin", code=code).identifiers == []


def test_proposals_are_sealed_in_the_database(card):
    v, *_ = card
    with v.uow() as uow:
        rows_ = uow.session.execute(sql("SELECT fields_kind, fields_sealed, fields_status FROM versions "
                                        "WHERE fields_sealed IS NOT NULL")).all()
    assert len(rows_) == 2
    assert all(RID.encode() not in bytes(r[1]) and "王芳".encode() not in bytes(r[1]) for r in rows_)


def test_ingestion_proposes_fields_for_a_matched_id_card(staffed, tmp_path):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="王芳", kind="person", tier="standard").code
    (tmp_path / "in" / code).mkdir(parents=True)
    (tmp_path / "in" / code / "card.txt").write_text(BACK, encoding="utf-8")
    [result] = [ingest.ingest_file(v, "clara", tmp_path / "in", p) for p in ingest.candidates(tmp_path / "in")]
    assert (result.outcome, result.customer) == ("stored", code)  # below the auto-file threshold: "other"
    view = fields.show_fields(vault=v, actor="max", document_id=result.document_id)
    assert view.kind == "resident_id_back" and rows(view)["valid_until"].proposed == "2035-03-01"
