"""Shared fixtures: real vaults on SQLite and on PostgreSQL (a database made and dropped per test)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from clientfolio import bootstrap
from clientfolio.services import users

PG_ADMIN_URL = os.environ.get("CLIENTFOLIO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_SERVICES = os.environ.get("CLIENTFOLIO_REQUIRE_SERVICES") == "1"


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


def postgres_available() -> str | None:
    """None if reachable, else the reason."""
    try:
        with _pg_admin():
            return None
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"


def skip_or_fail(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"CLIENTFOLIO_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    reason = postgres_available()
    if reason:
        skip_or_fail(reason)
    name = f"cf_test_{uuid.uuid4().hex[:12]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    yield f"{base}/{name}"
    bootstrap.dispose_engines()
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def vault_home(tmp_path, backend, request, monkeypatch) -> Path:
    """An initialized, empty vault (admin user `admin`) on the parametrized backend."""
    monkeypatch.delenv("CLIENTFOLIO_MASTER_KEY", raising=False)
    monkeypatch.delenv("CLIENTFOLIO_DATABASE_URL", raising=False)
    home = tmp_path / "home"
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    bootstrap.init_vault(home, admin="admin", database_url=url)
    yield home
    bootstrap.dispose_engines()


@pytest.fixture
def vault(vault_home):
    return bootstrap.open_vault(vault_home)


ROLE_USERS = {"viewer": "vera", "clerk": "clara", "manager": "max", "auditor": "audrey", "admin": "admin"}


@pytest.fixture
def staffed(vault):
    """The vault with one user per role, plus `olga`, a clerk limited to her own customers."""
    for role, name in ROLE_USERS.items():
        if role != "admin":
            users.add_user(vault=vault, actor="admin", name=name, role=role)
    users.add_user(vault=vault, actor="admin", name="olga", role="clerk", own_customers_only=True)
    return vault
