"""Background work on stored versions: extract text (OCR included), keep it encrypted, index it.

Jobs carry ids only. Every job is idempotent and the database says what is still to do, so a job run
twice, or run again after a crash, does no harm.
"""

from __future__ import annotations

from dataclasses import dataclass

from clientfolio.domain.errors import IntegrityFailure
from clientfolio.domain.model import utcnow
from clientfolio.domain.policy import Action
from clientfolio.services.context import Vault, acting_user, authorize, document_or_404
from clientfolio.services.fields import attach_proposal

MAX_ATTEMPTS = 3
NEAR_DUPLICATE = 0.7  # estimated Jaccard similarity of 4-character shingles: a re-scan, not a new paper
SYSTEM = "system"


def schedule_text(vault: Vault, version_id: int) -> None:
    if vault.jobs is not None:
        vault.jobs.enqueue("extract_text", version_id=version_id)


def schedule_index(vault: Vault, document_id: int) -> None:
    if vault.jobs is not None:
        vault.jobs.enqueue("index_document", document_id=document_id)


@dataclass
class TextOutcome:
    """What extraction made of one file, before anything is stored."""
    status: str  # done | none (nothing to read) | failed | needs_password
    text: str = ""
    error: str | None = None
    rendition: bytes | None = None  # the archival PDF of an image
    confidence: float | None = None
    pages: int | None = None


def run_extraction(vault: Vault, data: bytes, media_type: str) -> TextOutcome:
    """Text (OCR included) and rendition of a file's bytes, in memory. An engine crash raises."""
    result = vault.extractor.extract(data, media_type)
    if result.status != "ok":
        status = "needs_password" if result.status == "needs_password" else "failed"
        return TextOutcome(status, error=result.message, pages=result.page_count)
    text = result.text
    return TextOutcome("done" if text.strip() else "none", text=text,
                       rendition=vault.extractor.rendition(data, media_type),
                       confidence=result.mean_confidence, pages=result.page_count)


def extract_text(*, vault: Vault, version_id: int) -> str:
    """Run extraction for one version; returns its new text status."""
    with vault.uow() as uow:
        version = uow.documents.version_by_id(version_id)
        if version is None or version.text_status not in ("pending", "failed"):
            return version.text_status if version else "missing"
        blob_id, sha256, media_type, size = version.blob_id, version.sha256, version.media_type, version.size
    if size > vault.extractor.max_bytes:
        return _finish(vault, version_id, status="none", error="too large to extract text from")
    try:
        data = vault.blobs.read(blob_id, expected_sha256=sha256)
        outcome = run_extraction(vault, data, media_type)
    except IntegrityFailure as exc:
        return _finish(vault, version_id, status="failed", error=exc.message, final=True)
    except Exception as exc:  # an engine crash: retried, then shown as failed with a retry action
        return _attempt_failed(vault, version_id, f"{type(exc).__name__} during extraction")
    return store_outcome(vault, version_id, outcome)


def store_outcome(vault: Vault, version_id: int, outcome: TextOutcome) -> str:
    """Seal the text and rendition as blobs and record the outcome on the version."""
    if outcome.status not in ("done", "none"):
        return _finish(vault, version_id, status=outcome.status, error=outcome.error, final=True,
                       pages=outcome.pages)
    text_blob, rendition_blob, signature = seal_outcome(vault, outcome)
    return _finish(vault, version_id, status=outcome.status, text_blob=text_blob, rendition_blob=rendition_blob,
                   confidence=outcome.confidence, pages=outcome.pages, signature=signature, text=outcome.text)


def seal_outcome(vault: Vault, outcome: TextOutcome) -> tuple[str | None, str | None, bytes | None]:
    """(text blob, rendition blob, keyed signature); the caller's unit of work must note both blobs."""
    has_text = outcome.status == "done" and outcome.text.strip()
    text_blob = vault.blobs.put([outcome.text.encode()]).blob_id if has_text else None
    rendition_blob = vault.blobs.put([outcome.rendition]).blob_id if outcome.rendition else None
    signature = vault.similarity.signature(outcome.text) if has_text and vault.similarity else None
    return text_blob, rendition_blob, signature


def apply_outcome(vault: Vault, uow, target, outcome: TextOutcome) -> None:
    """Seal an outcome's text and rendition and record it on a version or an inbox item, in `uow`."""
    text_blob, rendition_blob, signature = seal_outcome(vault, outcome)
    for made in (text_blob, rendition_blob):
        if made:
            uow.note_blob(made)
    target.text_status, target.text_error = outcome.status, (outcome.error or None) and outcome.error[:300]
    target.text_blob_id, target.rendition_blob_id, target.text_signature = text_blob, rendition_blob, signature
    target.text_confidence, target.text_pages = outcome.confidence, outcome.pages


def near_duplicate(vault: Vault, uow, customer_id: int, document_id: int | None,
                   signature: bytes | None) -> int | None:
    """Another document of the same customer whose text this text closely resembles (a re-scan)."""
    if signature is None or vault.similarity is None:
        return None
    best, best_score = None, NEAR_DUPLICATE
    for other_id, other in uow.documents.signatures_of_customer(customer_id, exclude_document=document_id):
        score = vault.similarity.similarity(signature, other)
        if score >= best_score:
            best, best_score = other_id, score
    return best


def _attempt_failed(vault: Vault, version_id: int, error: str) -> str:
    with vault.uow() as uow:
        version = uow.documents.version_by_id(version_id)
        version.text_attempts += 1
        attempts = version.text_attempts
        uow.commit()
    if attempts < MAX_ATTEMPTS:
        raise RuntimeError(f"text extraction attempt {attempts} failed: {error}")  # huey retries it
    return _finish(vault, version_id, status="failed", error=error, final=True)


def _finish(vault: Vault, version_id: int, *, status: str, error: str | None = None, final: bool = False,
            text_blob: str | None = None, rendition_blob: str | None = None, confidence: float | None = None,
            pages: int | None = None, signature: bytes | None = None, text: str | None = None) -> str:
    with vault.uow() as uow:
        for blob in (text_blob, rendition_blob):
            if blob:
                uow.note_blob(blob)
        version = uow.documents.version_by_id(version_id)
        document = uow.documents.get(version.document_id)
        customer = uow.customers.get(document.customer_id)
        version.text_status, version.text_error = status, (error or None) and error[:300]
        version.text_blob_id, version.rendition_blob_id = text_blob, rendition_blob
        version.text_confidence, version.text_pages = confidence, pages
        version.text_signature = signature
        version.near_duplicate_of = near_duplicate(vault, uow, customer.id, document.id, signature)
        if text:
            attach_proposal(vault, version, text, category=document.category)
        document.updated_at = utcnow()
        uow.record(actor=SYSTEM, action="version.text", object_type="document", object_id=document.id,
                   customer_code=customer.code, outcome="ok" if status in ("done", "none") else status,
                   details={"version": version.number, "status": status, "pages": pages,
                            "confidence": round(confidence, 3) if confidence is not None else None,
                            "near_duplicate_of": version.near_duplicate_of})
        uow.commit()
        document_id = document.id
    schedule_index(vault, document_id)
    return status


def retry_text(*, vault: Vault, actor: str, document_id: int, version: int | None = None) -> str:
    """The "retry" action for a version whose text extraction failed."""
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        document, customer = document_or_404(uow, user, document_id)
        authorize(user, Action.DOCUMENT_EDIT, customer=customer, document=document)
        chosen = document.version(version) if version else document.latest
        chosen.text_status, chosen.text_attempts, chosen.text_error = "pending", 0, None
        uow.record(actor=user.name, action="version.text_retry", object_type="document", object_id=document.id,
                   customer_code=customer.code, details={"version": chosen.number})
        uow.commit()
        version_id = chosen.id
    schedule_text(vault, version_id)
    return "pending"


def sweep(*, vault: Vault) -> dict:
    """Enqueue what the database says is still to do (after a crash, or jobs lost with a queue)."""
    with vault.uow() as uow:
        pending = uow.documents.version_ids_with_text_status("pending")
        stale = uow.documents.ids_needing_index()
    for version_id in pending:
        schedule_text(vault, version_id)
    for document_id in stale:
        schedule_index(vault, document_id)
    return {"text": len(pending), "index": len(stale)}
