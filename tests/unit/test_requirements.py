"""What each customer should have on file: the requirements file and the check."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from clientfolio.adapters.settings import load_requirements, load_taxonomy
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.requirements import OnFile, missing, requirements_from_dict

TAXONOMY = load_taxonomy(Path("/nonexistent"))
DEFAULT = load_requirements(Path("/nonexistent"), TAXONOMY)
TODAY = date(2026, 6, 1)


def gaps(kind, tier, *docs):
    return [g.requirement.slug for g in missing(DEFAULT, kind=kind, tier=tier, documents=list(docs), today=TODAY)]


def test_a_new_key_person_misses_identity_contract_and_signature():
    assert gaps("person", "key") == ["identity", "contract", "signature"]
    assert gaps("organization", "standard") == ["business_licence", "contract"]
    assert gaps("person", "prospect") == []  # prospects are expected to have nothing yet


def test_a_valid_document_of_any_listed_subtype_meets_the_requirement():
    passport = OnFile("id_document", "passport", date(2030, 1, 1), "active")
    formal = OnFile("contract", "formal", None, "active")
    assert gaps("person", "standard", passport, formal) == []
    initial = OnFile("contract", "initial", None, "active")  # not a formal or renewal contract
    assert gaps("person", "standard", passport, initial) == ["contract"]


def test_expired_or_deleted_documents_do_not_count_and_the_last_expiry_is_reported():
    old = OnFile("id_document", "resident_id", date(2026, 5, 31), "active")
    older = OnFile("id_document", "passport", date(2020, 1, 1), "active")
    deleted = OnFile("id_document", "resident_id", date(2031, 1, 1), "deleted")
    found = missing(DEFAULT, kind="person", tier="standard", documents=[old, older, deleted], today=TODAY)
    identity = next(g for g in found if g.requirement.slug == "identity")
    assert identity.expired_on == date(2026, 5, 31)
    today_is_still_valid = OnFile("id_document", "resident_id", TODAY, "active")
    assert "identity" not in gaps("person", "standard", today_is_still_valid)


@pytest.mark.parametrize("entry, complaint", [
    ({"slug": "x", "category": "nope", "zh": "甲", "en": "A"}, "unknown category"),
    ({"slug": "x", "category": "contract", "subtypes": ["nope"], "zh": "甲", "en": "A"}, "unknown subtype"),
    ({"slug": "x", "category": "contract", "kinds": ["robot"], "zh": "甲", "en": "A"}, "kinds must name"),
    ({"slug": "x", "category": "contract", "zh": "甲"}, "labels are required"),
    ({"slug": "X Y", "category": "contract", "zh": "甲", "en": "A"}, "slug"),
    ({"slug": "x", "category": "contract", "zh": "甲", "en": "A", "colour": "red"}, "unknown keys"),
])
def test_a_wrong_requirements_file_is_refused_with_the_reason(entry, complaint):
    with pytest.raises(InvalidInput, match=complaint):
        requirements_from_dict({"requirement": [entry]}, TAXONOMY)


def test_a_vault_may_replace_the_list(tmp_path):
    (tmp_path / "requirements.toml").write_text(
        '[[requirement]]\nslug = "invoice"\ncategory = "finance"\nsubtypes = ["invoice"]\nzh = "发票"\nen = "An invoice"\n',
        encoding="utf-8")
    own = load_requirements(tmp_path, TAXONOMY)
    assert [r.slug for r in own] == ["invoice"] and own[0].kinds == {"person", "organization"}
