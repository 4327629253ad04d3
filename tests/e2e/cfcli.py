"""End-to-end helpers: the real `clientfolio` command run as a subprocess against a vault in tmp_path.

Nothing is mocked. Each call starts a fresh interpreter (about 1-2 s here), so tests batch their checks and
run independent read-only calls in parallel (`Cli.many`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

_BIN = Path(sys.executable).parent
_SCRIPT = shutil.which("clientfolio", path=str(_BIN))
CLI_CMD = [_SCRIPT] if _SCRIPT else [sys.executable, "-m", "clientfolio.entrypoints.cli.main"]

# A valid resident ID number (checksum and birth date correct): it must never be printed unless revealed.
RESIDENT_ID = "11010519491231002X"
PHONE = "13800138000"
EMAIL = "a@b.cn"

BLOB_NAME = re.compile(r"[0-9a-f]{32}")


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment minus anything that would steer the CLI (CLIENTFOLIO_*, terminal width)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLIENTFOLIO_") and k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env["PYTHONUTF8"] = "1"
    env["NO_COLOR"] = "1"
    env.update(extra)
    return env


@dataclass
class Result:
    args: list[str]
    rc: int
    out: str
    err: str

    @property
    def json(self):
        try:
            return json.loads(self.out)
        except json.JSONDecodeError as exc:  # pragma: no cover - a failure message worth reading
            raise AssertionError(f"not JSON ({exc}) from {self.args}:\n{self.out}\n--- stderr ---\n{self.err}")

    @property
    def err_flat(self) -> str:
        """stderr with line breaks folded (Rich wraps long lines; see test_error_is_one_line_for_long_paths)."""
        return " ".join(self.err.split())

    def __repr__(self) -> str:
        return f"Result(args={self.args!r}, rc={self.rc}, out={self.out[-2000:]!r}, err={self.err[-2000:]!r})"


def run_cli(*args, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path | None = None,
            input: str | None = None) -> Result:
    argv = [str(a) for a in args]
    proc = subprocess.run(CLI_CMD + argv, capture_output=True, text=True, encoding="utf-8", errors="replace",
                          env=env if env is not None else clean_env(), timeout=timeout, cwd=cwd,
                          input=input)
    return Result(argv, proc.returncode, proc.stdout, proc.stderr)


def call(*args, **kw) -> tuple[tuple, dict]:
    """One entry for `Cli.many`."""
    return args, kw


class Cli:
    """The CLI bound to one data home; remembers every result (tests scan them for leaked secrets)."""

    def __init__(self, home: Path, env: dict[str, str] | None = None):
        self.home = Path(home)
        self.env = env if env is not None else clean_env()
        self.history: list[Result] = []

    def __call__(self, *args, user: str | None = None, rc: int | None = 0, env: dict[str, str] | None = None,
                 cwd: Path | None = None, input: str | None = None) -> Result:
        pre = ["--home", self.home] + (["--user", user] if user else [])
        result = run_cli(*pre, *args, env=env if env is not None else self.env, cwd=cwd, input=input)
        self.history.append(result)
        if rc is not None:
            assert result.rc == rc, f"expected exit {rc}, got {result!r}"
        assert "Traceback" not in result.err, result
        return result

    def json(self, *args, **kw):
        return self(*args, "--json", **kw).json

    def many(self, *calls: tuple[tuple, dict]) -> list[Result]:
        """Run independent calls in parallel (each made with `call(...)`); results in the same order."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(self, *args, **kw) for args, kw in calls]
            return [f.result() for f in futures]


def assert_error(result: Result, rc: int, *fragments: str, usage: bool = False) -> None:
    """A failed command: the expected exit code, one `error:` message (or click's usage text), no traceback,
    nothing on stdout. Fragments are matched case-insensitively against stderr with line wraps folded."""
    assert result.rc == rc, result
    assert "Traceback" not in result.err and "Traceback" not in result.out, result
    assert result.out.strip() == "", result
    flat = result.err_flat
    if usage:
        assert flat.startswith("Usage:"), result
    else:
        assert flat.startswith("error:") and flat.count("error:") == 1, result
    for fragment in fragments:
        assert fragment.lower() in flat.lower(), f"{fragment!r} not in stderr: {result!r}"


def assert_one_line(result: Result) -> None:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error, got {len(lines)} lines: {result.err!r}"


def blob_files(home: Path) -> set[str]:
    root = home / "blobs"
    return {p.name for p in root.glob("??/??/*") if p.is_file() and BLOB_NAME.fullmatch(p.name)}


def temp_files(home: Path) -> list[Path]:
    tmp = home / "blobs" / ".tmp"
    return sorted(p for p in tmp.iterdir()) if tmp.is_dir() else []


def blob_path(home: Path, blob_id: str) -> Path:
    return home / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id


def pdf_bytes(tag: str, size: int = 4000) -> bytes:
    """A small file that sniffs as PDF, unique per tag."""
    body = (f"%PDF-1.4\n% {tag}\n").encode() + os.urandom(size)
    return body + b"\n%%EOF\n"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def new_key_text() -> str:
    """A fresh master key in the form the CLI accepts (base64url, no padding)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def key_text(home: Path) -> str:
    return (Path(home) / "master.key").read_text().strip()


def assert_no_secret(results: list[Result], *secrets: str) -> None:
    for r in results:
        for secret in secrets:
            assert secret not in r.out and secret not in r.err, f"secret leaked by {r.args}: {r!r}"
