"""The Typer application, its global options, and how errors become one line and an exit code."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from clientfolio import bootstrap
from clientfolio.domain.errors import ClientfolioError
from clientfolio.services.context import Vault
from clientfolio.services.vault import default_actor

EXIT_CODES = {"invalid-input": 2, "too-large": 2, "no-preview": 2, "not-found": 3, "permission-denied": 4, "integrity-failed": 5,
              "blob-missing": 5, "duplicate": 6, "conflict": 7, "wrong-key": 8, "not-initialized": 8,
              "not-authenticated": 4, "rate-limited": 9}

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="Clientfolio: the customer-records vault. 客户档案库。")
console = Console(soft_wrap=True)  # long paths and names stay on one line, whatever the terminal width
errors = Console(stderr=True, soft_wrap=True)


@dataclass
class State:
    home: Path = field(default_factory=bootstrap.default_home)
    user: str | None = None
    json: bool = False
    _vault: Vault | None = None

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            self._vault = bootstrap.open_vault(self.home)
        return self._vault

    @property
    def actor(self) -> str:
        return self.user or default_actor(self.vault)


state = State()


@app.callback()
def main(
    home: Path = typer.Option(None, "--home", envvar="CLIENTFOLIO_HOME",
                              help="The vault's data home (default ./clientfolio-data)."),
    user: str = typer.Option(None, "--user", help="Act as this user (default: the admin made by init)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    state.home = home or bootstrap.default_home()
    state.user = user
    state.json = as_json
    state._vault = None


def emit(data, *, table: Table | None = None, text: str | None = None) -> None:
    """JSON on --json; otherwise a Rich table or a line of text."""
    if state.json:
        sys.stdout.write(json.dumps(_plain(data), ensure_ascii=False, indent=2) + "\n")
    elif table is not None:
        console.print(table)
    elif text is not None:
        console.print(text, markup=False, highlight=False)


def _plain(data):
    if hasattr(data, "to_dict"):
        return data.to_dict()
    if isinstance(data, list):
        return [_plain(d) for d in data]
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    return data


def _hoist_json(args: list[str]) -> list[str]:
    """`--json` is global, but people type it last (`doc list --json`): accept it anywhere before `--`."""
    end = args.index("--") if "--" in args else len(args)
    if "--json" not in args[:end]:
        return args
    return ["--json"] + [a for i, a in enumerate(args) if not (a == "--json" and i < end)]


def run() -> None:
    """Console-script entry: known errors print one line on stderr, never a traceback."""
    try:
        result = app(args=_hoist_json(sys.argv[1:]), standalone_mode=False)  # returns a typer.Exit's code
        if isinstance(result, int) and result:
            sys.exit(result)
    except ClientfolioError as exc:
        errors.print(f"error: {exc.message}", markup=False, highlight=False)
        sys.exit(EXIT_CODES.get(exc.code, 1))
    except OSError as exc:  # the user's own files: a missing folder, no permission, a full disk
        errors.print(f"error: {exc.strerror or type(exc).__name__}: {exc.filename or ''}", markup=False, highlight=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        errors.print("aborted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and anything unforeseen: one line, no traceback
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # a usage error (Typer vendors its own click, so match by shape)
            sys.exit(exc.exit_code)
        if os.environ.get("CLIENTFOLIO_DEBUG"):
            raise
        errors.print(f"error: unexpected failure ({type(exc).__name__}); set CLIENTFOLIO_DEBUG=1 for details",
                     markup=False)
        sys.exit(1)
    finally:
        bootstrap.dispose_engines()
