"""The dashboard: what needs attention today."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from clientfolio.entrypoints.web.render import page
from clientfolio.entrypoints.web.session import Visitor, vault, visitor
from clientfolio.services.context import Vault
from clientfolio.services.summary import vault_summary

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard(request: Request, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return page(request, "dashboard.html", visitor=who, summary=vault_summary(vault=v, actor=who.actor))
