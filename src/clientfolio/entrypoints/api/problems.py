"""Errors as problem+json (RFC 9457): a stable `type` per error code, 4xx for anything a client can cause."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from clientfolio.domain.errors import ClientfolioError

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:clientfolio:problem:"

STATUS = {
    "invalid-input": 422, "not-found": 404, "permission-denied": 403, "duplicate": 409, "conflict": 409,
    "not-authenticated": 401, "rate-limited": 429, "too-large": 413, "no-preview": 422, "unsupported-media-type": 415,
    "range-not-satisfiable": 416, "index-busy": 503, "integrity-failed": 500, "blob-missing": 500,
    "wrong-key": 500, "not-initialized": 500,
}
TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 413: "Content too large", 415: "Unsupported media type", 416: "Range not satisfiable",
    422: "Invalid input", 429: "Too many requests", 500: "Server error", 503: "Service unavailable",
}


class ApiProblem(ClientfolioError):
    """An error only the HTTP layer knows about (a malformed body, a Range that cannot be served)."""

    def __init__(self, code: str, message: str, status: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.status = status or STATUS.get(code, 400)
        self.headers = headers or {}


def problem(status: int, code: str, detail: str, headers: dict | None = None, **extra) -> JSONResponse:
    body = {"type": TYPE_PREFIX + code, "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI, *, page_error=None) -> None:
    """problem+json for /api/…; `page_error(request, status, code, detail)` answers everything else (the web
    pages) when given."""

    async def answer(request: Request, status: int, code: str, detail: str, headers: dict | None = None, **extra):
        if page_error is not None and not request.url.path.startswith("/api/"):
            return await run_in_threadpool(page_error, request, status, code, detail)  # it reads the session
        return problem(status, code, detail, headers, **extra)

    @app.exception_handler(ClientfolioError)
    async def _service_error(request: Request, exc: ClientfolioError):
        status = getattr(exc, "status", None) or STATUS.get(exc.code, 400)
        headers = dict(getattr(exc, "headers", {}) or {})
        if status == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="clientfolio"')
        return await answer(request, status, exc.code, exc.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))} for e in exc.errors()]
        where = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return await answer(request, 422, "invalid-request", f"the request is not valid: {where}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return await answer(request, exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


def responses(*statuses: int) -> dict:
    """OpenAPI entries for the problem responses an endpoint can give."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {s: {"description": TITLES.get(s, "Error"), "content": {MEDIA_TYPE: {"schema": schema}}} for s in statuses}
