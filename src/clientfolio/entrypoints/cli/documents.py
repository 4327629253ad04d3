"""`clientfolio doc …`"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import typer
from rich.table import Table

from clientfolio.domain.errors import ClientfolioError, InvalidInput, NotFound
from clientfolio.entrypoints.cli.app import EXIT_CODES, emit, state
from clientfolio.services import documents, fields, textjobs, versions
from clientfolio.services.content import file_chunks

app = typer.Typer(no_args_is_help=True, help="Documents and their versions. 文档与版本。")


def parse_date(value: str | None, what: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2027-06-30 (got {value!r})") from None


def _open_input(path: Path):
    if not path.is_file():
        raise NotFound(f"no such file: {path}")
    return path.open("rb")


def _split_tags(tags: str | None) -> list[str] | None:
    return None if tags is None else [t for t in tags.split(",")]


@app.command("add")
def add(file: Path, customer: str = typer.Option(..., "--customer"), category: str = typer.Option(..., "--category"),
        subtype: str = typer.Option(None, "--subtype"), title: str = typer.Option(None, "--title"),
        tags: str = typer.Option(None, "--tags", help="Comma-separated."),
        sensitive: bool = typer.Option(None, "--sensitive/--normal", help="Default: from the category."),
        issued: str = typer.Option(None, "--issued", help="Issued or signed date, YYYY-MM-DD."),
        expires: str = typer.Option(None, "--expires", help="YYYY-MM-DD."),
        paper: str = typer.Option(None, "--paper", help="Where the paper original is kept."),
        note: str = typer.Option(None, "--note"),
        allow_duplicate: bool = typer.Option(False, "--allow-duplicate")):
    with _open_input(file) as f:
        view = documents.add_document(
            vault=state.vault, actor=state.actor, customer_code=customer, content=file_chunks(f),
            original_name=file.name, category=category, subtype=subtype, title=title, tags=_split_tags(tags),
            sensitive=sensitive, issued_on=parse_date(issued, "--issued"),
            expires_on=parse_date(expires, "--expires"), paper_location=paper, note=note,
            allow_duplicate=allow_duplicate)
    emit(view, text=f"added document {view.id} as {view.canonical_name}")


@app.command("add-version")
def add_version(document_id: int, file: Path, note: str = typer.Option(None, "--note"),
                allow_duplicate: bool = typer.Option(False, "--allow-duplicate")):
    with _open_input(file) as f:
        view = versions.add_version(vault=state.vault, actor=state.actor, document_id=document_id,
                                    content=file_chunks(f), original_name=file.name, note=note,
                                    allow_duplicate=allow_duplicate)
    emit(view, text=f"document {view.id} is now at version {view.version}")


@app.command("list")
def list_(customer: str = typer.Option(None, "--customer"), category: str = typer.Option(None, "--category"),
          subtype: str = typer.Option(None, "--subtype"), tag: str = typer.Option(None, "--tag"),
          expires_before: str = typer.Option(None, "--expires-before", help="YYYY-MM-DD"),
          deleted: bool = typer.Option(False, "--deleted", help="Include deleted documents (managers)."),
          pending: bool = typer.Option(False, "--suggestion-pending",
                                       help="Only the classifier's filings nobody has confirmed yet."),
          filing: str = typer.Option(None, "--filing", help="auto-filed | waiting (implies --suggestion-pending)"),
          sort: str = typer.Option("id", "--sort", help="id | -id | title | expires | -updated"),
          limit: int = typer.Option(100, "--limit"), offset: int = typer.Option(0, "--offset")):
    page = documents.list_documents(vault=state.vault, actor=state.actor, customer_code=customer,
                                    category=category, subtype=subtype, tag=tag,
                                    expires_before=parse_date(expires_before, "--expires-before"),
                                    include_deleted=deleted, suggestion_pending=pending, filing=filing,
                                    sort=sort, limit=limit, offset=offset)
    table = Table("id", "customer", "category", "title", "v", "expires", "status", title=f"{page.total} documents")
    for d in page.items:
        table.add_row(str(d.id), d.customer, _kind(d), d.title,
                      str(d.version), str(d.expires_on or ""), d.status)
    emit(page, table=table)


@app.command("show")
def show(document_id: int):
    d = documents.show_document(vault=state.vault, actor=state.actor, document_id=document_id)
    table = Table("field", "value", title=f"document {d.id}", show_header=False)
    for key in ("customer", "customer_name", "category", "subtype", "title", "tags", "sensitivity", "issued_on",
                "expires_on", "paper_location", "status", "version", "sha256", "size", "media_type",
                "canonical_name", "text_status", "near_duplicate_of", "suggestion"):
        value = getattr(d, key)
        table.add_row(key, ", ".join(value) if isinstance(value, list) else str(value if value is not None else ""))
    emit(d, table=table)


@app.command("edit")
def edit(document_id: int, title: str = typer.Option(None, "--title"),
         category: str = typer.Option(None, "--category"), subtype: str = typer.Option(None, "--subtype"),
         tags: str = typer.Option(None, "--tags", help="Replaces the tags; comma-separated."),
         sensitive: bool = typer.Option(None, "--sensitive/--normal"),
         issued: str = typer.Option(None, "--issued", help='YYYY-MM-DD; "" clears it'),
         expires: str = typer.Option(None, "--expires", help='YYYY-MM-DD; "" clears it'),
         paper: str = typer.Option(None, "--paper")):
    extra = {}
    if subtype is not None:
        extra["subtype"] = subtype or None
    if issued is not None:
        extra["issued_on"] = parse_date(issued, "--issued")
    if expires is not None:
        extra["expires_on"] = parse_date(expires, "--expires")
    if paper is not None:
        extra["paper_location"] = paper
    view = documents.edit_document(vault=state.vault, actor=state.actor, document_id=document_id, title=title,
                                   category=category, tags=_split_tags(tags), sensitive=sensitive, **extra)
    emit(view, text=f"updated document {view.id}")


@app.command("accept-suggestion")
def accept_suggestion(document_ids: list[int] = typer.Argument(..., help="One or more document ids.")):
    """Take the classifier's filing (category, subtype, tags): confirm an automatic filing, or file a document
    waiting under "other" as suggested. From then on the document teaches the classifier. With several ids,
    each is settled on its own; the ones that cannot be are listed with the reason (exit code of the first)."""
    if len(document_ids) == 1:
        view = documents.accept_suggestion(vault=state.vault, actor=state.actor, document_id=document_ids[0])
        emit(view, text=f"document {view.id} filed as {_kind(view)} (suggestion accepted)")
        return
    rows, first_error = [], None
    for document_id, got in documents.accept_suggestions(vault=state.vault, actor=state.actor,
                                                         document_ids=document_ids):
        if isinstance(got, ClientfolioError):
            rows.append({"id": document_id, "error": got.message})
            first_error = first_error or got
        else:
            rows.append({"id": document_id, "filed_as": _kind(got)})
    table = Table("id", "filed as", "error", title=f"{sum('filed_as' in r for r in rows)} of {len(rows)} accepted")
    for r in rows:
        table.add_row(str(r["id"]), r.get("filed_as", ""), r.get("error", ""))
    emit(rows, table=table)
    if first_error is not None:
        raise typer.Exit(EXIT_CODES.get(first_error.code, 1))


def _kind(view) -> str:
    return "/".join(filter(None, (view.category, view.subtype)))


@app.command("versions")
def versions_(document_id: int):
    history = versions.list_versions(vault=state.vault, actor=state.actor, document_id=document_id)
    table = Table("v", "sha256", "size", "type", "by", "at", "note", "text", "canonical name")
    for v in history:
        text = v.text_status + (f" ({v.text_confidence:.0%} OCR)" if v.text_confidence is not None else "")
        if v.text_error:
            text += f": {v.text_error}"
        table.add_row(str(v.version), v.sha256[:12], f"{v.size:,}", v.media_type, v.uploaded_by or "",
                      v.uploaded_at.strftime("%Y-%m-%d %H:%M"), v.note or "", text, v.canonical_name)
    emit(history, table=table)


@app.command("get")
def get(document_id: int, output: Path = typer.Option(..., "--output", "-o", help="File to write, or a folder."),
        version: int = typer.Option(None, "--version")):
    """Write a version's bytes; the file appears only once every byte has been verified."""
    if not output.is_dir() and not output.parent.is_dir():
        raise NotFound(f"no such folder: {output.parent}")
    download = versions.read_version(vault=state.vault, actor=state.actor, document_id=document_id,
                                     version=version)
    target = output / download.version.canonical_name if output.is_dir() else output
    tmp = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        with tmp.open("wb") as f:
            for chunk in download.chunks:
                f.write(chunk)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    emit({"id": document_id, "version": download.version.version, "sha256": download.version.sha256,
          "path": str(target)}, text=f"wrote {target} (version {download.version.version})")


@app.command("restore")
def restore(document_id: int, version: int = typer.Option(..., "--version")):
    view = versions.restore_version(vault=state.vault, actor=state.actor, document_id=document_id, version=version)
    emit(view, text=f"document {view.id}: version {view.version} restores version {version}")


@app.command("diff")
def diff(document_id: int, a: int, b: int):
    d = versions.diff_versions(vault=state.vault, actor=state.actor, document_id=document_id, a=a, b=b)
    lines = [f"document {d.document_id}: v{a} → v{b}", "changed: " + (", ".join(d.changed_fields) or "nothing")]
    if d.note:
        lines.append(d.note)
    lines += d.text_diff or []
    emit(d, text="\n".join(lines))


@app.command("delete")
def delete(document_id: int):
    view = documents.delete_document(vault=state.vault, actor=state.actor, document_id=document_id)
    emit(view, text=f"document {view.id} deleted (a manager can undelete it)")


@app.command("undelete")
def undelete(document_id: int):
    view = documents.undelete_document(vault=state.vault, actor=state.actor, document_id=document_id)
    emit(view, text=f"document {view.id} is active again")


@app.command("retry-text")
def retry_text(document_id: int, version: int = typer.Option(None, "--version", help="Default: the latest.")):
    """Queue text extraction again for a version whose extraction failed."""
    status = textjobs.retry_text(vault=state.vault, actor=state.actor, document_id=document_id, version=version)
    emit({"id": document_id, "text_status": status},
         text=f"text extraction of document {document_id} queued again (run `clientfolio worker`)")


@app.command("fields")
def fields_(document_id: int, version: int = typer.Option(None, "--version"),
            confirm: bool = typer.Option(False, "--confirm", help="Write the valid proposed values."),
            only: str = typer.Option(None, "--only", help="With --confirm: these fields only (comma-separated)."),
            reject: bool = typer.Option(False, "--reject", help="Discard the proposal.")):
    """Fields read from an ID document, side by side with what the vault holds; confirm or reject them."""
    if confirm and reject:
        raise InvalidInput("--confirm and --reject exclude each other")
    if confirm:
        view = fields.confirm_fields(vault=state.vault, actor=state.actor, document_id=document_id,
                                     only=None if only is None else [x.strip() for x in only.split(",") if x.strip()])
    elif reject:
        view = fields.reject_fields(vault=state.vault, actor=state.actor, document_id=document_id)
    else:
        view = fields.show_fields(vault=state.vault, actor=state.actor, document_id=document_id, version=version)
    table = Table("field", "read from the document", "in the vault now", "check",
                  title=f"document {view.document_id} v{view.version}: {view.kind or 'no ID document fields'} "
                        f"({view.status})")
    for row in view.rows:
        table.add_row(row.name, row.proposed, row.current or "", "ok" if row.valid else f"✗ {row.note}")
    emit(view, table=table)
