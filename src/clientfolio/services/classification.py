"""Learning to file: train the classifier on the vault's own filed documents, evaluate it, ask it.

Training reads each active document's extracted text (sealed; decrypted in memory) and its category and
subtype as filed by people. Documents still under the ingestion fallback category "other" with a pending
suggestion teach nothing and are left out, as are classes too small to be held out.
"""

from __future__ import annotations

from collections import Counter

from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.policy import Action
from clientfolio.services.context import Vault, acting_user, authorize, document_or_404

MIN_PER_CLASS = 2


def _training_set(vault: Vault) -> tuple[list[str], list[str], list[tuple[str, ...]], dict]:
    texts, labels, tags = [], [], []
    with vault.uow(read_only=True) as uow:
        for document in uow.documents.all_active():
            latest = document.latest
            if not latest.text_blob_id or (document.category == "other" and document.suggestion):
                continue
            texts.append(vault.blobs.read(latest.text_blob_id).decode("utf-8", errors="replace"))
            labels.append(f"{document.category}/{document.subtype or ''}")
            tags.append(tuple(document.tags))
    counts = Counter(labels)
    keep = [i for i, label in enumerate(labels) if counts[label] >= MIN_PER_CLASS]
    skipped = {label: n for label, n in counts.items() if n < MIN_PER_CLASS}
    return [texts[i] for i in keep], [labels[i] for i in keep], [tags[i] for i in keep], skipped


def _authorized(vault: Vault, actor: str, what: str) -> str:
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.CLASSIFIER_TRAIN, object_type="classifier", object_id=what)
        return user.name


def evaluate(*, vault: Vault, actor: str, holdout: float = 0.25) -> dict:
    """Accuracy on held-out documents (nothing saved)."""
    name = _authorized(vault, actor, "evaluate")
    if not 0.1 <= holdout <= 0.5:
        raise InvalidInput("holdout must be between 0.1 and 0.5")
    texts, labels, _, skipped = _training_set(vault)
    report = vault.classifier.evaluate(texts, labels, holdout=holdout)
    report["skipped_classes"] = skipped
    _record(vault, name, "classifier.evaluate", report)
    return report


def train(*, vault: Vault, actor: str, holdout: float = 0.25) -> dict:
    """Evaluate on held-out documents, then learn from all of them and save the (encrypted) model."""
    report = evaluate(vault=vault, actor=actor, holdout=holdout)
    texts, labels, tags, _ = _training_set(vault)
    report.update(vault.classifier.fit_and_save(texts, labels, tags))
    _record(vault, actor, "classifier.train", report)
    return report


def suggest_for_document(*, vault: Vault, actor: str, document_id: int) -> dict | None:
    """What the classifier would file this document as (reading its text is reading its content)."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_READ_CONTENT, customer=customer, document=document)
        latest = document.latest
        uow.record(actor=user.name, action="classifier.suggest", object_type="document", object_id=document.id,
                   customer_code=customer.code)
        uow.commit()
    text = vault.blobs.read(latest.text_blob_id).decode("utf-8", errors="replace") if latest.text_blob_id else ""
    made = vault.classifier.suggest(text)
    return made.to_dict() if made else None


def _record(vault: Vault, actor: str, action: str, report: dict) -> None:
    with vault.uow() as uow:
        uow.record(actor=actor, action=action, object_type="classifier", object_id="model",
                   details={"documents": report["documents"], "accuracy": report["accuracy"],
                            "classes": len(report["per_class"])})
        uow.commit()
