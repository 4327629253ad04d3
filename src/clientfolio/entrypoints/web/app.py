"""Mounting the web pages on the HTTP application: routers, static assets, HTML error pages."""

from __future__ import annotations

import importlib
import pkgutil
from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from clientfolio.entrypoints import web
from clientfolio.entrypoints.web import errors
from clientfolio.entrypoints.web.session import SignInNeeded


def page_modules():
    """Every `pages_<area>.py` in this package, each with a `router`: one module per area of the site."""
    for info in sorted(pkgutil.iter_modules(web.__path__), key=lambda m: m.name):
        if info.name.startswith("pages_"):
            yield importlib.import_module(f"{web.__name__}.{info.name}")


def install(app: FastAPI) -> None:
    static = resources.files("clientfolio.entrypoints.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    for module in page_modules():
        app.include_router(module.router)
    app.add_exception_handler(SignInNeeded, errors.sign_in_needed)
