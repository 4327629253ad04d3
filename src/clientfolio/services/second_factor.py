"""Two-step sign-in: set up an authenticator app (TOTP), recovery codes, turning it off, an admin's reset.

The TOTP secret is sealed with the field key; recovery codes are kept as keyed hashes and work once each.
A wrong code here counts towards the account's lock-out, like a wrong password at sign-in.
"""

from __future__ import annotations

from clientfolio.domain.credentials import looks_like_totp
from clientfolio.domain.errors import InvalidInput
from clientfolio.domain.model import utcnow
from clientfolio.domain.policy import Action
from clientfolio.services.auth_support import (check_code, managed_user, recovery_hash, register_failure, totp,
                                               totp_context)
from clientfolio.services.context import Vault, acting_user, authorize
from clientfolio.services.users import user_view
from clientfolio.services.views import TotpEnrolment, UserView


def start_totp(*, vault: Vault, actor: str) -> TotpEnrolment:
    """A new secret, pending until a code from it is confirmed: the otpauth:// URI and its QR code (SVG)."""
    with vault.uow() as uow:
        user = _self(uow, actor)
        if user.totp_enabled:
            raise InvalidInput("two-step sign-in is already on: turn it off first to move it to another device")
        secret = totp(vault).new_secret()
        user.totp_secret_sealed = vault.fields.seal(secret, context=totp_context(user))
        user.totp_last_step = None
        uri, svg = totp(vault).provisioning(secret, account=user.name, issuer=vault.auth.issuer)
        uow.record(actor=user.name, action="auth.totp_enrol", object_type="user", object_id=user.name,
                   details={"step": "started"})
        uow.commit()
        return TotpEnrolment(secret=secret, uri=uri, qr_svg=svg)


def confirm_totp(*, vault: Vault, actor: str, code: str, session_id: str | None = None) -> list[str]:
    """Turn two-step sign-in on with a first code; returns 10 recovery codes, shown this once. The session the
    set-up was confirmed in (`session_id`, a SessionInfo.id) counts as having passed the second factor."""
    now = utcnow()
    with vault.uow() as uow:
        user = _self(uow, actor, lock=True)
        if user.totp_enabled:
            raise InvalidInput("two-step sign-in is already on")
        if user.totp_secret_sealed is None:
            raise InvalidInput("start the set-up first: there is no pending authenticator secret")
        secret = vault.fields.open(user.totp_secret_sealed, context=totp_context(user))
        step = totp(vault).matching_step(secret, code if isinstance(code, str) else "", at=now, after_step=None)
        if step is None:
            raise InvalidInput("wrong code: check that the phone's clock is right and enter the current code")
        user.totp_enabled, user.totp_last_step = True, step
        codes = _new_recovery_codes(uow, vault, user)
        if session_id:
            session = uow.auth.session_by_id(session_id)
            if session is not None and session.user_id == user.id:
                session.second_factor_done = True
        uow.record(actor=user.name, action="auth.totp_enable", object_type="user", object_id=user.name,
                   details={"recovery_codes": len(codes)})
        uow.commit()
        return codes


def disable_totp(*, vault: Vault, actor: str, code: str) -> UserView:
    """Turn two-step sign-in off, proven with a current code or a recovery code. A role that requires it is
    sent back to the set-up at its next sign-in."""
    now = utcnow()
    with vault.uow() as uow:
        user = _self(uow, actor, lock=True)
        if not user.totp_enabled:
            raise InvalidInput("two-step sign-in is not on")
        method = check_code(uow, vault, user, code, now=now)
        if method is None:
            _wrong_code(uow, vault, user, now, "auth.totp_disable")
        _clear(uow, user)
        uow.record(actor=user.name, action="auth.totp_disable", object_type="user", object_id=user.name,
                   details={"method": method})
        uow.commit()
        return user_view(user)


def new_recovery_codes(*, vault: Vault, actor: str, code: str) -> list[str]:
    """Replace all recovery codes (the old ones stop working), proven with a current authenticator code."""
    now = utcnow()
    with vault.uow() as uow:
        user = _self(uow, actor, lock=True)
        if not user.totp_enabled:
            raise InvalidInput("two-step sign-in is not on")
        if not (isinstance(code, str) and looks_like_totp(code)) or check_code(uow, vault, user, code, now=now,
                                                                               recovery=False) is None:
            _wrong_code(uow, vault, user, now, "auth.recovery_codes")
        codes = _new_recovery_codes(uow, vault, user)
        uow.record(actor=user.name, action="auth.recovery_codes", object_type="user", object_id=user.name,
                   details={"recovery_codes": len(codes)})
        uow.commit()
        return codes


def reset_second_factor(*, vault: Vault, actor: str, name: str) -> UserView:
    """An administrator turns off another user's two-step sign-in (a lost phone): their sessions end, and a
    role that requires it must set it up again at the next sign-in."""
    now = utcnow()
    with vault.uow() as uow:
        admin = acting_user(uow, actor)
        target = managed_user(uow, admin, name)
        if target.id == admin.id:
            raise InvalidInput("to turn off your own two-step sign-in, use a code (or a recovery code)")
        was_on = bool(target.totp_enabled)
        _clear(uow, target)
        ended = uow.auth.revoke_sessions(target.id, now)
        uow.record(actor=admin.name, action="auth.totp_reset", object_type="user", object_id=target.name,
                   details={"was_on": was_on, "sessions_ended": ended})
        uow.commit()
        return user_view(target)


def _self(uow, actor: str, *, lock: bool = False):
    user = acting_user(uow, actor)
    authorize(user, Action.ACCOUNT_SELF, object_type="user", object_id=user.name)
    return uow.auth.user_for_update(user.id) if lock else user


def _new_recovery_codes(uow, vault: Vault, user) -> list[str]:
    codes = totp(vault).recovery_codes(10)
    uow.auth.replace_recovery_codes(user.id, [recovery_hash(vault, c) for c in codes])
    return codes


def _clear(uow, user) -> None:
    user.totp_enabled = False
    user.totp_secret_sealed = None
    user.totp_last_step = None
    uow.auth.delete_recovery_codes(user.id)


def _wrong_code(uow, vault: Vault, user, now, action: str) -> None:
    """Count it towards the lock-out, audit it, keep both (commit), then refuse."""
    register_failure(uow, vault, user, now=now, what="second factor")
    uow.record(actor=user.name, action=action, object_type="user", object_id=user.name, outcome="denied",
               details={"reason": "wrong code"})
    uow.commit()
    raise InvalidInput("wrong code: enter the current code from your authenticator app"
                       + (", or a recovery code" if action == "auth.totp_disable" else ""))
