"""User administration: add, list, change role or scope, disable."""

from __future__ import annotations

import re

from clientfolio.domain.errors import Conflict, InvalidInput, NotFound, NothingToChange
from clientfolio.domain.model import Role, User, parse_choice, utcnow
from clientfolio.domain.policy import Action
from clientfolio.services.context import Vault, acting_user, authorize
from clientfolio.services.views import UserView

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def add_user(*, vault: Vault, actor: str, name: str, role: str, own_customers_only: bool = False) -> UserView:
    with vault.uow() as uow:
        admin = acting_user(uow, actor)
        authorize(admin, Action.USER_MANAGE, object_type="user", object_id=name[:64])
        user = _new_user(uow, name, role, own_customers_only)
        uow.record(actor=admin.name, action="user.create", object_type="user", object_id=user.name,
                   details={"role": user.role, "own_customers_only": own_customers_only})
        uow.commit()
        return user_view(user)


def _new_user(uow, name: str, role: str, own_customers_only: bool) -> User:
    if not _NAME.match(name or ""):
        raise InvalidInput("user name must be 1-64 letters, digits or . _ @ - and start with a letter or digit")
    if uow.users.by_name(name) is not None:
        raise Conflict(f"a user named {name!r} already exists")
    user = User(name, parse_choice(Role, role, "role"), own_customers_only=own_customers_only)
    uow.users.add(user)
    return user


def create_first_admin(uow, name: str) -> User:
    """Used by vault initialization only: the one user nobody else could have created."""
    user = _new_user(uow, name, Role.ADMIN.value, False)
    uow.record(actor=name, action="user.create", object_type="user", object_id=name,
               details={"role": "admin", "first_admin": True})
    return user


def list_users(*, vault: Vault, actor: str) -> list[UserView]:
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.USER_READ, object_type="user", object_id="*")
        return [user_view(u) for u in uow.users.list()]


def my_account(*, vault: Vault, actor: str) -> UserView:
    """The acting user's own account: role, second factor (for the account page)."""
    with vault.uow(read_only=True) as uow:
        user = acting_user(uow, actor)
        authorize(user, Action.ACCOUNT_SELF, object_type="user", object_id=user.name)
        return user_view(user)


def set_role(*, vault: Vault, actor: str, name: str, role: str | None = None,
             own_customers_only: bool | None = None, disabled: bool | None = None) -> UserView:
    with vault.uow() as uow:
        admin = acting_user(uow, actor)
        authorize(admin, Action.USER_MANAGE, object_type="user", object_id=name[:64])
        user = uow.users.by_name(name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        changed = {}
        if role is not None and role != user.role:
            new_role = parse_choice(Role, role, "role").value
            if user.id == admin.id and new_role != Role.ADMIN.value:
                raise InvalidInput("an administrator cannot take away their own admin role")
            changed["role"] = [user.role, new_role]
            user.role = new_role
        if own_customers_only is not None and own_customers_only != user.own_customers_only:
            changed["own_customers_only"] = [user.own_customers_only, own_customers_only]
            user.own_customers_only = own_customers_only
        if disabled is not None and disabled != user.disabled:
            if user.id == admin.id:
                raise InvalidInput("an administrator cannot disable their own account")
            changed["disabled"] = [user.disabled, disabled]
            user.disabled = disabled
            if disabled:  # signed out everywhere; API tokens stop working while the account is disabled
                changed["sessions_ended"] = uow.auth.revoke_sessions(user.id, utcnow())
        if not changed:
            raise NothingToChange("nothing to change")
        uow.record(actor=admin.name, action="user.edit", object_type="user", object_id=user.name,
                   details=changed)
        uow.commit()
        return user_view(user)


def user_view(user: User) -> UserView:
    return UserView(name=user.name, role=user.role, own_customers_only=user.own_customers_only,
                    disabled=user.disabled, created_at=user.created_at, has_password=user.password_hash is not None,
                    second_factor=bool(user.totp_enabled), locked=user.locked_at is not None)
