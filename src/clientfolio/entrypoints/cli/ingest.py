"""`clientfolio ingest DIR`, `clientfolio watch DIR`, `clientfolio worker` and `clientfolio inbox …`."""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from clientfolio import bootstrap
from clientfolio.domain.errors import InvalidInput, NotFound
from clientfolio.entrypoints.cli.app import console, emit, state
from clientfolio.entrypoints.cli.documents import parse_date
from clientfolio.services import inbox, ingest, textjobs

inbox_app = typer.Typer(no_args_is_help=True, help="Ingested files waiting to be filed. 待归档收件箱。")
OUTCOMES = ("stored", "duplicate", "refused", "inbox", "failed")
BATCH = 32  # files stored per transaction: a crash loses at most the batch being stored, which a re-run redoes

# -- parallel preparation: one vault per worker process ----------------------------------------------------
_worker_vault = None


def _init_worker(home: str) -> None:
    global _worker_vault
    _worker_vault = bootstrap.open_vault(Path(home))


def _prepare_in_worker(root: str, path: str) -> ingest.Prepared:
    return ingest.prepare(_worker_vault, Path(root), Path(path))


def _root(directory: Path) -> Path:
    if not directory.is_dir():
        raise NotFound(f"no such folder: {directory}")
    root = directory.resolve()
    if root == state.vault.home or state.vault.home in root.parents or root in state.vault.home.parents:
        raise InvalidInput("the folder to ingest must not contain, or be inside, the vault's home")
    return root


def ingest_dir(directory: Path = typer.Argument(..., help="Folder to take in (recursively)."),
               workers: int = typer.Option(0, "--workers", min=0, max=64,
                                           help="Processes that read and OCR files (default: one per core)."),
               threshold: float = typer.Option(None, "--auto-file-threshold", min=0.0, max=1.0,
                                               help="File under the suggested category at or above this "
                                                    "confidence; below it, under 'other' with the suggestion kept "
                                                    "(default: auto_file_threshold in config.toml, else 0.85).")):
    """Take in every file below DIR: sniff, refuse, extract text, classify, match the customer, store.

    Resumable: files already in the vault (or the inbox) are recognized by their hash and skipped. A sub-folder
    named by a customer code (C000123) or an exact customer name files into that customer."""
    vault, actor = state.vault, state.actor
    root = _root(directory)
    files = ingest.candidates(root)
    workers = workers or os.cpu_count() or 1
    results = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, disable=state.json, transient=True) as progress:
        task = progress.add_task("ingesting", total=len(files))
        pending: list[ingest.Prepared] = []

        def flush() -> None:  # storing stays here, in the one process that writes; a batch per transaction
            if pending:
                results.extend(ingest.store_batch(vault, actor, pending, auto_file_threshold=threshold))
                progress.advance(task, len(pending))
                pending.clear()

        def take(found: ingest.Prepared) -> None:
            pending.append(found)
            if len(pending) >= BATCH:
                flush()

        if workers == 1 or len(files) < 2:
            for path in files:
                take(ingest.prepare(vault, root, path))
        else:
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                                     initargs=(str(vault.home),)) as pool:
                # The heavy steps (reading, hashing, extraction, OCR, classification) run in the pool.
                for found in pool.map(_prepare_in_worker, [str(root)] * len(files), map(str, files)):
                    take(found)
        flush()
    _summary(results, root)


def _summary(results: list[ingest.IngestResult], root: Path) -> None:
    counts = Counter(r.outcome for r in results)
    if state.json:
        emit({"folder": str(root), "counts": {k: counts.get(k, 0) for k in OUTCOMES},
              "files": [r.to_dict() for r in results]})
        return
    table = Table("file", "result", "customer", "category", "document / inbox", "why", title=f"ingested {root}")
    for r in results:
        where = f"doc {r.document_id}" if r.document_id else (f"inbox {r.inbox_id}" if r.inbox_id else "")
        category = "/".join(x for x in (r.category, r.subtype) if x)
        table.add_row(r.path, r.outcome, r.customer or "", category, where, r.reason or "")
    console.print(table)
    console.print("  ".join(f"{k}: {counts.get(k, 0)}" for k in OUTCOMES), markup=False, highlight=False)


def watch(directory: Path = typer.Argument(..., help="The consumption folder to watch."),
          interval: float = typer.Option(2.0, "--interval", min=0.2, help="Seconds between looks."),
          settle: float = typer.Option(3.0, "--settle", min=0.0,
                                       help="A file is taken once its size and time have not changed for this long."),
          keep: bool = typer.Option(False, "--keep", help="Leave consumed files in place (default: remove them "
                                                           "once they are safely in the vault)."),
          threshold: float = typer.Option(None, "--auto-file-threshold", min=0.0, max=1.0,
                                          help="As for ingest (default: config.toml, else 0.85)."),
          once: bool = typer.Option(False, "--once", help="One pass over what is complete now, then exit.")):
    """Consume files dropped into DIR, each once it is fully written."""
    vault, actor = state.vault, state.actor
    root = _root(directory)
    seen: dict[Path, tuple[int, int, float]] = {}  # path -> (size, mtime_ns, first time seen with these)
    done: set[tuple[Path, int, int]] = set()
    while True:
        now = time.monotonic()
        for path in ingest.candidates(root):
            try:
                st = path.stat()
            except OSError:
                continue
            key = (st.st_size, st.st_mtime_ns)
            if (path, *key) in done:
                continue
            if once:  # one pass: take what has not been written to for `settle` seconds
                if time.time() - st.st_mtime < settle:
                    continue
            elif seen.get(path, (None, None))[:2] != key:
                seen[path] = (*key, now)  # new, or still growing: look again later
                continue
            elif now - seen[path][2] < settle:
                continue
            result = ingest.ingest_file(vault, actor, root, path, auto_file_threshold=threshold)
            emit(result, text=f"{result.path}: {result.outcome}" + (f" ({result.reason})" if result.reason else ""))
            done.add((path, *key))
            seen.pop(path, None)
            if result.outcome in ("stored", "duplicate", "inbox") and not keep:
                path.unlink(missing_ok=True)  # safely in the vault: the consumption folder is emptied
        if once:
            return
        time.sleep(interval)


def worker(once: bool = typer.Option(False, "--once", help="Run what is queued now, then exit."),
           workers: int = typer.Option(1, "--workers", min=1, max=32, help="Jobs run at the same time.")):
    """Run background jobs (text extraction and OCR, indexing). Stop and restart it freely: no job is lost."""
    vault = state.vault
    swept = textjobs.sweep(vault=vault)  # what the database says is still to do, after a crash or a lost queue
    if once:
        ran = vault.jobs.drain()
        emit({"requeued": swept, "ran": ran}, text=f"ran {ran} jobs (requeued after a restart: {swept})")
        return
    console.print(f"worker running ({workers} at a time); Ctrl-C stops it", markup=False, highlight=False)
    vault.jobs.consumer(workers=workers).run()


@inbox_app.command("list")
def inbox_list(status: str = typer.Option("waiting", "--status", help="waiting | filed | discarded"),
               limit: int = typer.Option(50, "--limit"), offset: int = typer.Option(0, "--offset")):
    """Files no customer was matched to."""
    page = inbox.list_inbox(vault=state.vault, actor=state.actor, status=status, limit=limit, offset=offset)
    table = Table("id", "file", "from folder", "received", "text", "suggested", "why", title=f"inbox ({page.total})")
    for item in page.items:
        s = item.suggestion or {}
        suggested = "/".join(x for x in (s.get("category"), s.get("subtype")) if x)
        table.add_row(str(item.id), item.original_name or "", item.source or "", item.received_at.date().isoformat(),
                      item.text_status, suggested, item.reason)
    emit(page, table=table)


@inbox_app.command("show")
def inbox_show(item_id: int):
    item = inbox.show_item(vault=state.vault, actor=state.actor, item_id=item_id)
    table = Table("", "", show_header=False, title=f"inbox item {item.id}")
    for key, value in item.to_dict().items():
        table.add_row(key, "" if value is None else str(value))
    emit(item, table=table)


@inbox_app.command("file")
def inbox_file(item_id: int, customer: str = typer.Option(..., "--customer"),
               category: str = typer.Option(None, "--category", help="Default: the suggested category."),
               subtype: str = typer.Option(None, "--subtype"), title: str = typer.Option(None, "--title"),
               tags: str = typer.Option(None, "--tags"), expires: str = typer.Option(None, "--expires"),
               allow_duplicate: bool = typer.Option(False, "--allow-duplicate")):
    """File an inbox item as a new document of CUSTOMER."""
    doc = inbox.file_item(vault=state.vault, actor=state.actor, item_id=item_id, customer_code=customer,
                          category=category, subtype=subtype, title=title,
                          tags=None if tags is None else tags.split(","),
                          expires_on=parse_date(expires, "--expires"), allow_duplicate=allow_duplicate)
    emit(doc, text=f"filed inbox item {item_id} as document {doc.id} of {doc.customer} ({doc.canonical_name})")


@inbox_app.command("discard")
def inbox_discard(item_id: int):
    """Set an item aside (its bytes are kept)."""
    item = inbox.discard_item(vault=state.vault, actor=state.actor, item_id=item_id)
    emit(item, text=f"inbox item {item.id} discarded")
