"""Webhooks: administrators register endpoints and look at their deliveries."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from clientfolio.domain import webhooks as rules
from clientfolio.entrypoints.api.deps import Caller, caller, vault
from clientfolio.entrypoints.api.problems import responses
from clientfolio.entrypoints.api.schemas import Body, RecordId
from clientfolio.services import webhooks
from clientfolio.services.context import Vault
from clientfolio.services.webhooks import DeliveryView, WebhookView

router = APIRouter(tags=["webhooks"])


class NewWebhookRequest(Body):
    url: str = Field(max_length=2000, description="https://…, or http:// to this machine only")
    events: list[str] | None = Field(default=None, max_length=len(rules.EVENT_TYPES),
                                     description="event types; omitted: all of " + ", ".join(rules.EVENT_TYPES))
    description: str = Field(default="", max_length=200)


@dataclass
class DeliveryPage:
    items: list[DeliveryView]
    total: int
    limit: int
    offset: int


@router.get("/webhooks", response_model=list[WebhookView], responses=responses(401, 403))
def list_webhooks(who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return webhooks.list_webhooks(vault=v, actor=who.actor)


@router.post("/webhooks", status_code=201, responses=responses(401, 403, 422))
def register(body: NewWebhookRequest, who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """Payloads are signed: `X-Clientfolio-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`.
    The secret is in this response only."""
    made = webhooks.register_webhook(vault=v, actor=who.actor, url=body.url, events=body.events,
                                     description=body.description)
    return {"secret": made.secret, **made.webhook.to_dict()}


@router.delete("/webhooks/{webhook_id}", response_model=WebhookView, responses=responses(401, 403, 404))
def remove(webhook_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return webhooks.remove_webhook(vault=v, actor=who.actor, webhook_id=webhook_id)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage, responses=responses(401, 403, 404))
def deliveries(webhook_id: RecordId, limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=10**7),
               who: Caller = Depends(caller), v: Vault = Depends(vault)):
    page = webhooks.list_deliveries(vault=v, actor=who.actor, webhook_id=webhook_id, limit=limit, offset=offset)
    return DeliveryPage(page.items, page.total, page.limit, page.offset)


@router.post("/webhook-deliveries/{delivery_id}/redeliver", response_model=DeliveryView,
             responses=responses(401, 403, 404))
def redeliver(delivery_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return webhooks.redeliver(vault=v, actor=who.actor, delivery_id=delivery_id)
