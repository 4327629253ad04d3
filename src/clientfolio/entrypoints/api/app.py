"""The HTTP application: /api/v1 (OpenAPI at /api/v1/openapi.json, interactive docs at /api/docs) and the web
pages (entrypoints/web) beside it.

Every route is a thin translation into a service call; permission checks and audit events live in the services.
"""

from __future__ import annotations

from importlib import resources
from importlib.metadata import version as package_version
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from clientfolio.entrypoints.api import (problems, routes_auth, routes_customers, routes_documents, routes_misc,
                                         routes_webhooks)
from clientfolio.entrypoints.api.schemas import Problem
from clientfolio.entrypoints.web import app as web_app
from clientfolio.entrypoints.web import errors as web_errors
from clientfolio.services.context import Vault

PREFIX = "/api/v1"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders:
    """The usual response headers on everything; HSTS only when served over TLS."""

    def __init__(self, app: ASGIApp, *, hsts: bool):
        self.app = app
        self.headers = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
                        (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
                        (b"cross-origin-opener-policy", b"same-origin"),
                        (b"permissions-policy", b"camera=(self), geolocation=(), microphone=()")]
        if hsts:
            self.headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    (k, v) for k, v in self.headers if k not in present]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(vault: Vault, *, tls: bool = False) -> FastAPI:
    app = FastAPI(title="Clientfolio", version=package_version("clientfolio"),
                  description="Customer records vault: customers, documents, versions, search, audit, users.",
                  openapi_url=f"{PREFIX}/openapi.json", docs_url=None, redoc_url=None)
    app.state.vault = vault
    app.state.secure_cookies = tls
    problems.install(app, page_error=web_errors.error_page)
    for module in (routes_auth, routes_customers, routes_documents, routes_misc, routes_webhooks):
        app.include_router(module.router, prefix=PREFIX)
    web_app.install(app)
    _docs(app)
    _problem_schema(app)
    app.add_middleware(SecurityHeaders, hsts=tls)
    return app


def _docs(app: FastAPI) -> None:
    swagger = Path(fastapi_offline.__file__).parent / "static"
    ours = resources.files("clientfolio.entrypoints.api") / "static"
    app.mount("/api/docs/swagger", StaticFiles(directory=swagger), name="swagger")
    app.mount("/api/docs/static", StaticFiles(directory=str(ours)), name="api-docs")

    @app.get("/api/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Clientfolio API</title>"
            "<link rel=\"stylesheet\" href=\"/api/docs/swagger/swagger-ui.css\"></head>"
            f"<body data-openapi=\"{PREFIX}/openapi.json\"><div id=\"swagger-ui\"></div>"
            "<script src=\"/api/docs/swagger/swagger-ui-bundle.js\"></script>"
            "<script src=\"/api/docs/static/docs.js\"></script></body></html>")


def _problem_schema(app: FastAPI) -> None:
    """Every error is problem+json: the Problem schema in components, every operation's 422 and a default
    response pointing at it (FastAPI's own validation-error schema is not what this API sends)."""
    make = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = make()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema()
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        problem = {"content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                answers = operation.setdefault("responses", {})
                if "422" in answers:
                    answers["422"] = {"description": "Invalid input", **problem}
                answers["default"] = {"description": "An error (RFC 9457 problem details)", **problem}
        return schema

    app.openapi = openapi
