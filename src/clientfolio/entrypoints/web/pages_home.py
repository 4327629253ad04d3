"""The dashboard: what needs attention today (expiring and expired documents, the inbox, reviews due) and
what happened lately to the user's customers, under the vault's counts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from clientfolio.entrypoints.web.pages_customers import category_label
from clientfolio.entrypoints.web.render import page
from clientfolio.entrypoints.web.session import Visitor, vault, visitor
from clientfolio.services.context import Vault
from clientfolio.services.dashboard import dashboard as what_needs_doing
from clientfolio.services.summary import vault_summary

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard(request: Request, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    view = what_needs_doing(vault=v, actor=who.actor)
    return page(request, "dashboard.html", visitor=who, board=view, label=category_label(v, request),
                summary=vault_summary(vault=v, actor=who.actor, today=view.today))
