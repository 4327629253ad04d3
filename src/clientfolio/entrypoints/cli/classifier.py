"""`clientfolio classifier train|evaluate|suggest`."""

from __future__ import annotations

import typer
from rich.table import Table

from clientfolio.entrypoints.cli.app import console, emit, state
from clientfolio.services import classification

app = typer.Typer(no_args_is_help=True, help="The classifier that suggests category, subtype and tags. 自动分类。")


def _report(report: dict, title: str) -> None:
    table = Table("class", "held out", "correct", title=title)
    for name, row in report["per_class"].items():
        table.add_row(name, str(row["held_out"]), str(row["correct"]))
    emit(report, table=table)
    if not state.json:
        console.print(f"accuracy on {report['held_out']} held-out documents: {report['accuracy']:.1%} "
                      f"(trained on {report['trained_on']} of {report['documents']})", markup=False, highlight=False)
        for c in report.get("confusions", []):
            console.print(f"  {c['count']} × {c['true']} taken for {c['predicted']}", markup=False, highlight=False)
        if report.get("skipped_classes"):
            console.print(f"  too few documents to learn: {', '.join(report['skipped_classes'])}", markup=False)


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
def suggest(document_id: int):
    """What the classifier would file a document as."""
    made = classification.suggest_for_document(vault=state.vault, actor=state.actor, document_id=document_id)
    emit(made, text="no suggestion" if made is None else
         f"{made['category']}/{made['subtype'] or '-'} ({made['confidence']:.0%}, {made['source']})"
         + (f" tags: {', '.join(made['tags'])}" if made["tags"] else ""))
