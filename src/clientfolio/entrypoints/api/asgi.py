"""The ASGI application uvicorn imports (`clientfolio serve` sets the environment it reads)."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from clientfolio import bootstrap
from clientfolio.entrypoints.api.app import create_app


def make_app() -> FastAPI:
    home = Path(os.environ.get("CLIENTFOLIO_HOME") or bootstrap.default_home())
    return create_app(bootstrap.open_vault(home), tls=os.environ.get("CLIENTFOLIO_TLS") == "1")
