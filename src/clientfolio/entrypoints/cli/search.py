"""`clientfolio search QUERY`."""

from __future__ import annotations

import html
import re

import typer
from rich.table import Table
from rich.text import Text

from clientfolio.entrypoints.cli.app import emit, state
from clientfolio.entrypoints.cli.documents import parse_date
from clientfolio.services import search as search_service

_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def _rich_snippet(snippet: str | None) -> Text:
    """The service's HTML snippet (escaped, matches in <mark>) as terminal text with the matches bold."""
    out = Text()
    if not snippet:
        return out
    pos = 0
    for m in _MARK.finditer(snippet):
        out.append(html.unescape(snippet[pos:m.start()]))
        out.append(html.unescape(m.group(1)), style="bold yellow")
        pos = m.end()
    out.append(html.unescape(snippet[pos:]))
    return out


def search(query: str = typer.Argument("", help="Words, \"a phrase\", a customer name or code, an ID number."),
           customer: str = typer.Option(None, "--customer"), category: str = typer.Option(None, "--category"),
           subtype: str = typer.Option(None, "--subtype"),
           tag: list[str] = typer.Option(None, "--tag", help="Repeat for several; all must match."),
           sensitivity: str = typer.Option(None, "--sensitivity", help="normal | sensitive"),
           issued_from: str = typer.Option(None, "--from", help="Issued on or after YYYY-MM-DD."),
           issued_to: str = typer.Option(None, "--to", help="Issued on or before YYYY-MM-DD."),
           expiring_before: str = typer.Option(None, "--expiring-before", help="Expires before YYYY-MM-DD."),
           limit: int = typer.Option(20, "--limit"), offset: int = typer.Option(0, "--offset")):
    """Full-text search in Chinese or English over what you may read. 全文检索。"""
    page = search_service.search(
        vault=state.vault, actor=state.actor, query=query, customer_code=customer, category=category,
        subtype=subtype, tags=tag or None, sensitivity=sensitivity, issued_from=parse_date(issued_from, "--from"),
        issued_to=parse_date(issued_to, "--to"), expires_before=parse_date(expiring_before, "--expiring-before"),
        limit=limit, offset=offset)
    title = f"{page.total} found" + (f" (customer {', '.join(page.customers)} by identifier)" if page.customers else "")
    table = Table("id", "customer", "category", "title", "snippet", title=title)
    for hit in page.hits:
        d = hit.document
        table.add_row(str(d.id), d.customer, "/".join(x for x in (d.category, d.subtype) if x), d.title,
                      _rich_snippet(hit.snippet))
    emit(page, table=table)


def reindex():
    """Rebuild the search index from the database and the sealed texts (administrators). 重建检索索引。"""
    done = search_service.reindex(vault=state.vault, actor=state.actor)
    emit({"indexed": done}, text=f"{done} documents indexed (when a worker is running, it indexes them instead)")
