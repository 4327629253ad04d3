"""Webhooks: the endpoints told about changes (add: the signing secret is shown once; remove) and the deliveries
of one of them, page by page, with a button to send one again."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request

from clientfolio.domain import webhooks as rules
from clientfolio.domain.errors import InvalidInput, NotFound
from clientfolio.entrypoints.web.render import page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import webhooks
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


@router.get("/admin/webhooks")
def webhook_list(request: Request, removed: bool = False, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return _list(request, who, v, removed=removed)


def _list(request: Request, who: Visitor, v: Vault, *, status: int = 200, removed: bool = False, **context):
    return page(request, "admin/webhooks.html", status=status, visitor=who, removed=removed,
                hooks=webhooks.list_webhooks(vault=v, actor=who.actor, include_removed=removed),
                event_types=rules.EVENT_TYPES, **context)


@router.post("/admin/webhooks")
def add_webhook(request: Request, url: str = Form(""), events: list[str] = Form([]), description: str = Form(""),
                who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    try:
        made = webhooks.register_webhook(vault=v, actor=who.actor, url=url.strip(), events=events or None,
                                         description=description.strip())
    except InvalidInput as exc:
        return _list(request, who, v, status=422, error=exc.message,
                     form={"url": url, "events": events, "description": description})
    response = _list(request, who, v, made=made)  # the signing secret is in this answer only
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/webhooks/{webhook_id}/remove")
def remove_webhook(request: Request, webhook_id: int, who: Visitor = Depends(form_visitor),
                   v: Vault = Depends(vault)):
    gone = webhooks.remove_webhook(vault=v, actor=who.actor, webhook_id=webhook_id)
    return redirect("/admin/webhooks", flash=translate(request, "Nothing more is sent to %(endpoint)s.",
                                                       endpoint=gone.endpoint))


@router.get("/admin/webhooks/{webhook_id}")
def deliveries(request: Request, webhook_id: int, offset: int = 0, who: Visitor = Depends(visitor),
               v: Vault = Depends(vault)):
    sent = webhooks.list_deliveries(vault=v, actor=who.actor, webhook_id=webhook_id, limit=PER_PAGE,
                                    offset=max(0, offset))
    hook = next((h for h in webhooks.list_webhooks(vault=v, actor=who.actor, include_removed=True)
                 if h.id == webhook_id), None)
    if hook is None:
        raise NotFound(f"no webhook with id {webhook_id}")
    return page(request, "admin/deliveries.html", visitor=who, hook=hook, sent=sent)


@router.post("/admin/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
def redeliver(request: Request, webhook_id: int, delivery_id: int, who: Visitor = Depends(form_visitor),
              v: Vault = Depends(vault)):
    webhooks.redeliver(vault=v, actor=who.actor, delivery_id=delivery_id)
    return redirect(f"/admin/webhooks/{webhook_id}", flash=translate(
        request, "Queued: it is sent again at the worker's next run."))
