"""What is missing from a customer's file, on SQLite and PostgreSQL, as each role may know it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clientfolio.domain.errors import NotFound, PermissionDenied
from clientfolio.services import customers, documents, requirements
from clientfolio.services.context import vault_today


def _doc(v, code, category, subtype, *, expires=None, body=b"x"):
    return documents.add_document(vault=v, actor="admin", customer_code=code, content=[body],
                                  original_name="scan.txt", category=category, subtype=subtype, expires_on=expires)


def slugs(v, actor, code):
    return [g.requirement for g in requirements.missing_documents(vault=v, actor=actor, code=code)]


def test_missing_documents_follow_what_is_filed(staffed):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="张伟", kind="person", tier="key").code
    assert slugs(v, "max", code) == ["identity", "contract", "signature"]
    today = vault_today(v)
    _doc(v, code, "id_document", "resident_id", expires=today - timedelta(days=3), body=b"old card")
    gap = requirements.missing_documents(vault=v, actor="max", code=code)[0]
    assert gap.requirement == "identity" and gap.expired_on == today - timedelta(days=3)
    assert gap.label_zh.startswith("有效身份证件") and gap.subtypes == ["resident_id", "passport", "travel_permit"]
    _doc(v, code, "id_document", "passport", expires=today + timedelta(days=400), body=b"passport")
    _doc(v, code, "contract", "formal", body=b"contract")
    assert slugs(v, "max", code) == ["signature"]


def test_users_who_may_not_see_sensitive_documents_hear_only_of_other_categories(staffed):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="李四", kind="person", tier="key").code
    assert slugs(v, "vera", code) == ["contract"]  # ID documents and signatures are sensitive: not judged
    assert slugs(v, "clara", code) == ["contract"]
    secret = _doc(v, code, "contract", "formal", body=b"secret contract")
    documents.edit_document(vault=v, actor="admin", document_id=secret.id, sensitive=True)
    assert slugs(v, "vera", code) == ["contract"]  # judged on what she may see: the hidden one is not revealed
    assert "contract" not in slugs(v, "max", code)


def test_own_customers_and_unknown_codes_are_refused(staffed):
    v = staffed
    code = customers.add_customer(vault=v, actor="admin", name="王五", kind="organization", tier="standard").code
    with pytest.raises(PermissionDenied):
        requirements.missing_documents(vault=v, actor="olga", code=code)
    with pytest.raises(NotFound):
        requirements.missing_documents(vault=v, actor="max", code="C999999")
    assert slugs(v, "max", code) == ["business_licence", "contract"]

