import tomllib
from pathlib import Path

import pytest

import clientfolio
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.taxonomy import Category, Subtype, Taxonomy, merge_taxonomies, taxonomy_from_dict

DATA_FILE = Path(clientfolio.__file__).parent / "data/taxonomy.toml"


@pytest.fixture(scope="module")
def raw() -> dict:
    with DATA_FILE.open("rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def taxonomy(raw) -> Taxonomy:
    return taxonomy_from_dict(raw)


def test_default_taxonomy_content(taxonomy):
    assert taxonomy.slugs == ("id_document", "contract", "signed_form", "finance", "communication",
                              "signature_specimen", "other")
    assert [s.slug for s in taxonomy.category("id_document").subtypes] == [
        "resident_id", "passport", "business_licence", "travel_permit", "other"]
    assert [s.slug for s in taxonomy.category("contract").subtypes] == [
        "initial", "formal", "renewal", "amendment"]
    assert [s.slug for s in taxonomy.category("finance").subtypes] == ["invoice", "receipt", "statement"]
    assert taxonomy.category("signed_form").subtypes == ()
    sensitive = {c.slug for c in taxonomy.categories if c.sensitive_by_default}
    assert sensitive == {"id_document", "signature_specimen"}
    assert all(c.label_zh and c.label_en for c in taxonomy.categories)
    assert all(s.label_zh and s.label_en for c in taxonomy.categories for s in c.subtypes)


def test_labels(taxonomy):
    assert taxonomy.label("id_document", None) == "证件"
    assert taxonomy.label("id_document", None, lang="en") == "ID documents"
    assert taxonomy.label("id_document", "travel_permit") == "港澳台通行证"
    assert taxonomy.label("contract", "amendment") == "补充协议"
    assert taxonomy.label("signed_form", None) == "签字单据"
    assert taxonomy.label("finance", "receipt", "en") == "Payment receipt"
    with pytest.raises(InvalidInput, match="language"):
        taxonomy.label("contract", None, lang="fr")


def test_validate(taxonomy):
    taxonomy.validate("contract", "formal")
    taxonomy.validate("contract", None)
    taxonomy.validate("signed_form", None)
    with pytest.raises(InvalidInput, match="initial, formal, renewal, amendment"):
        taxonomy.validate("contract", "invoice")
    with pytest.raises(InvalidInput, match="has no subtypes"):
        taxonomy.validate("signed_form", "formal")
    with pytest.raises(InvalidInput, match="id_document, contract"):
        taxonomy.validate("contracts", None)
    assert taxonomy.is_sensitive_by_default("signature_specimen")
    assert not taxonomy.is_sensitive_by_default("contract")


def test_dataclasses_are_frozen(taxonomy):
    assert isinstance(taxonomy.category("contract"), Category)
    assert isinstance(taxonomy.category("contract").subtypes[0], Subtype)
    with pytest.raises(AttributeError):
        taxonomy.category("contract").sensitive_by_default = True  # type: ignore[misc]


def cat(slug, zh="中", en="En", **extra):
    return {"slug": slug, "zh": zh, "en": en, **extra}


@pytest.mark.parametrize("data, message", [
    ({"category": []}, "no categories"),
    ({"category": [cat("Contract")]}, "slug must match"),
    ({"category": [cat("a" * 41)]}, "slug must match"),
    ({"category": [cat("9lives")]}, "slug must match"),
    ({"category": [cat("a"), cat("a")]}, "duplicate category slug 'a'"),
    ({"category": [cat("a", subtype=[cat("x"), cat("x")])]}, "duplicate subtype"),
    ({"category": [cat("a", subtype=[cat("x-y")])]}, "slug must match"),
    ({"category": [{"slug": "a", "zh": "中"}]}, "label 'en' is missing"),
    ({"category": [cat("a", zh="  ")]}, "label 'zh' is missing"),
    ({"category": [cat("a", sensitive_by_default="yes")]}, "true or false"),
    ({"category": [cat("a", sensitve_by_default=True)]}, "unknown keys"),
    ({"categories": []}, "unknown keys"),
    ({"category": {"slug": "a"}}, "must be a list"),
    ([], "must be a table"),
])
def test_bad_taxonomies(data, message):
    with pytest.raises(InvalidInput, match=message):
        taxonomy_from_dict(data)


def test_merge_adds_and_relabels(raw):
    extension = {"category": [
        {"slug": "contract", "en": "Agreements",
         "subtype": [cat("termination", "解除协议", "Termination agreement"), {"slug": "formal", "zh": "正式签约合同"}]},
        {"slug": "communication", "sensitive_by_default": True},
        cat("loan", "贷款资料", "Loan files", sensitive_by_default=True, subtype=[cat("application", "申请", "Application")]),
    ]}
    merged = taxonomy_from_dict(merge_taxonomies(raw, extension))
    assert merged.slugs[-1] == "loan" and len(merged.slugs) == 8
    assert merged.label("contract", None, "en") == "Agreements"
    assert merged.label("contract", None, "zh") == "合同"
    assert merged.label("contract", "formal") == "正式签约合同"
    assert merged.label("contract", "formal", "en") == "Formal contract"
    assert [s.slug for s in merged.category("contract").subtypes][-1] == "termination"
    assert merged.is_sensitive_by_default("communication")
    assert merged.is_sensitive_by_default("loan")
    merged.validate("loan", "application")
    # the base dict is untouched
    assert taxonomy_from_dict(raw).label("contract", None, "en") == "Contracts"


def test_merge_keeps_everything_not_mentioned(raw):
    merged = taxonomy_from_dict(merge_taxonomies(raw, {"category": []}))
    assert merged == taxonomy_from_dict(raw)
    assert taxonomy_from_dict(merge_taxonomies(raw, {})) == taxonomy_from_dict(raw)


@pytest.mark.parametrize("extension, message", [
    ({"category": [{"slug": "id_document", "sensitive_by_default": False}]}, "cannot be made non-sensitive"),
    ({"category": [{"slug": "loan", "zh": "贷款"}]}, "label 'en' is missing"),
    ({"category": [{"slug": "contract", "subtype": [{"slug": "new_one", "en": "New"}]}]}, "label 'zh'"),
    ({"category": [cat("loan"), cat("loan")]}, "duplicate category slug"),
    ({"category": [{"slug": "contract", "subtype": [cat("x"), cat("x")]}]}, "duplicate subtype slug"),
    ({"category": [{"slug": "contract", "remove": True}]}, "unknown keys"),
    ({"category": [cat("Bad Slug")]}, "slug must match"),
])
def test_merge_refuses(raw, extension, message):
    with pytest.raises(InvalidInput, match=message):
        merge_taxonomies(raw, extension)
