"""Learning to file: train the classifier on the vault's own filed documents, evaluate it, ask it.

Training reads each active document's extracted text (sealed; decrypted in memory) and its category and
subtype as filed by people. A document whose classifier suggestion is still pending teaches nothing and is
left out (counted as "awaiting_confirmation"): one auto-filed by ingestion that no person has confirmed yet
(learning from it would teach the classifier its own guesses), or one waiting under the fallback category
"other". Accepting the suggestion or editing the category settles it. Classes too small to be held out are
left out too. Only keyed hashes of tokens reach the model, and the model is saved encrypted (see
adapters/classifier.py).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from clientfolio.domain import media
from clientfolio.domain.classification import Suggestion
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.policy import Action
from clientfolio.services.context import Vault, acting_user, authorize, document_or_404
from clientfolio.services.textjobs import run_extraction

MIN_PER_CLASS = 2


def _training_set(vault: Vault) -> tuple[list[str], list[str], list[tuple[str, ...]], dict]:
    """Texts, labels ("category/subtype") and tags of the documents to learn from; and what was left out."""
    texts, labels, tags, unconfirmed = [], [], [], 0
    with vault.uow(read_only=True) as uow:
        for document in uow.documents.all_active():
            latest = document.latest
            if not latest.text_blob_id:
                continue
            if document.suggestion:  # filed by the classifier (or waiting under "other"), not yet by a person
                unconfirmed += 1
                continue
            texts.append(vault.blobs.read(latest.text_blob_id).decode("utf-8", errors="replace"))
            labels.append(f"{document.category}/{document.subtype or ''}")
            tags.append(tuple(document.tags))
    counts = Counter(labels)
    keep = [i for i, label in enumerate(labels) if counts[label] >= MIN_PER_CLASS]
    left_out = {"classes_too_small": {label: n for label, n in counts.items() if n < MIN_PER_CLASS},
                "awaiting_confirmation": unconfirmed}
    return [texts[i] for i in keep], [labels[i] for i in keep], [tags[i] for i in keep], left_out


def _authorized(vault: Vault, actor: str, what: str, holdout: float) -> str:
    with vault.uow(read_only=True) as uow:  # a denial is recorded after the rollback, like any other
        user = acting_user(uow, actor)
        authorize(user, Action.CLASSIFIER_TRAIN, object_type="classifier", object_id=what)
        name = user.name
    if not 0.1 <= holdout <= 0.5:
        raise InvalidInput("holdout must be between 0.1 and 0.5")
    return name


def _classifier(vault: Vault):
    if vault.classifier is None:
        raise InvalidInput("this vault has no classifier configured")
    return vault.classifier


@contextmanager
def _explained(left_out: dict) -> Iterator[None]:
    """A refusal for too little to learn from names the documents that wait for a person's confirmation."""
    try:
        yield
    except InvalidInput as exc:
        waiting = left_out["awaiting_confirmation"]
        if not waiting:
            raise
        raise InvalidInput(f"{exc.message}; {waiting} documents filed by the classifier wait for a person to "
                           "confirm their filing (accept the suggestion or edit the category)") from None


def evaluate(*, vault: Vault, actor: str, holdout: float = 0.25) -> dict:
    """Accuracy on held-out documents, per class, and the commonest confusions (nothing is saved)."""
    name = _authorized(vault, actor, "evaluate", holdout)
    texts, labels, _, left_out = _training_set(vault)
    with _explained(left_out):
        report = _classifier(vault).evaluate(texts, labels, holdout=holdout) | {"left_out": left_out}
    _record(vault, name, "classifier.evaluate", report)
    return report


def train(*, vault: Vault, actor: str, holdout: float = 0.25) -> dict:
    """Evaluate on held-out documents, then learn from all of them and save the (encrypted) model."""
    name = _authorized(vault, actor, "train", holdout)
    texts, labels, tags, left_out = _training_set(vault)
    classifier = _classifier(vault)
    with _explained(left_out):
        report = classifier.evaluate(texts, labels, holdout=holdout) | {"left_out": left_out}
        report.update(classifier.fit_and_save(texts, labels, tags))
    _record(vault, name, "classifier.train", report)
    return report


def suggest(*, vault: Vault, text: str, file_name: str = "") -> Suggestion | None:
    """Rules and the model on a text already in memory (ingestion's classify step); no data is read."""
    return vault.classifier.suggest(text, file_name) if vault.classifier is not None else None


def _answer(vault: Vault, made: Suggestion | None) -> dict | None:
    if made is None:
        return None
    return made.to_dict() | {"auto_file": made.confidence >= vault.auto_file_threshold,
                             "threshold": vault.auto_file_threshold}


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
    return _answer(vault, suggest(vault=vault, text=text))


def suggest_for_file(*, vault: Vault, actor: str, data: bytes, file_name: str = "") -> dict | None:
    """What the classifier would file a file not yet in the vault as: its text is extracted (OCR included)
    in memory and nothing is stored. For those who file documents."""
    sha256 = hashlib.sha256(data).hexdigest()
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.DOCUMENT_CREATE, object_type="file", object_id=sha256)
        uow.record(actor=user.name, action="classifier.suggest", object_type="file", object_id=sha256)
        uow.commit()  # the file's name is not recorded: names often carry a customer's name
    if not data:
        raise InvalidInput("the file is empty")
    if len(data) > vault.max_upload_bytes:
        raise InvalidInput(f"the file is larger than the limit of {vault.max_upload_bytes // 2**20} MB")
    media_type = media.sniff(data[:media.SNIFF_BYTES])
    refused = media.refuse_for_ingestion(media_type)
    if refused:
        raise InvalidInput(f"not a document: {refused}")
    outcome = run_extraction(vault, data, media_type)
    if outcome.status not in ("done", "none"):
        raise InvalidInput(f"no text could be read from the file ({outcome.status}: {outcome.error or 'no detail'})")
    return _answer(vault, suggest(vault=vault, text=outcome.text or "", file_name=file_name))


def _record(vault: Vault, actor: str, action: str, report: dict) -> None:
    with vault.uow() as uow:
        uow.record(actor=actor, action=action, object_type="classifier", object_id="model",
                   details={"documents": report["documents"], "accuracy": report["accuracy"],
                            "classes": len(report["per_class"])})
        uow.commit()
