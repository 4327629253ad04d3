"""`clientfolio user passwd|unlock|reset-2fa|sign-out` and `clientfolio token create|list|revoke`."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from clientfolio.domain.errors import InvalidInput
from clientfolio.entrypoints.cli.admin import user_app
from clientfolio.entrypoints.cli.app import emit, state
from clientfolio.services import auth, second_factor, tokens

token_app = typer.Typer(no_args_is_help=True, help="API tokens (shown once; stored as hashes). API 令牌。")


@user_app.command("passwd")
def user_passwd(name: str,
                password_stdin: bool = typer.Option(False, "--password-stdin",
                                                    help="Read the new password from the first line of standard "
                                                         "input (for your own: the current one from the second).")):
    """Set a user's password (your own needs the current one, if you have one). Prompts without echo."""
    own = name == state.actor
    if password_stdin:
        lines = sys.stdin.read().splitlines()
        new = lines[0] if lines else ""
        current = lines[1] if own and len(lines) > 1 else None
    else:
        current = typer.prompt("Current password (empty if none is set)", hide_input=True, default="",
                               show_default=False) if own else None
        new = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    if not new:
        raise InvalidInput("no password given")
    view = auth.set_password(vault=state.vault, actor=state.actor, name=name, new_password=new,
                             current_password=current or None)
    emit(view, text=f"password of {view.name} set; their sessions were signed out")


@user_app.command("unlock")
def user_unlock(name: str):
    """Lift a lock-out after too many failed sign-ins."""
    view = auth.unlock_user(vault=state.vault, actor=state.actor, name=name)
    emit(view, text=f"user {view.name} unlocked")


@user_app.command("reset-2fa")
def user_reset_2fa(name: str):
    """Turn off a user's two-step sign-in (a lost phone); they set it up again at their next sign-in."""
    view = second_factor.reset_second_factor(vault=state.vault, actor=state.actor, name=name)
    emit(view, text=f"two-step sign-in of {view.name} reset; their sessions were signed out")


@user_app.command("sign-out")
def user_sign_out(name: str):
    """End every session of a user."""
    ended = auth.sign_out_everywhere(vault=state.vault, actor=state.actor, name=name)
    emit({"user": name, "sessions_ended": ended}, text=f"{ended} session(s) of {name} ended")


@token_app.command("create")
def token_create(name: str,
                 scope: list[str] = typer.Option(None, "--scope",
                                                 help="An action the token may use (repeat, or comma-separated), "
                                                      "e.g. customer.read; default: all your role allows."),
                 expires_in_days: int = typer.Option(90, "--expires-in-days")):
    """Make an API token for yourself. The token is printed this once: store it now."""
    actions = [a.strip() for item in scope or [] for a in item.split(",") if a.strip()] or None
    made = tokens.create_token(vault=state.vault, actor=state.actor, name=name, scope=actions,
                               expires_in_days=expires_in_days)
    emit({"token": made.token, **made.view.to_dict()},
         text=f"{made.token}\n(token {made.view.id} {made.view.prefix}, expires {made.view.expires_at:%Y-%m-%d}; "
              "shown only this once)")


@token_app.command("list")
def token_list(user: str = typer.Option(None, "--of", help="Another user's tokens (needs user.read)."),
               include_revoked: bool = typer.Option(False, "--all", help="Revoked tokens too.")):
    found = tokens.list_tokens(vault=state.vault, actor=state.actor, user=user, include_revoked=include_revoked)
    table = Table("id", "prefix", "name", "scope", "expires", "last used", "revoked")
    for t in found:
        table.add_row(str(t.id), t.prefix, t.name, ", ".join(t.scope) if t.scope is not None else "(role)",
                      f"{t.expires_at:%Y-%m-%d}", f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
                      f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "")
    emit(found, table=table)


@token_app.command("revoke")
def token_revoke(token_id: int):
    view = tokens.revoke_token(vault=state.vault, actor=state.actor, token_id=token_id)
    emit(view, text=f"token {view.id} ({view.prefix}, {view.name}) revoked")
