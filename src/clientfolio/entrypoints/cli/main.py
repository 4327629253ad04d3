"""`clientfolio`: the command line. Subcommands live beside this file, one module per area."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from clientfolio import bootstrap
from clientfolio.entrypoints.cli import admin, auth, classifier, customers, documents, ingest, search, serve, webhooks
from clientfolio.entrypoints.cli.app import app, emit, run, state
from clientfolio.services import demo, summary

app.add_typer(customers.app, name="customer")
app.add_typer(documents.app, name="doc")
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.backup_app, name="backup")
app.add_typer(ingest.inbox_app, name="inbox")
app.add_typer(classifier.app, name="classifier")
app.add_typer(auth.token_app, name="token")
app.add_typer(webhooks.app, name="webhook")
app.command("check")(admin.check)
app.command("ingest")(ingest.ingest_dir)
app.command("watch")(ingest.watch)
app.command("worker")(ingest.worker)
app.command("search")(search.search)
app.command("reindex")(search.reindex)
app.command("serve")(serve.serve)

__all__ = ["app", "run"]


@app.command("init")
def init(admin_name: str = typer.Option("admin", "--admin", help="Name of the first administrator."),
         database_url: str = typer.Option(None, "--database-url", envvar="CLIENTFOLIO_DATABASE_URL",
                                          help="postgresql+psycopg://… (default: SQLite in the home).")):
    """Make a new vault: master key (0600), database, blob folder, first admin."""
    vault = bootstrap.init_vault(state.home, admin=admin_name, database_url=database_url)
    emit({"home": str(vault.home), "admin": admin_name, "key_id": vault.key_id},
         text=f"vault created at {vault.home} (admin: {admin_name}); keep {vault.home / 'master.key'} safe "
              "and backed up apart from the data")


@app.command("demo")
def demo_(init_if_missing: bool = typer.Option(False, "--init", help="Create the vault first if there is none.")):
    """Load a small demo data set (users, customers, documents) through the normal services."""
    if init_if_missing and not bootstrap.is_vault(state.home):
        bootstrap.init_vault(state.home)
    loaded = demo.load_demo(vault=state.vault, actor=state.actor)
    emit(loaded, text=f"demo loaded: {len(loaded['customers'])} customers, {loaded['documents']} documents, "
                      f"users {', '.join(loaded['users'])}\n"
                      f"demo password of {', '.join(loaded['users_with_demo_password'])}: {loaded['demo_password']} "
                      "(demo only: change it with `clientfolio user passwd NAME`)")


@app.command("status")
def status():
    """What is in the vault, and how to use the CLI."""
    s = summary.vault_summary(vault=state.vault, actor=state.actor)
    table = Table("", "", title=f"Clientfolio vault at {state.vault.home}", show_header=False)
    for key, label in (("customers", "customers"), ("documents", "documents"), ("versions", "versions"),
                       ("expiring_90_days", "expiring within 90 days"), ("expired", "expired"), ("users", "users"),
                       ("audit_events", "audit events")):
        if key in s:  # a figure the user may not see is left out, not shown as zero
            table.add_row(label, f"{s[key]:,}")
    emit(s, table=table)
    if not state.json:
        typer.echo(_HELP.format(home=state.home))


_HELP = """
Try (as the admin; add --user NAME to act as someone else, --json for machine output):
  clientfolio --home {home} customer list
  clientfolio --home {home} doc list --expires-before 2027-01-01
  clientfolio --home {home} doc get 2 -o ./
  clientfolio --home {home} search 合同                 # full text, Chinese or English; also ID numbers
  clientfolio --home {home} ingest ./scans              # file a folder of scans (sub-folders by customer code)
  clientfolio --home {home} worker                      # background text extraction (OCR) and indexing
  clientfolio --home {home} --user reader doc list      # a viewer sees no sensitive documents
  clientfolio --home {home} audit log --limit 10
  clientfolio --home {home} audit verify
  clientfolio --home {home} check
  clientfolio --home {home} serve                       # web pages at http://127.0.0.1:8000/, API at /api/v1
  clientfolio --home {home} backup create ./backups
"""


if __name__ == "__main__":
    run()
