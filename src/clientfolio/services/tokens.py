"""API tokens: made by a person for themselves, shown once, stored as SHA-256, limited by a scope.

A token acts as its user, narrowed to its scope: `resolve_token` gives a `Principal` to pass as the `actor`
of any service, and the policy intersects the role's permissions with the scope (see domain/policy.py).
"""

from __future__ import annotations

import json
import re
import secrets
import string
from datetime import timedelta

from clientfolio.domain.credentials import (TOKEN_PREFIX, ApiToken, Principal, as_utc, token_digest,
                                            token_rights, token_scope)
from clientfolio.domain.errors import InvalidInput, NotAuthenticated, NotFound
from clientfolio.domain.model import utcnow
from clientfolio.domain.policy import Action
from clientfolio.services.auth_support import REFRESH_LAST_SEEN_SECONDS
from clientfolio.services.context import Vault, acting_user, authorize, deny
from clientfolio.services.views import NewToken, TokenIdentity, TokenView

_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_RAW = re.compile(r"^cf_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$")
BAD_TOKEN = "the API token is invalid, expired or revoked"


def create_token(*, vault: Vault, actor: str, name: str, scope: list[str] | None = None,
                 expires_in_days: int = 90) -> NewToken:
    """A token for oneself. `scope` (actions, e.g. ["customer.read"]) may only narrow the role's rights; None
    means whatever the role allows when the token is used. The token text is returned this once."""
    now = utcnow()
    with vault.uow() as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.ACCOUNT_SELF, object_type="token", object_id="-")
        if user.scope is not None:
            raise deny(user, Action.ACCOUNT_SELF.value, "a token, or a sign-in that has not finished setting up "
                       "its second factor, cannot create tokens", object_type="token", object_id="-")
        label = (name or "").strip()
        if not 1 <= len(label) <= 64 or not label.isprintable():
            raise InvalidInput("a token's name must be 1-64 printable characters, e.g. \"nightly export\"")
        wanted = token_scope(user.role, scope)
        days = expires_in_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= vault.auth.token_max_days:
            raise InvalidInput(f"a token must expire in 1 to {vault.auth.token_max_days} days")
        prefix = TOKEN_PREFIX + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
        raw = f"{prefix}_{secrets.token_urlsafe(32)}"
        token = ApiToken(user_id=user.id, name=label, token_hash=token_digest(raw), prefix=prefix,
                         scope=json.dumps(wanted) if wanted is not None else None, created_at=now,
                         expires_at=now + timedelta(days=days))
        uow.auth.add_token(token)
        uow.record(actor=user.name, action="token.create", object_type="token", object_id=prefix,
                   details={"name": label, "scope": wanted if wanted is not None else "role",
                            "expires_at": token.expires_at.isoformat()})
        uow.commit()
        return NewToken(token=raw, view=_view(token, user.name))


def list_tokens(*, vault: Vault, actor: str, user: str | None = None,
                include_revoked: bool = False) -> list[TokenView]:
    """One's own tokens (or, with user.read, another user's); never the token text."""
    with vault.uow(read_only=True) as uow:
        me = acting_user(uow, actor)
        if user is None or user == me.name:
            authorize(me, Action.ACCOUNT_SELF, object_type="token", object_id="*")
            owner = me
        else:
            authorize(me, Action.USER_READ, object_type="user", object_id=str(user)[:64])
            owner = uow.users.by_name(user)
            if owner is None:
                raise NotFound(f"no user named {user!r}")
        return [_view(t, owner.name) for t in uow.auth.tokens_of(owner.id, include_revoked=include_revoked)]


def revoke_token(*, vault: Vault, actor: str, token_id: int) -> TokenView:
    """Revoke one's own token (or, with user.manage, anyone's); revoking twice changes nothing."""
    now = utcnow()
    with vault.uow() as uow:
        me = acting_user(uow, actor)
        token = uow.auth.token(token_id) if isinstance(token_id, int) else None
        if token is None:
            raise NotFound(f"no API token with id {token_id}")
        if token.user_id == me.id:
            authorize(me, Action.ACCOUNT_SELF, object_type="token", object_id=token.prefix)
        else:
            authorize(me, Action.USER_MANAGE, object_type="token", object_id=token.prefix)
        owner = uow.users.get(token.user_id)
        if token.revoked_at is None:
            token.revoked_at = now
            uow.record(actor=me.name, action="token.revoke", object_type="token", object_id=token.prefix,
                       details={"name": token.name, "owner": owner.name})
            uow.commit()
        return _view(token, owner.name)


def resolve_token(*, vault: Vault, token: str) -> TokenIdentity:
    """The user and scope behind a token text, or NotAuthenticated (unknown, revoked, expired, user disabled
    or locked). Pass `principal` on as the `actor` of services: the scope then limits every one of them."""
    now = utcnow()
    if not isinstance(token, str) or not _RAW.match(token):
        raise NotAuthenticated(BAD_TOKEN)
    with vault.uow(read_only=True) as uow:  # every API call comes here: no write lock unless one is due
        found = uow.auth.token_by_hash(token_digest(token))
        user = uow.users.get(found.user_id) if found is not None else None
        if (found is None or user is None or found.revoked_at is not None or now >= as_utc(found.expires_at)
                or user.disabled or user.locked_at is not None):
            raise NotAuthenticated(BAD_TOKEN)
        if found.last_used_at is None or now - as_utc(found.last_used_at) >= timedelta(
                seconds=REFRESH_LAST_SEEN_SECONDS):
            with vault.uow() as write:
                write.auth.token_by_hash(found.token_hash).last_used_at = now
                write.commit()
        scope = json.loads(found.scope) if found.scope is not None else None
        principal = Principal(user.name, token_rights(scope), via=f"token {found.prefix}")
        return TokenIdentity(user=user.name, token_id=found.id, prefix=found.prefix, scope=scope,
                             principal=principal)


def _view(token: ApiToken, owner: str) -> TokenView:
    return TokenView(id=token.id, name=token.name, prefix=token.prefix, user=owner,
                     scope=json.loads(token.scope) if token.scope is not None else None,
                     created_at=token.created_at, expires_at=token.expires_at, last_used_at=token.last_used_at,
                     revoked_at=token.revoked_at)
