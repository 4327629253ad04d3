"""The classifier learned from the vault's own documents: accuracy on held-out documents, no words at rest."""

from __future__ import annotations

import random

import pytest

from clientfolio import bootstrap
from clientfolio.adapters.crypto import generate_master_key
from clientfolio.adapters.settings import read_settings
from clientfolio.domain.errors import InvalidInput, PermissionDenied, WrongKey
from clientfolio.services import audit, classification, customers, documents, ingest, users
from fixtures_classes import KINDS, paper  # tests/ is on sys.path (rootdir conftest)
from fixtures_docs import elf_binary

PER_KIND = 12  # 6 kinds x 12 = 72 documents
MARKERS = ["独一无二的训练词", "quixotrellis"]  # in one document's text only: must never be found at rest


def label(kind) -> str:
    return f"{kind[0]}/{kind[1] or ''}"


@pytest.fixture
def trained_vault(staffed):
    v = staffed
    rng = random.Random(3)
    code = customers.add_customer(vault=v, actor="admin", name="训练客户", kind="organization", tier="standard").code
    for kind in KINDS:
        for i in range(PER_KIND):
            text = paper(rng, kind) + (f"附注：{MARKERS[0]}，{MARKERS[1]}。\n" if i == 0 else "")
            documents.add_document(vault=v, actor="admin", customer_code=code, content=[text.encode()],
                                   original_name=f"{kind[0]}-{i}.txt", category=kind[0], subtype=kind[1],
                                   tags=["年度"] if kind[0] == "finance" and i % 2 == 0 else None)
    assert v.jobs.drain() >= PER_KIND * len(KINDS)  # extract and seal the texts (and index them)
    return v, code


def test_training_reaches_useful_accuracy_on_held_out_documents(trained_vault):
    v, _ = trained_vault
    report = classification.train(vault=v, actor="max")
    print(f"\nheld-out accuracy {report['accuracy']:.1%} on {report['held_out']} of {report['documents']} documents")
    assert report["documents"] == PER_KIND * len(KINDS) and report["held_out"] == 18
    assert report["accuracy"] >= 0.8, report
    assert set(report["classes"]) == {label(k) for k in KINDS} == set(report["per_class"])
    assert sum(c["trained"] for c in report["per_class"].values()) == report["trained_on"] == 54
    assert all(c["held_out"] == 3 for c in report["per_class"].values())
    assert all(set(c) == {"true", "predicted", "count"} for c in report["confusions"])
    assert report["tags"] == ["年度"]
    [event] = audit.audit_log(vault=v, actor="admin", action="classifier.*")
    assert (event.action, event.actor, event.outcome) == ("classifier.train", "max", "ok")
    assert event.details == {"documents": 72, "accuracy": report["accuracy"], "classes": 6}
    # The saved model suggests for new papers, with a confidence.
    rng = random.Random(99)
    for kind in KINDS:
        made = v.classifier.suggest(paper(rng, kind))
        assert (made.category, made.subtype) == kind and "model" in made.source and 0 < made.confidence <= 1
    # Evaluating alone saves nothing new and is recorded as such.
    again = classification.evaluate(vault=v, actor="admin", holdout=0.5)
    assert again["held_out"] == 36 and again["accuracy"] >= 0.8
    assert [e.action for e in audit.audit_log(vault=v, actor="admin", action="classifier.*")] == \
        ["classifier.evaluate", "classifier.train"]


def test_no_training_word_is_on_disk_and_the_model_needs_the_key(trained_vault, vault_home):
    v, _ = trained_vault
    classification.train(vault=v, actor="admin")
    model = vault_home / "classifier.bin"
    assert model.exists() and not list(vault_home.glob(".classifier.bin.*"))
    needles = MARKERS + ["违约责任", "电子回单", "Funds credited"]  # text only: tags are metadata, in clear by design
    for path in vault_home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:  # 6+ byte needles: a chance match in megabytes of ciphertext is ~1e-7
                encodings = {needle.encode(), needle.encode("utf-16-le"), needle.lower().encode()}
                assert not any(e in data for e in encodings), (path, needle)
    # Another key can neither read nor use the model; nor can anyone use an altered one.
    other = bootstrap.build_vault(vault_home, key=generate_master_key())
    with pytest.raises(WrongKey):
        other.classifier.suggest("转账 付款 收款")
    sealed = bytearray(model.read_bytes())
    sealed[len(sealed) // 2] ^= 1
    model.write_bytes(bytes(sealed))
    with pytest.raises(WrongKey, match="altered"):
        bootstrap.open_vault(vault_home).classifier.suggest("转账 付款 收款")


def test_ingestion_files_by_the_configured_threshold(trained_vault, vault_home, tmp_path):
    v, code = trained_vault
    classification.train(vault=v, actor="admin")
    config = vault_home / "config.toml"
    config.write_text((config.read_text() if config.exists() else "") + "auto_file_threshold = 0.6\n")
    v = bootstrap.open_vault(vault_home)
    assert v.auto_file_threshold == 0.6
    root = tmp_path / "in"
    (root / code).mkdir(parents=True)
    (root / code / "scan.txt").write_text(paper(random.Random(5), ("finance", "invoice")), encoding="utf-8")
    [result] = [ingest.ingest_file(v, "clara", root, p) for p in ingest.candidates(root)]
    assert (result.outcome, result.category, result.subtype) == ("stored", "finance", "invoice")
    shown = documents.show_document(vault=v, actor="admin", document_id=result.document_id)
    assert shown.suggestion["category"] == "finance" and shown.suggestion["confidence"] >= 0.6


def test_unconfirmed_automatic_filings_teach_nothing_until_a_person_confirms_them(trained_vault, tmp_path):
    v, code = trained_vault
    root = tmp_path / "in"
    (root / code).mkdir(parents=True)
    rng = random.Random(21)
    for i, kind in enumerate((("finance", "invoice"), ("finance", "receipt"))):
        (root / code / f"scan-{i}.txt").write_text(paper(rng, kind), encoding="utf-8")
    got = [ingest.ingest_file(v, "clara", root, p, auto_file_threshold=0) for p in ingest.candidates(root)]
    assert [r.category for r in got] == ["finance", "finance"]  # filed by the classifier, confirmed by nobody
    report = classification.evaluate(vault=v, actor="admin")
    assert report["documents"] == PER_KIND * len(KINDS) and report["left_out"]["awaiting_confirmation"] == 2
    documents.accept_suggestion(vault=v, actor="clara", document_id=got[0].document_id)
    report = classification.train(vault=v, actor="admin")
    assert report["documents"] == PER_KIND * len(KINDS) + 1 and report["left_out"]["awaiting_confirmation"] == 1


def test_suggestions_for_a_file_and_for_a_stored_document(trained_vault):
    v, _ = trained_vault
    classification.train(vault=v, actor="admin")
    data = paper(random.Random(8), ("finance", "receipt")).encode()
    made = classification.suggest_for_file(vault=v, actor="clara", data=data, file_name="张伟-回单.txt")
    assert (made["category"], made["subtype"]) == ("finance", "receipt")
    assert made["threshold"] == 0.85 and made["auto_file"] == (made["confidence"] >= 0.85)
    [event] = audit.audit_log(vault=v, actor="admin", action="classifier.suggest")
    assert (event.actor, event.object_type, len(event.object_id)) == ("clara", "file", 64)
    assert "张伟" not in str(event.details)  # the file's name (often a customer's) is not recorded
    for who in ("vera", "audrey"):  # those who do not file documents get no suggestions
        with pytest.raises(PermissionDenied):
            classification.suggest_for_file(vault=v, actor=who, data=data)
    with pytest.raises(InvalidInput, match="not a document"):
        classification.suggest_for_file(vault=v, actor="clara", data=elf_binary())
    doc = documents.list_documents(vault=v, actor="admin", category="contract", limit=1).items[0]
    on_doc = classification.suggest_for_document(vault=v, actor="admin", document_id=doc.id)
    assert on_doc["category"] == doc.category and on_doc["subtype"] == doc.subtype
    with pytest.raises(PermissionDenied):  # reading its text is reading its content
        classification.suggest_for_document(vault=v, actor="audrey", document_id=doc.id)


def test_who_may_train_and_what_too_little_data_says(trained_vault):
    v, _ = trained_vault
    users.add_user(vault=v, actor="admin", name="mona", role="manager", own_customers_only=True)
    for who in ("vera", "clara", "audrey", "olga", "mona"):
        with pytest.raises(PermissionDenied):
            classification.train(vault=v, actor=who)
    with pytest.raises(PermissionDenied, match="every customer"):
        classification.evaluate(vault=v, actor="mona")
    denied = [e for e in audit.audit_log(vault=v, actor="admin", action="classifier.train") if e.outcome == "denied"]
    assert sorted(e.actor for e in denied) == ["audrey", "clara", "mona", "mona", "olga", "vera"]
    assert not (v.home / "classifier.bin").exists()
    with pytest.raises(InvalidInput, match="holdout"):
        classification.evaluate(vault=v, actor="admin", holdout=0.9)


def test_an_empty_vault_cannot_be_trained(staffed):
    with pytest.raises(InvalidInput, match="not enough filed documents"):
        classification.train(vault=staffed, actor="admin")


def test_the_auto_file_threshold_is_read_from_config(tmp_path):
    assert read_settings(tmp_path).auto_file_threshold == 0.85
    (tmp_path / "config.toml").write_text("auto_file_threshold = 0.7\n")
    assert read_settings(tmp_path).auto_file_threshold == 0.7
    for bad in ("1.5", "-0.1", '"high"', "true"):
        (tmp_path / "config.toml").write_text(f"auto_file_threshold = {bad}\n")
        with pytest.raises(InvalidInput, match="auto_file_threshold"):
            read_settings(tmp_path)
