"""The audit log: filters in the query string (they are not secrets), 50 events a page, the chain check (a POST:
it records an event and walks the whole trail) and exports of the filtered events as CSV or XLSX."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from clientfolio.domain.errors import InvalidInput
from clientfolio.entrypoints.web.render import page, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import audit
from clientfolio.services.context import Vault, vault_today

router = APIRouter(include_in_schema=False)
PER_PAGE = 50
TEXT_FILTERS = {"customer": ("customer_code", 16), "user": ("user", 64), "action": ("action", 64),
                "object_type": ("object_type", 32), "object_id": ("object_id", 64)}
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@dataclass
class Filters:
    shown: dict[str, str] = field(default_factory=dict)  # what the form shows, as typed
    criteria: dict = field(default_factory=dict)  # the service's keyword arguments
    error: str | None = None


def filters(request: Request, v: Vault = Depends(vault)) -> Filters:
    """The filters in the query string; dates are whole days in the vault's time zone, `until` included."""
    q, found = request.query_params, Filters()
    for key, (arg, longest) in TEXT_FILTERS.items():
        value = q.get(key, "").strip()[:longest]
        found.shown[key] = value
        if value:
            found.criteria[arg] = value
    zone = ZoneInfo(v.time_zone)
    for key, days_later in (("since", 0), ("until", 1)):
        value = q.get(key, "").strip()
        found.shown[key] = value
        if not value:
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            found.error = translate(request, "Enter dates as YYYY-MM-DD.")
            continue
        start = datetime.combine(day + timedelta(days=days_later), time(), zone)
        found.criteria[key] = start.astimezone(timezone.utc)
    return found


def _offset(request: Request) -> int:
    value = request.query_params.get("offset", "0")
    return min(int(value), 10**8) if value.isdigit() else 0


def _page(request: Request, who: Visitor, v: Vault, f: Filters, *, report=None):
    offset = _offset(request)
    events = [] if f.error else audit.audit_log(vault=v, actor=who.actor, limit=PER_PAGE + 1, offset=offset,
                                                **f.criteria)
    return page(request, "admin/audit.html", status=422 if f.error else 200, visitor=who, events=events[:PER_PAGE],
                more=len(events) > PER_PAGE, offset=offset, per_page=PER_PAGE, shown=f.shown, error=f.error,
                report=report, brief=brief)


@router.get("/admin/audit")
def audit_page(request: Request, who: Visitor = Depends(visitor), v: Vault = Depends(vault),
               f: Filters = Depends(filters)):
    return _page(request, who, v, f)


@router.post("/admin/audit/verify")
def verify(request: Request, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault),
           f: Filters = Depends(filters)):
    return _page(request, who, v, f, report=audit.audit_verify(vault=v, actor=who.actor))


@router.get("/admin/audit/export.{fmt}")
def export(request: Request, fmt: str, who: Visitor = Depends(visitor), v: Vault = Depends(vault),
           f: Filters = Depends(filters)):
    if f.error:
        raise InvalidInput(f.error)
    data = audit.export_audit(vault=v, actor=who.actor, fmt=fmt, **f.criteria)
    name = f"audit-{vault_today(v).isoformat()}.{fmt}"
    return Response(data, media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"), headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def brief(details: dict, longest: int = 120) -> list[tuple[str, str]]:
    """An event's details as short key/value pairs for a table cell (the full event is in the export)."""
    pairs = []
    for key, value in details.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        pairs.append((str(key), text if len(text) <= longest else text[:longest - 1] + "…"))
    return pairs
