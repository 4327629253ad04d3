"""Administration: the index of what the visitor's role may administer, and the users (add, role and limits,
disable, password, unlock, second-factor reset, sign-out everywhere). Tokens, webhooks and the audit log are in
pages_tokens.py, pages_webhooks.py and pages_audit.py."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request

from clientfolio.domain.credentials import check_password
from clientfolio.domain.errors import Conflict, InvalidInput, NotFound, NothingToChange
from clientfolio.domain.model import Role
from clientfolio.entrypoints.web.render import page, redirect, translate
from clientfolio.entrypoints.web.session import Visitor, form_visitor, vault, visitor
from clientfolio.services import auth, second_factor, users
from clientfolio.services.context import Vault

router = APIRouter(include_in_schema=False)
ROLES = [r.value for r in Role]


@router.get("/admin")
def admin_index(request: Request, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    people = users.list_users(vault=v, actor=who.actor)  # the service refuses roles with nothing to administer
    return page(request, "admin/index.html", visitor=who, people=people)


@router.get("/admin/users")
def user_list(request: Request, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return _list_page(request, who, v)


def _list_page(request: Request, who: Visitor, v: Vault, *, status: int = 200, **context):
    return page(request, "admin/users.html", status=status, visitor=who, roles=ROLES,
                people=users.list_users(vault=v, actor=who.actor), **context)


@router.post("/admin/users")
def add_user(request: Request, name: str = Form(""), role: str = Form("clerk"), own_customers_only: bool = Form(False),
             password: str = Form(""), who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    name = name.strip()
    try:
        # Checked before the user exists, so a refused password never leaves an account without one.
        check_password(password, user_name=name, settings=v.auth)
        users.add_user(vault=v, actor=who.actor, name=name, role=role, own_customers_only=own_customers_only)
        auth.set_password(vault=v, actor=who.actor, name=name, new_password=password)
    except (InvalidInput, Conflict) as exc:
        return _list_page(request, who, v, status=422, error=exc.message,
                          form={"name": name, "role": role, "own_customers_only": own_customers_only})
    return redirect(_user_url(name), flash=translate(request, "User %(name)s was added.", name=name))


@router.get("/admin/users/{name}")
def user_page(request: Request, name: str, who: Visitor = Depends(visitor), v: Vault = Depends(vault)):
    return _user_page(request, who, v, name)


def _user_page(request: Request, who: Visitor, v: Vault, name: str, *, status: int = 200, **context):
    person = next((u for u in users.list_users(vault=v, actor=who.actor) if u.name == name), None)
    if person is None:
        raise NotFound(f"no user named {name!r}")
    return page(request, "admin/user.html", status=status, visitor=who, person=person, roles=ROLES, **context)


def _user_url(name: str) -> str:
    return "/admin/users/" + quote(name, safe="")


def _change(request: Request, who: Visitor, v: Vault, name: str, action, done: str):
    """Run one change on user `name`, then show their page with `done`; refused input re-renders it with why."""
    try:
        action()
    except NothingToChange:
        return redirect(_user_url(name), flash=translate(request, "Nothing was changed."))
    except InvalidInput as exc:
        return _user_page(request, who, v, name, status=422, error=exc.message)
    return redirect(_user_url(name), flash=done)


@router.post("/admin/users/{name}/role")
def change_role(request: Request, name: str, role: str = Form(""), own_customers_only: bool = Form(False),
                who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    return _change(request, who, v, name, lambda: users.set_role(
        vault=v, actor=who.actor, name=name, role=role, own_customers_only=own_customers_only),
        translate(request, "The role of %(name)s was saved.", name=name))


@router.post("/admin/users/{name}/disable")
def disable_user(request: Request, name: str, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    return _change(request, who, v, name, lambda: users.set_role(vault=v, actor=who.actor, name=name, disabled=True),
                   translate(request, "%(name)s is disabled and signed out everywhere.", name=name))


@router.post("/admin/users/{name}/enable")
def enable_user(request: Request, name: str, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    return _change(request, who, v, name, lambda: users.set_role(vault=v, actor=who.actor, name=name, disabled=False),
                   translate(request, "%(name)s may sign in again.", name=name))


@router.post("/admin/users/{name}/password")
def set_password(request: Request, name: str, password: str = Form(""), who: Visitor = Depends(form_visitor),
                 v: Vault = Depends(vault)):
    if name == who.name:  # one's own password needs the current one (and a wrong one counts towards lock-out)
        return _user_page(request, who, v, name, status=422,
                          error=translate(request, "Change your own password on your account page."))
    return _change(request, who, v, name, lambda: auth.set_password(
        vault=v, actor=who.actor, name=name, new_password=password),
        translate(request, "A new password was set for %(name)s; their sessions ended.", name=name))


@router.post("/admin/users/{name}/unlock")
def unlock(request: Request, name: str, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    return _change(request, who, v, name, lambda: auth.unlock_user(vault=v, actor=who.actor, name=name),
                   translate(request, "%(name)s is unlocked.", name=name))


@router.post("/admin/users/{name}/second-factor/reset")
def reset_second_factor(request: Request, name: str, who: Visitor = Depends(form_visitor),
                        v: Vault = Depends(vault)):
    return _change(request, who, v, name, lambda: second_factor.reset_second_factor(
        vault=v, actor=who.actor, name=name), translate(request, "Two-step sign-in of %(name)s was reset.", name=name))


@router.post("/admin/users/{name}/sign-out")
def sign_out_user(request: Request, name: str, who: Visitor = Depends(form_visitor), v: Vault = Depends(vault)):
    return _change(request, who, v, name, lambda: auth.sign_out_everywhere(
        vault=v, actor=who.actor, name=name, keep_session=who.session.id),
        translate(request, "%(name)s was signed out everywhere.", name=name))
