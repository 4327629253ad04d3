"""`clientfolio webhook add|list|remove|deliveries|redeliver`."""

from __future__ import annotations

import typer
from rich.table import Table

from clientfolio.domain import webhooks as rules
from clientfolio.entrypoints.cli.app import emit, state
from clientfolio.services import webhooks

app = typer.Typer(no_args_is_help=True, help="Webhooks: signed HTTP notifications of changes. 事件通知。")


@app.command("add")
def add(url: str, event: list[str] = typer.Option(None, "--event", help=f"Repeatable; default all: "
                                                                         f"{', '.join(rules.EVENT_TYPES)}"),
        description: str = typer.Option("", "--description")):
    """Register an endpoint (https://, or http:// to this machine). Prints the signing secret once."""
    made = webhooks.register_webhook(vault=state.vault, actor=state.actor, url=url, events=event or None,
                                     description=description)
    emit({"secret": made.secret, **made.webhook.to_dict()},
         text=f"webhook {made.webhook.id} → {made.webhook.endpoint} for {', '.join(made.webhook.events)}\n"
              f"signing secret (shown this once): {made.secret}")


@app.command("list")
def list_(include_removed: bool = typer.Option(False, "--all", help="Removed ones too.")):
    hooks = webhooks.list_webhooks(vault=state.vault, actor=state.actor, include_removed=include_removed)
    table = Table("id", "endpoint", "events", "active", "description", title="webhooks")
    for h in hooks:
        table.add_row(str(h.id), h.endpoint, ", ".join(h.events), "yes" if h.active else "no", h.description)
    emit(hooks, table=table)


@app.command("remove")
def remove(webhook_id: int):
    view = webhooks.remove_webhook(vault=state.vault, actor=state.actor, webhook_id=webhook_id)
    emit(view, text=f"webhook {view.id} removed (its deliveries stay on record)")


@app.command("deliveries")
def deliveries(webhook_id: int, limit: int = typer.Option(50, "--limit"), offset: int = typer.Option(0, "--offset")):
    page = webhooks.list_deliveries(vault=state.vault, actor=state.actor, webhook_id=webhook_id, limit=limit,
                                    offset=offset)
    table = Table("id", "event", "status", "attempts", "last answer", "created", "delivered",
                  title=f"deliveries of webhook {webhook_id} ({page.total})")
    for d in page.items:
        table.add_row(str(d.id), d.event_type, d.status, str(d.attempts),
                      str(d.last_status or d.last_error or ""), d.created_at.isoformat(timespec="seconds"),
                      d.delivered_at.isoformat(timespec="seconds") if d.delivered_at else "")
    emit(page, table=table)


@app.command("redeliver")
def redeliver(delivery_id: int):
    view = webhooks.redeliver(vault=state.vault, actor=state.actor, delivery_id=delivery_id)
    emit(view, text=f"delivery {view.id} will be sent again by the worker")
