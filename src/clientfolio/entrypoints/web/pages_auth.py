"""Sign-in (password, then a TOTP or recovery code), the account page, second-factor enrolment, sign-out and
the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from clientfolio.domain.errors import InvalidInput, NotAuthenticated, PermissionDenied, RateLimited
from clientfolio.entrypoints.api.deps import SESSION_COOKIE, check_same_origin
from clientfolio.entrypoints.web import i18n
from clientfolio.entrypoints.web.render import page, redirect, safe_next, translate
from clientfolio.entrypoints.web.session import (Visitor, enrolling_form_visitor, enrolling_visitor, form_visitor,
                                                 maybe_visitor, vault, visitor)
from clientfolio.services import auth, second_factor, users
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _with_session(request: Request, response: RedirectResponse, token: str) -> RedirectResponse:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.app.state.secure_cookies)
    return response


def _after_sign_in(request: Request, result, target: str) -> RedirectResponse:
    if result.status == "second_factor_needed":
        to = "/sign-in/code" + (f"?next={target}" if target != "/" else "")
    elif result.enrolment_required:
        to = "/account/second-factor"
    else:
        to = target
    return _with_session(request, redirect(to), result.token)


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/", who: Visitor | None = Depends(maybe_visitor)):
    if who is not None and not who.enrolment_only:
        return redirect(safe_next(next))
    return page(request, "sign_in.html", next=safe_next(next), name="")


@router.post("/sign-in")
def sign_in(request: Request, name: str = Form(""), password: str = Form(""), next: str = Form("/"),
            v: Vault = Depends(vault)):
    check_same_origin(request)
    try:
        result = auth.sign_in(vault=v, name=name, password=password, client_address=_client(request),
                              user_agent=request.headers.get("user-agent", "")[:200])
    except (NotAuthenticated, RateLimited) as exc:
        message = (translate(request, "Too many failed sign-ins: wait a few minutes, then try again.")
                   if isinstance(exc, RateLimited) else translate(request, "Wrong user name or password."))
        return page(request, "sign_in.html", status=exc_status(exc), next=safe_next(next), name=name,
                    error=message)
    return _after_sign_in(request, result, safe_next(next))


def exc_status(exc: Exception) -> int:
    return 429 if isinstance(exc, RateLimited) else 401


@router.get("/sign-in/code")
def code_page(request: Request, next: str = "/"):
    if not request.cookies.get(SESSION_COOKIE):
        return redirect("/sign-in")
    return page(request, "sign_in_code.html", next=safe_next(next))


@router.post("/sign-in/code")
def confirm_code(request: Request, code: str = Form(""), next: str = Form("/"), v: Vault = Depends(vault)):
    check_same_origin(request)
    try:
        result = auth.verify_second_factor(vault=v, token=request.cookies.get(SESSION_COOKIE, ""), code=code,
                                           client_address=_client(request))
    except (NotAuthenticated, RateLimited, InvalidInput) as exc:
        if isinstance(exc, NotAuthenticated) and "code" not in exc.message:
            return redirect("/sign-in")  # the pending sign-in expired or was never there
        return page(request, "sign_in_code.html", status=exc_status(exc) if not isinstance(exc, InvalidInput)
                    else 422, next=safe_next(next), error=translate(request, "That code is not right. Try the "
                                                                      "current code from your app."))
    return _after_sign_in(request, result, safe_next(next))


@router.post("/sign-out")
def sign_out(who: Visitor = Depends(enrolling_form_visitor), v: Vault = Depends(vault)):
    auth.sign_out(vault=v, token=who.token)
    return _signed_out()


@router.post("/sign-out-everywhere")
def sign_out_everywhere(who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    auth.sign_out_everywhere(vault=v, actor=who.actor)
    return _signed_out()


def _signed_out():
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def choose_language(request: Request, locale: str = Form(i18n.DEFAULT_LOCALE), next: str = Form("/")):
    check_same_origin(request)
    response = redirect(safe_next(next))
    if locale in i18n.LOCALES:
        response.set_cookie(i18n.LANG_COOKIE, locale, max_age=365 * 86400, samesite="lax", path="/",
                            secure=request.app.state.secure_cookies)
    return response


@router.get("/account")
def account(request: Request, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return page(request, "account.html", visitor=who, user=users.my_account(vault=v, actor=who.actor))


@router.post("/account/password")
def change_password(request: Request, current_password: str = Form(""), new_password: str = Form(""),
                    who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    try:
        auth.set_password(vault=v, actor=who.actor, name=who.name, new_password=new_password,
                          current_password=current_password, keep_session=who.session.id)
    except (InvalidInput, PermissionDenied, NotAuthenticated) as exc:
        return page(request, "account.html", status=422, visitor=who, password_error=exc.message,
                    user=users.my_account(vault=v, actor=who.actor))
    return redirect("/account", flash=translate(request, "Your password was changed."))


@router.get("/account/second-factor")
def second_factor_page(request: Request, who: Visitor = Depends(enrolling_visitor), v: Vault = Depends(vault)):
    return page(request, "second_factor.html", visitor=who, user=users.my_account(vault=v, actor=who.actor))


@router.post("/account/second-factor/start")
def start_enrolment(request: Request, who: Visitor = Depends(enrolling_form_visitor), v: Vault = Depends(vault)):
    enrolment = second_factor.start_totp(vault=v, actor=who.actor)
    return page(request, "second_factor.html", visitor=who, user=users.my_account(vault=v, actor=who.actor),
                enrolment=enrolment)


@router.post("/account/second-factor/confirm")
def confirm_enrolment(request: Request, code: str = Form(""), who: Visitor = Depends(enrolling_form_visitor),
                      v: Vault = Depends(vault)):
    try:
        codes = second_factor.confirm_totp(vault=v, actor=who.actor, code=code, session_id=who.session.id)
    except (InvalidInput, NotAuthenticated) as exc:
        return page(request, "second_factor.html", status=422, visitor=who, pending=True, error=exc.message,
                    user=users.my_account(vault=v, actor=who.actor))
    return page(request, "second_factor.html", visitor=who, recovery_codes=codes,
                user=users.my_account(vault=v, actor=who.actor))


@router.post("/account/second-factor/recovery-codes")
def recovery_codes(request: Request, code: str = Form(""), who: Visitor = Depends(form_visitor),
                   v: Vault = Depends(vault)):
    try:
        codes = second_factor.new_recovery_codes(vault=v, actor=who.actor, code=code)
    except (InvalidInput, NotAuthenticated) as exc:
        return page(request, "second_factor.html", status=422, visitor=who, error=exc.message,
                    user=users.my_account(vault=v, actor=who.actor))
    return page(request, "second_factor.html", visitor=who, recovery_codes=codes,
                user=users.my_account(vault=v, actor=who.actor))


@router.post("/account/second-factor/disable")
def disable(request: Request, code: str = Form(""), who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    try:
        second_factor.disable_totp(vault=v, actor=who.actor, code=code)
    except (InvalidInput, NotAuthenticated) as exc:
        return page(request, "second_factor.html", status=422, visitor=who, error=exc.message,
                    user=users.my_account(vault=v, actor=who.actor))
    return redirect("/account", flash=translate(request, "Two-step sign-in is off."))
