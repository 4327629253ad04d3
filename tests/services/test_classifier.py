"""The classifier learned from the vault's own documents: accuracy on held-out documents, no words at rest."""

from __future__ import annotations

import random

import pytest

from clientfolio import bootstrap
from clientfolio.adapters.crypto import generate_master_key
from clientfolio.domain.errors import InvalidInput, PermissionDenied, WrongKey
from clientfolio.services import audit, classification, customers, documents, ingest

# Phrases per class, mixed at random with shared filler, so no single template line gives a class away.
CLASSES = {
    ("contract", "formal"): ["甲方", "乙方", "本协议", "双方同意", "违约", "签署", "履行义务", "争议", "条款",
                             "货物交付", "合作期限", "the parties agree"],
    ("finance", "invoice"): ["开票", "税率", "金额", "单价", "数量", "销售方", "购买方", "税号", "合计",
                             "价款", "tax", "amount due"],
    ("finance", "receipt"): ["转账", "付款", "收款", "账号", "交易", "银行", "流水", "到账", "汇款",
                             "摘要", "transfer", "paid"],
    ("communication", None): ["会议", "讨论", "电话", "沟通", "客户反馈", "下周", "跟进", "安排", "意见",
                              "邮件", "follow up", "meeting"],
    ("signed_form", None): ["本人确认", "同意", "签字", "日期", "声明", "授权", "办理", "申请", "表格",
                            "知悉", "signature", "consent"],
}
FILLER = ["上海", "公司", "2024年", "有限", "相关", "事项", "服务", "北京", "管理", "项目", "资料", "情况"]
MARKER = "独一无二的训练词"


def generated(rng: random.Random, words: list[str]) -> str:
    picked = rng.sample(words, 6) + rng.sample(FILLER, 6)
    rng.shuffle(picked)
    return "，".join(picked) + "。"


@pytest.fixture
def trained_vault(staffed):
    v = staffed
    rng = random.Random(3)
    code = customers.add_customer(vault=v, actor="admin", name="训练客户", kind="organization", tier="standard").code
    for (category, subtype), words in CLASSES.items():
        for i in range(14):
            text = generated(rng, words) + (MARKER if i == 0 else "")
            documents.add_document(vault=v, actor="admin", customer_code=code, content=[text.encode()],
                                   original_name=f"{category}-{i}.txt", category=category, subtype=subtype,
                                   tags=["年度"] if category == "finance" and i % 2 == 0 else None)
    v.jobs.drain()  # extract and seal the texts
    return v, code


def test_training_reaches_useful_accuracy_on_held_out_documents(trained_vault):
    v, _ = trained_vault
    report = classification.train(vault=v, actor="max")
    assert report["documents"] == 70 and report["held_out"] >= 15
    assert report["accuracy"] >= 0.8, report
    assert set(report["classes"]) == {"contract/formal", "finance/invoice", "finance/receipt", "communication/",
                                      "signed_form/"}
    assert report["tags"] == ["年度"]
    events = audit.audit_log(vault=v, actor="admin", action="classifier.*")
    assert {e.action for e in events} == {"classifier.train", "classifier.evaluate"}
    # The model now suggests for new text with a confidence; ingestion uses it.
    made = v.classifier.suggest(generated(random.Random(99), CLASSES[("finance", "receipt")]))
    assert (made.category, made.subtype) == ("finance", "receipt") and made.source.endswith("model")


def test_no_training_word_is_on_disk_and_the_model_needs_the_key(trained_vault, vault_home):
    v, _ = trained_vault
    classification.train(vault=v, actor="admin")
    model = vault_home / "classifier.bin"
    assert model.exists()
    needles = [MARKER, "违约", "转账", "follow up"]  # text only: tags are metadata, kept in the clear by design
    for path in vault_home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for needle in needles:  # 6+ byte needles: a chance match in megabytes of ciphertext is ~1e-7
                encodings = [needle.encode()] + ([needle.encode("utf-16-le")] if len(needle) >= 3 else [])
                assert not any(e in data for e in encodings), (path, needle)
    # Another key cannot read (or use) the model.
    other = bootstrap.build_vault(vault_home, key=generate_master_key())
    with pytest.raises(WrongKey):
        other.classifier.suggest("转账 付款 收款")


def test_ingestion_files_by_a_confident_suggestion(trained_vault, tmp_path):
    v, code = trained_vault
    classification.train(vault=v, actor="admin")
    root = tmp_path / "in"
    (root / code).mkdir(parents=True)
    (root / code / "scan.txt").write_text(generated(random.Random(5), CLASSES[("finance", "invoice")]) +
                                          " 增值税专用发票 发票代码 价税合计", encoding="utf-8")
    [result] = [ingest.ingest_file(v, "clara", root, p, auto_file_threshold=0.6) for p in ingest.candidates(root)]
    assert (result.outcome, result.category, result.subtype) == ("stored", "finance", "invoice")
    shown = documents.show_document(vault=v, actor="admin", document_id=result.document_id)
    assert shown.suggestion["category"] == "finance" and shown.suggestion["confidence"] >= 0.6


def test_who_may_train_and_what_too_little_data_says(trained_vault, staffed):
    v, _ = trained_vault
    for who in ("vera", "clara", "audrey", "olga"):
        with pytest.raises(PermissionDenied):
            classification.train(vault=v, actor=who)
    assert {e.actor for e in audit.audit_log(vault=v, actor="admin", action="classifier.train")
            if e.outcome == "denied"} == {"vera", "clara", "audrey", "olga"}
    with pytest.raises(InvalidInput, match="holdout"):
        classification.evaluate(vault=v, actor="admin", holdout=0.9)


def test_an_empty_vault_cannot_be_trained(staffed):
    with pytest.raises(InvalidInput, match="not enough filed documents"):
        classification.train(vault=staffed, actor="admin")
