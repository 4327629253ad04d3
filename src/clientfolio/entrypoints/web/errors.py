"""Errors on pages: an HTML page in the visitor's language instead of problem+json, same status codes."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse

from clientfolio.entrypoints.web.render import page
from clientfolio.entrypoints.web.session import SignInNeeded, maybe_visitor

def N_(message: str) -> str:
    """Marks text for `make messages`; it is translated where it is shown (`_(heading)` in error.html)."""
    return message


HEADINGS = {
    400: N_("The request could not be understood"), 401: N_("Please sign in"), 403: N_("You may not do this"),
    404: N_("Not found"), 405: N_("Not allowed here"), 409: N_("This conflicts with what is already there"),
    413: N_("The file is too large"), 415: N_("This kind of file is not accepted"), 422: N_("Please check what you entered"),
    429: N_("Too many attempts"), 500: N_("Something went wrong on our side"), 503: N_("Busy, please try again shortly"),
}


def is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def sign_in_needed(request: Request, exc: SignInNeeded) -> RedirectResponse:
    return RedirectResponse(exc.to, status_code=303)


def error_page(request: Request, status: int, code: str, detail: str):
    if status == 401:
        return RedirectResponse("/sign-in", status_code=303)
    try:
        who = maybe_visitor(request)
    except Exception:  # an error page must render even when the session store is what failed
        who = None
    return page(request, "error.html", status=status, visitor=who if who and not who.enrolment_only else None,
                heading=HEADINGS.get(status, N_("Something went wrong")), detail=detail, code=code)
