"""`clientfolio classifier train|evaluate|suggest`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from clientfolio.domain.errors import InvalidInput, NotFound
from clientfolio.entrypoints.cli.app import console, emit, state
from clientfolio.services import classification

app = typer.Typer(no_args_is_help=True, help="The classifier that suggests category, subtype and tags. 自动分类。")


def _report(report: dict, title: str) -> None:
    table = Table("class", "trained on", "held out", "correct", title=title)
    for name, row in report["per_class"].items():
        table.add_row(name, str(row["trained"]), str(row["held_out"]), str(row["correct"]))
    emit(report, table=table)
    if not state.json:
        console.print(f"accuracy on {report['held_out']} held-out documents: {report['accuracy']:.1%} "
                      f"(trained on {report['trained_on']} of {report['documents']})", markup=False, highlight=False)
        for c in report.get("confusions", []):
            console.print(f"  {c['count']} × {c['true']} taken for {c['predicted']}", markup=False, highlight=False)
        left_out = report.get("left_out", {})
        if left_out.get("classes_too_small"):
            console.print(f"  left out, too few documents to learn from: {', '.join(left_out['classes_too_small'])}",
                          markup=False, highlight=False)
        if left_out.get("awaiting_confirmation"):
            console.print(f"  left out: {left_out['awaiting_confirmation']} ingested documents still filed under "
                          f"'other', awaiting a person's confirmation", markup=False, highlight=False)


@app.command("evaluate")
def evaluate(holdout: float = typer.Option(0.25, "--holdout", help="Share of documents held out (0.1-0.5).")):
    """Learn from most filed documents and report accuracy on the rest (nothing is saved)."""
    _report(classification.evaluate(vault=state.vault, actor=state.actor, holdout=holdout), "classifier evaluation")


@app.command("train")
def train(holdout: float = typer.Option(0.25, "--holdout")):
    """Evaluate on held-out documents, then learn from all filed documents and save the encrypted model."""
    report = classification.train(vault=state.vault, actor=state.actor, holdout=holdout)
    _report(report, f"classifier trained: {len(report['classes'])} classes, {len(report['tags'])} tags")


@app.command("suggest")
def suggest(target: str = typer.Argument(..., metavar="FILE-OR-DOCUMENT-ID",
                                         help="A file on disk (read in memory, nothing stored), or a document id.")):
    """What the classifier would file a file or a stored document as, and whether ingestion would auto-file it.

    An existing file wins over a document id of the same spelling."""
    path = Path(target)
    if path.is_file():
        if path.stat().st_size > state.vault.max_upload_bytes:
            raise InvalidInput(f"the file is larger than the limit of {state.vault.max_upload_bytes // 2**20} MB")
        made = classification.suggest_for_file(vault=state.vault, actor=state.actor, data=path.read_bytes(),
                                               file_name=path.name)
    elif target.isdigit():
        made = classification.suggest_for_document(vault=state.vault, actor=state.actor, document_id=int(target))
    else:
        raise NotFound(f"no such file, and not a document id: {target}")
    emit(made, text="no suggestion" if made is None else
         f"{made['category']}/{made['subtype'] or '-'} ({made['confidence']:.0%}, {made['source']}; "
         + ("would be filed automatically" if made["auto_file"] else
            f"below the auto-file threshold of {made['threshold']:.0%}: a suggestion only") + ")"
         + (f" tags: {', '.join(made['tags'])}" if made["tags"] else ""))
