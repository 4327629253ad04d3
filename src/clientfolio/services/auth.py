"""Signing in and out: passwords, the second-factor step, sessions, CSRF tokens, lock-out.

A session token (and an API token) is random, handed out once, and stored only as its SHA-256. Every step of
a sign-in makes a new token, so a token planted before the sign-in (session fixation) is worth nothing.
Failed attempts are committed (counter, per-address row, audit event) before the error is raised.
"""

from __future__ import annotations

import base64
import hmac
from datetime import timedelta

from clientfolio.domain.credentials import (ENROLMENT_ONLY_SCOPE, Principal, as_utc, check_password,
                                            normalize_password, session_refusal, token_digest)
from clientfolio.domain.errors import NotAuthenticated, PermissionDenied, RateLimited
from clientfolio.domain.model import utcnow
from clientfolio.domain.policy import Action
from clientfolio.services.auth_support import (REFRESH_LAST_SEEN_SECONDS, check_code, client_key, hasher,
                                               keyed, managed_user, open_session, register_failure)
from clientfolio.services.context import Vault, acting_user, authorize
from clientfolio.services.users import user_view
from clientfolio.services.views import SessionInfo, SignInResult, UserView

WRONG_NAME_OR_PASSWORD = "wrong user name or password"
NOT_SIGNED_IN = "not signed in, or the session has expired: please sign in again"


def sign_in(*, vault: Vault, name: str, password: str, client_address: str, user_agent: str = "") -> SignInResult:
    """Check a user name and password. Signed in, or a short-lived pending session waiting for the code."""
    passwords, settings, now, address = hasher(vault), vault.auth, utcnow(), client_key(client_address)
    name = name.strip() if isinstance(name, str) else ""
    attempted = name[:64] or "-"
    # A quick read first: the slow hash is checked while no write lock is held.
    with vault.uow(read_only=True) as uow:
        throttled = uow.auth.address_failures(address, now - settings.address_window) >= settings.address_max_failures
        found = uow.users.by_name(name) if 0 < len(name) <= 64 else None
        user_id, stored = (found.id, found.password_hash) if found else (None, None)
    if throttled:
        with vault.uow() as uow:
            uow.record(actor=attempted, action="auth.sign_in", object_type="user", object_id=attempted,
                       outcome="denied", details={"reason": "too many failed sign-ins from this address",
                                                  "client": address})
            uow.commit()
        raise RateLimited("too many failed sign-ins from this address: wait a few minutes, then try again")
    pw = normalize_password(password) if isinstance(password, str) else ""
    if stored is None:
        passwords.verify_dummy(pw)  # unknown name or no password: the same work, the same answer
        ok, rehashed = False, None
    else:
        ok = passwords.verify(stored, pw)
        rehashed = passwords.hash(pw) if ok and passwords.needs_rehash(stored) else None
    with vault.uow() as uow:
        user = uow.auth.user_for_update(user_id) if user_id is not None else None
        if user is not None and user.password_hash != stored:
            ok = False  # changed while we were checking: this answer was about the old password
        if not ok:
            uow.auth.add_address_failure(address, now, forget_before=now - settings.address_window)
            if user is not None and stored is not None:
                register_failure(uow, vault, user, now=now, what="password")
            reason = "unknown user" if user is None else "no password set" if stored is None else "wrong password"
            _record(uow, attempted, "denied", reason=reason, client=address)
            uow.commit()
            error = NotAuthenticated(WRONG_NAME_OR_PASSWORD)
        elif user.locked_at is not None or user.disabled:
            # The password was right: only now may the answer say why it is refused.
            locked = user.locked_at is not None
            _record(uow, user.name, "denied", reason="account locked" if locked else "account disabled",
                    client=address)
            uow.commit()
            error = NotAuthenticated("this account is locked after too many failed attempts: ask an administrator "
                                     "to unlock it" if locked else "this account is disabled")
        else:
            user.failed_sign_ins = 0
            uow.auth.forget_sessions_ended_before(now - timedelta(days=1))  # housekeeping: the trail keeps the story
            if rehashed:
                user.password_hash = rehashed
            pending = bool(user.totp_enabled)
            raw, session = open_session(uow, vault, user, now=now, second_factor_done=False, pending=pending,
                                        client_address=address, user_agent=user_agent)
            enrol = settings.requires_second_factor(user.role) and not user.totp_enabled
            _record(uow, user.name, "ok", client=address, rehashed=bool(rehashed),
                    second_factor="pending" if pending else "not set up" if enrol else "not used")
            uow.commit()
            return SignInResult(status="second_factor_needed" if pending else "signed_in", user=user.name,
                                token=raw, expires_at=session.ends_at, enrolment_required=enrol)
    raise error


def verify_second_factor(*, vault: Vault, token: str, code: str, client_address: str = "") -> SignInResult:
    """The code from the authenticator app (or a recovery code) for a pending sign-in: a new session token."""
    now, address, settings = utcnow(), client_key(client_address), vault.auth
    with vault.uow() as uow:
        session = uow.auth.session_by_id(token_digest(token)) if isinstance(token, str) and token else None
        user = uow.auth.user_for_update(session.user_id) if session is not None else None
        if (session is None or user is None or session.second_factor_done or session.revoked_at is not None
                or now >= as_utc(session.ends_at) or not user.totp_enabled):
            raise NotAuthenticated("this sign-in has expired or is unknown: please sign in again")
        if uow.auth.address_failures(address, now - settings.address_window) >= settings.address_max_failures:
            raise RateLimited("too many failed sign-ins from this address: wait a few minutes, then try again")
        if user.locked_at is not None or user.disabled:
            session.revoked_at = now
            _record(uow, user.name, "denied", step="second factor", reason="account locked or disabled",
                    client=address)
            uow.commit()
            error = NotAuthenticated("this account is locked or disabled: ask an administrator")
        else:
            method = check_code(uow, vault, user, code, now=now)
            if method is None:
                uow.auth.add_address_failure(address, now, forget_before=now - settings.address_window)
                register_failure(uow, vault, user, now=now, what="second factor")
                if user.locked_at is not None:
                    session.revoked_at = now
                _record(uow, user.name, "denied", step="second factor", reason="wrong code", client=address)
                uow.commit()
                error = NotAuthenticated("wrong code: enter the current code from your authenticator app, "
                                         "or one of your recovery codes")
            else:
                session.revoked_at = now  # the pending token dies; the signed-in session gets a new one
                user.failed_sign_ins = 0
                raw, fresh = open_session(uow, vault, user, now=now, second_factor_done=True, pending=False,
                                          client_address=address, user_agent=session.user_agent)
                details = {"method": method}
                if method == "recovery_code":
                    details["recovery_codes_left"] = uow.auth.unused_recovery_codes(user.id)
                _record(uow, user.name, "ok", step="second factor", client=address, **details)
                uow.commit()
                return SignInResult(status="signed_in", user=user.name, token=raw, expires_at=fresh.ends_at)
    raise error


def resolve_session(*, vault: Vault, token: str) -> SessionInfo:
    """The signed-in user behind a session token, or NotAuthenticated (expired, idle, signed out, user
    disabled or locked, second factor still awaited). Pass `principal` on as the `actor` of services."""
    now = utcnow()
    with vault.uow(read_only=True) as uow:  # every request comes here: no write lock unless one is due
        session = uow.auth.session_by_id(token_digest(token)) if isinstance(token, str) and token else None
        user = uow.users.get(session.user_id) if session is not None else None
        if session is None or user is None or user.disabled or user.locked_at is not None:
            raise NotAuthenticated(NOT_SIGNED_IN)
        if session_refusal(now=now, last_seen_at=session.last_seen_at, ends_at=session.ends_at,
                           revoked_at=session.revoked_at, settings=vault.auth):
            raise NotAuthenticated(NOT_SIGNED_IN)
        if user.totp_enabled and not session.second_factor_done:
            raise NotAuthenticated(NOT_SIGNED_IN)
        if now - as_utc(session.last_seen_at) >= timedelta(seconds=REFRESH_LAST_SEEN_SECONDS):
            with vault.uow() as write:
                write.auth.session_by_id(session.id).last_seen_at = now
                write.commit()
        enrolment_only = vault.auth.requires_second_factor(user.role) and not user.totp_enabled
        principal = (Principal(user.name, ENROLMENT_ONLY_SCOPE, via="session without its required second factor")
                     if enrolment_only else Principal(user.name))
        return SessionInfo(id=session.id, user=user.name, role=user.role, created_at=session.created_at,
                           last_seen_at=session.last_seen_at, ends_at=session.ends_at,
                           second_factor=bool(session.second_factor_done), enrolment_only=enrolment_only,
                           principal=principal)


def csrf_token(*, vault: Vault, session: SessionInfo) -> str:
    """The token a form or a fetch() of this session must send back: an HMAC of the session id under a key
    derived from the master key, so nothing is stored and a new session gets a new token."""
    digest = bytes.fromhex(keyed(vault, "csrf", session.id))
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def check_csrf(*, vault: Vault, session: SessionInfo, token: str | None) -> None:
    """PermissionDenied unless `token` is this session's CSRF token (compared in constant time)."""
    expected = csrf_token(vault=vault, session=session).encode("ascii")
    given = token.encode("utf-8", "replace") if isinstance(token, str) else b""
    if not hmac.compare_digest(expected, given):
        raise PermissionDenied("permission denied: the form is out of date or came from another site "
                               "(CSRF check failed); reload the page and try again", action="csrf",
                               object_type="session", object_id="-")


def sign_out(*, vault: Vault, token: str) -> None:
    """End this session (nothing happens for an unknown or ended one)."""
    now = utcnow()
    with vault.uow() as uow:
        session = uow.auth.session_by_id(token_digest(token)) if isinstance(token, str) and token else None
        if session is None or session.revoked_at is not None:
            return
        session.revoked_at = now
        user = uow.users.get(session.user_id)
        uow.record(actor=user.name if user else "-", action="auth.sign_out", object_type="user",
                   object_id=user.name if user else "-", details={})
        uow.commit()


def sign_out_everywhere(*, vault: Vault, actor: str, name: str | None = None,
                        keep_session: str | None = None) -> int:
    """End all of a user's sessions (one's own, or with user.manage anyone's); returns how many ended.
    `keep_session` (a SessionInfo.id of one's own) is left signed in."""
    now = utcnow()
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        target = _target(uow, user, name)
        ended = uow.auth.revoke_sessions(target.id, now, keep=keep_session if target.id == user.id else None)
        uow.record(actor=user.name, action="auth.sign_out_everywhere", object_type="user", object_id=target.name,
                   details={"sessions_ended": ended})
        uow.commit()
        return ended


def set_password(*, vault: Vault, actor: str, name: str, new_password: str, current_password: str | None = None,
                 keep_session: str | None = None) -> UserView:
    """One's own password (the current one is required once there is one), or with user.manage anyone's.
    Every session of that user ends (but `keep_session`, one's own current session)."""
    passwords, now = hasher(vault), utcnow()
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        target = _target(uow, user, name)
        own = target.id == user.id
        pw = check_password(new_password, user_name=target.name, settings=vault.auth)
        if own and target.password_hash is not None:
            given = normalize_password(current_password) if isinstance(current_password, str) else ""
            if not passwords.verify(target.password_hash, given):
                register_failure(uow, vault, target, now=now, what="current password")
                uow.record(actor=user.name, action="user.password", object_type="user", object_id=target.name,
                           outcome="denied", details={"reason": "wrong current password"})
                uow.commit()
                raise NotAuthenticated("the current password is wrong")
        target.password_hash = passwords.hash(pw)
        target.password_changed_at = now
        ended = uow.auth.revoke_sessions(target.id, now, keep=keep_session if own else None)
        uow.record(actor=user.name, action="user.password", object_type="user", object_id=target.name,
                   details={"by": "self" if own else "administrator", "sessions_ended": ended})
        uow.commit()
        return user_view(target)


def unlock_user(*, vault: Vault, actor: str, name: str) -> UserView:
    """Lift a lock-out (and reset the count of failed attempts)."""
    with vault.uow() as uow:
        admin = acting_user(uow, actor)
        target = managed_user(uow, admin, name)
        was_locked, failures = target.locked_at is not None, target.failed_sign_ins
        target.locked_at, target.failed_sign_ins = None, 0
        uow.record(actor=admin.name, action="user.unlock", object_type="user", object_id=target.name,
                   details={"was_locked": was_locked, "failures": failures})
        uow.commit()
        return user_view(target)


def _target(uow, user, name: str | None):
    """The user acted on, its row locked for update: oneself (account.self), or another (user.manage)."""
    if name is None or name == user.name:
        authorize(user, Action.ACCOUNT_SELF, object_type="user", object_id=user.name)
        return uow.auth.user_for_update(user.id)
    return managed_user(uow, user, name)


def _record(uow, actor: str, outcome: str, **details) -> None:
    uow.record(actor=actor, action="auth.sign_in", object_type="user", object_id=actor, outcome=outcome,
               details=details)
