"""The background worker's entry: one job, by kind (jobs carry ids only; every handler is idempotent)."""

from __future__ import annotations

from clientfolio.services import search, textjobs, webhooks
from clientfolio.services.context import Vault


def deliver_webhooks(*, vault: Vault) -> None:
    webhooks.dispatch(vault=vault, sender=vault.webhook_sender)


HANDLERS = {
    "extract_text": textjobs.extract_text,
    "index_document": search.index_document,
    "deliver_webhooks": deliver_webhooks,
    "tick": deliver_webhooks,  # every minute while a worker runs: retries that came due, documents expiring
}


def run_job(vault: Vault, kind: str, args: dict) -> None:
    handler = HANDLERS.get(kind)
    if handler is None:  # enqueued by a newer release: fail loudly, huey keeps the record
        raise ValueError(f"unknown job kind {kind!r}")
    handler(vault=vault, **args)
