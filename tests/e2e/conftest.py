"""Fixtures for the end-to-end tests (helpers live in cfcli.py)."""

from __future__ import annotations

import pytest

from .cfcli import Cli


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path / "home")


@pytest.fixture
def vault_cli(cli) -> Cli:
    """An initialized vault (admin `admin`)."""
    cli("init")
    return cli
