"""What the sign-in services share: new sessions, counting failures (and locking), checking codes.

Helpers for services/auth.py, second_factor.py and tokens.py; none of them commits or checks permissions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from clientfolio.domain.credentials import (SignInSession, looks_like_totp, normalize_recovery_code,
                                            token_digest)
from clientfolio.domain.errors import NotFound
from clientfolio.domain.model import User
from clientfolio.domain.policy import Action
from clientfolio.domain.ports import PasswordHasher, SecondFactor
from clientfolio.services.context import UnitOfWork, Vault, authorize

REFRESH_LAST_SEEN_SECONDS = 60  # a session's or token's "last used" is written at most once a minute


def hasher(vault: Vault) -> PasswordHasher:
    if vault.passwords is None:
        raise RuntimeError("this vault was built without a password hasher")
    return vault.passwords


def totp(vault: Vault) -> SecondFactor:
    if vault.second_factor is None:
        raise RuntimeError("this vault was built without a second-factor adapter")
    return vault.second_factor


def client_key(address: str | None) -> str:
    """The client address as stored and counted (an API behind a proxy passes the forwarded one)."""
    text = "".join(str(address or "").split())[:64]
    return text or "-"


def keyed(vault: Vault, purpose: str, value: str) -> str:
    if not vault.auth_key:
        raise RuntimeError("this vault was built without an auth key")
    return hmac.new(vault.auth_key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def recovery_hash(vault: Vault, code: str) -> str:
    """Recovery codes have about 49 bits: keyed, so a copy of the database alone cannot be searched for them."""
    return keyed(vault, "recovery-code", normalize_recovery_code(code))


def totp_context(user: User) -> str:
    return f"users/{user.id}/totp"


def managed_user(uow: UnitOfWork, admin: User, name: str) -> User:
    """Another user, for someone with user.manage (a denial is audited), its row locked for update."""
    authorize(admin, Action.USER_MANAGE, object_type="user", object_id=str(name)[:64])
    found = uow.users.by_name(name)
    if found is None:
        raise NotFound(f"no user named {name!r}")
    return uow.auth.user_for_update(found.id)


def open_session(uow: UnitOfWork, vault: Vault, user: User, *, now: datetime, second_factor_done: bool,
                 pending: bool, client_address: str, user_agent: str) -> tuple[str, SignInSession]:
    """A new random token; only its SHA-256 is stored. Every sign-in step makes a new one (no fixation)."""
    raw = secrets.token_urlsafe(32)
    ends = now + (vault.auth.pending_second_factor if pending else vault.auth.session_absolute)
    session = SignInSession(id=token_digest(raw), user_id=user.id, now=now, ends_at=ends,
                            second_factor_done=second_factor_done, client_address=client_address,
                            user_agent="".join(ch for ch in (user_agent or "") if ch.isprintable()))
    uow.auth.add_session(session)
    return raw, session


def register_failure(uow: UnitOfWork, vault: Vault, user: User, *, now: datetime, what: str) -> None:
    """One more failed password or code for this account (the user row is locked for update); at the
    threshold the account is locked, its sessions end, and the lock is audited."""
    user.failed_sign_ins = (user.failed_sign_ins or 0) + 1
    if user.locked_at is None and user.failed_sign_ins >= vault.auth.lock_after_failures:
        user.locked_at = now
        ended = uow.auth.revoke_sessions(user.id, now)
        uow.record(actor=user.name, action="user.locked", object_type="user", object_id=user.name,
                   outcome="ok", details={"failures": user.failed_sign_ins, "last": what, "sessions_ended": ended})


def check_code(uow: UnitOfWork, vault: Vault, user: User, code: str, *, now: datetime,
               recovery: bool = True) -> str | None:
    """"totp" or "recovery_code" if `code` proves the second factor (and is now spent), else None."""
    if not isinstance(code, str) or not user.totp_enabled or user.totp_secret_sealed is None:
        return None
    if looks_like_totp(code):
        secret = vault.fields.open(user.totp_secret_sealed, context=totp_context(user))
        step = totp(vault).matching_step(secret, code, at=now, after_step=user.totp_last_step)
        if step is None:
            return None
        user.totp_last_step = step
        return "totp"
    if recovery and len(code) <= 64 and uow.auth.use_recovery_code(user.id, recovery_hash(vault, code), now):
        return "recovery_code"
    return None
