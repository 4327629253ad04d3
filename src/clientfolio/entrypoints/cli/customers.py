"""`clientfolio customer …`"""

from __future__ import annotations

import typer
from rich.table import Table

from clientfolio.entrypoints.cli.app import emit, state
from clientfolio.services import customers

app = typer.Typer(no_args_is_help=True, help="Customers: add, list, show, edit, find. 客户。")


def _identifiers(resident_id, passport, credit_code) -> dict:
    given = {"resident_id": resident_id, "passport": passport, "credit_code": credit_code}
    return {k: v for k, v in given.items() if v is not None}


@app.command("add")
def add(name: str = typer.Option(..., "--name"), kind: str = typer.Option(..., "--kind", help="person | organization"),
        tier: str = typer.Option("standard", "--tier", help="key | standard | prospect"),
        owner: str = typer.Option(None, "--owner"), phone: str = typer.Option(None, "--phone"),
        email: str = typer.Option(None, "--email"), resident_id: str = typer.Option(None, "--resident-id"),
        passport: str = typer.Option(None, "--passport"), credit_code: str = typer.Option(None, "--credit-code")):
    view = customers.add_customer(vault=state.vault, actor=state.actor, name=name, kind=kind, tier=tier,
                                  owner=owner, phone=phone, email=email,
                                  identifiers=_identifiers(resident_id, passport, credit_code))
    emit(view, text=f"added customer {view.code} {view.name}")


@app.command("list")
def list_(query: str = typer.Option(None, "--query", "-q", help="Part of a name, or a code."),
          tier: str = typer.Option(None, "--tier"), kind: str = typer.Option(None, "--kind"),
          owner: str = typer.Option(None, "--owner"), sort: str = typer.Option("code", "--sort"),
          merged: bool = typer.Option(False, "--merged", help="Include customers merged into others."),
          limit: int = typer.Option(100, "--limit"), offset: int = typer.Option(0, "--offset")):
    page = customers.list_customers(vault=state.vault, actor=state.actor, query=query, tier=tier, kind=kind,
                                    owner=owner, sort=sort, include_merged=merged, limit=limit, offset=offset)
    table = Table("code", "name", "kind", "tier", "owner", title=f"{page.total} customers")
    for c in page.items:
        table.add_row(c.code, c.name, c.kind, c.tier, c.owner or "")
    emit(page, table=table)


@app.command("show")
def show(code: str, reveal: bool = typer.Option(False, "--reveal", help="Show identifiers unmasked (audited).")):
    c = customers.show_customer(vault=state.vault, actor=state.actor, code=code, reveal=reveal)
    table = Table("field", "value", title=f"{c.code} {c.name}", show_header=False)
    for label, value in (("kind", c.kind), ("tier", c.tier), ("owner", c.owner), ("phone", c.phone),
                         ("email", c.email), ("review due", c.review_due and c.review_due.isoformat()),
                         *((i.kind, i.value) for i in c.identifiers)):
        table.add_row(label, value or "")
    emit(c, table=table)


@app.command("edit")
def edit(code: str, name: str = typer.Option(None, "--name"), kind: str = typer.Option(None, "--kind"),
         tier: str = typer.Option(None, "--tier"), owner: str = typer.Option(None, "--owner"),
         phone: str = typer.Option(None, "--phone", help='"" removes it'),
         email: str = typer.Option(None, "--email", help='"" removes it'),
         resident_id: str = typer.Option(None, "--resident-id"), passport: str = typer.Option(None, "--passport"),
         credit_code: str = typer.Option(None, "--credit-code")):
    extra = {}
    if phone is not None:
        extra["phone"] = phone
    if email is not None:
        extra["email"] = email
    view = customers.edit_customer(vault=state.vault, actor=state.actor, code=code, name=name, kind=kind,
                                   tier=tier, owner=owner, identifiers=_identifiers(resident_id, passport, credit_code),
                                   **extra)
    emit(view, text=f"updated customer {view.code}")


@app.command("review")
def review(code: str):
    """Record the periodic (KYC) review as done today: the next falls due one interval of the tier later."""
    view = customers.review_customer(vault=state.vault, actor=state.actor, code=code)
    emit(view, text=f"reviewed customer {view.code}; next review due {view.review_due}")


@app.command("find")
def find(kind: str = typer.Option(..., "--kind", help="resident_id | passport | credit_code"),
         value: str = typer.Argument(..., help="The exact number.")):
    found = customers.find_by_identifier(vault=state.vault, actor=state.actor, kind=kind, value=value)
    table = Table("code", "name", "kind", "tier", title=f"{len(found)} found")
    for c in found:
        table.add_row(c.code, c.name, c.kind, c.tier)
    emit(found, table=table)


@app.command("merge")
def merge(source: str, into: str = typer.Option(..., "--into", help="The customer that remains.")):
    """Fold a duplicate customer into another (managers): documents and missing identifiers move over."""
    view = customers.merge_customers(vault=state.vault, actor=state.actor, source_code=source, into_code=into)
    emit(view, text=f"merged {source.upper()} into {view.code} {view.name}")
