"""Sign-in, second factor, sessions, own password and API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from clientfolio.domain.errors import NotAuthenticated
from clientfolio.entrypoints.api.deps import SESSION_COOKIE, Caller, caller, vault
from clientfolio.entrypoints.api.problems import responses
from clientfolio.entrypoints.api.schemas import (Code, NewTokenRequest, PasswordChange, RecordId, SessionState,
                                                 SignIn, SignInState, TokenList)
from clientfolio.services import auth, second_factor, tokens
from clientfolio.services.context import Vault
from clientfolio.services.views import TokenView, UserView

router = APIRouter(tags=["sign-in"])


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.app.state.secure_cookies)


def _state(v: Vault, result, token: str) -> SignInState:
    csrf = None
    if result.status == "signed_in":
        csrf = auth.csrf_token(vault=v, session=auth.resolve_session(vault=v, token=token))
    return SignInState(status=result.status, user=result.user, enrolment_required=result.enrolment_required,
                       csrf_token=csrf)


@router.post("/auth/sign-in", response_model=SignInState, responses=responses(401, 422, 429))
def sign_in(body: SignIn, request: Request, response: Response, v: Vault = Depends(vault)):
    """Password sign-in. Sets a new session cookie (a new id every time: no fixation). When the account has a
    second factor, the session waits for `/auth/second-factor`."""
    result = auth.sign_in(vault=v, name=body.name, password=body.password, client_address=_client(request),
                          user_agent=request.headers.get("user-agent", "")[:200])
    _set_session(request, response, result.token)
    return _state(v, result, result.token)


@router.post("/auth/second-factor", response_model=SignInState, responses=responses(401, 422, 429))
def confirm_second_factor(body: Code, request: Request, response: Response, v: Vault = Depends(vault)):
    """A TOTP code or a recovery code for the pending sign-in; the session id changes again."""
    pending = request.cookies.get(SESSION_COOKIE, "")
    result = auth.verify_second_factor(vault=v, token=pending, code=body.code, client_address=_client(request))
    _set_session(request, response, result.token)
    return _state(v, result, result.token)


@router.get("/auth/session", response_model=SessionState, responses=responses(401))
def session(who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """The signed-in user and the CSRF token to send as X-CSRF-Token with every unsafe request."""
    if who.session is None:
        raise NotAuthenticated("this call needs a signed-in session, not an API token")
    s = who.session
    return SessionState(user=s.user, role=s.role, csrf_token=auth.csrf_token(vault=v, session=s),
                        second_factor=s.second_factor, enrolment_only=s.enrolment_only)


@router.post("/auth/sign-out", status_code=204, responses=responses(401, 403))
def sign_out(response: Response, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    if who.session_token:
        auth.sign_out(vault=v, token=who.session_token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


@router.post("/auth/sign-out-everywhere", responses=responses(401, 403))
def sign_out_everywhere(response: Response, who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """End every session of yours, this one included."""
    ended = auth.sign_out_everywhere(vault=v, actor=who.actor)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"sessions_ended": ended}


@router.put("/auth/password", status_code=204, responses=responses(401, 403, 422))
def change_password(body: PasswordChange, response: Response, who: Caller = Depends(caller),
                    v: Vault = Depends(vault)):
    """Change your own password (the current one is required); every other session of yours ends."""
    auth.set_password(vault=v, actor=who.actor, name=str(who.actor), new_password=body.new_password,
                      current_password=body.current_password or "",
                      keep_session=who.session.id if who.session else None)
    response.status_code = 204
    return response


@router.post("/auth/totp", responses=responses(401, 403, 409))
def start_totp(who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """Begin second-factor enrolment: the otpauth URI, its QR code (SVG) and the secret for typing by hand."""
    e = second_factor.start_totp(vault=v, actor=who.actor)
    return {"uri": e.uri, "qr_svg": e.qr_svg, "secret": e.secret}


@router.post("/auth/totp/confirm", responses=responses(401, 403, 422))
def confirm_totp(body: Code, who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """Finish enrolment with a first code; returns the one-time recovery codes (shown this once)."""
    codes = second_factor.confirm_totp(vault=v, actor=who.actor, code=body.code,
                                       session_id=who.session.id if who.session else None)
    return {"recovery_codes": codes}


@router.post("/auth/totp/disable", response_model=UserView, responses=responses(401, 403, 422))
def disable_totp(body: Code, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    """Turn two-step sign-in off (a current code is required; roles that must have it set it up again)."""
    return second_factor.disable_totp(vault=v, actor=who.actor, code=body.code)


@router.post("/auth/recovery-codes", responses=responses(401, 403, 422))
def new_recovery_codes(body: Code, who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """Ten new one-time recovery codes (the old ones stop working); a current TOTP code is required."""
    return {"recovery_codes": second_factor.new_recovery_codes(vault=v, actor=who.actor, code=body.code)}


@router.get("/tokens", response_model=TokenList, responses=responses(401, 403))
def list_tokens(include_revoked: bool = False, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return TokenList(tokens.list_tokens(vault=v, actor=who.actor, include_revoked=include_revoked))


@router.post("/tokens", status_code=201, responses=responses(401, 403, 422))
def create_token(body: NewTokenRequest, who: Caller = Depends(caller), v: Vault = Depends(vault)) -> dict:
    """A token for yourself; its text is in this response only. The scope can only narrow your rights."""
    made = tokens.create_token(vault=v, actor=who.actor, name=body.name, scope=body.scope,
                               expires_in_days=body.expires_in_days)
    return {"token": made.token, **(made.view.to_dict() if made.view else {})}


@router.delete("/tokens/{token_id}", response_model=TokenView, responses=responses(401, 403, 404))
def revoke_token(token_id: RecordId, who: Caller = Depends(caller), v: Vault = Depends(vault)):
    return tokens.revoke_token(vault=v, actor=who.actor, token_id=token_id)
