"""Engines for SQLite (WAL, serialized writers) and PostgreSQL, and schema migration."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"


# The HTTP server runs up to 40 requests at once in threads (AnyIO's default): each may hold a connection.
# SQLite connections cost nothing, so there is one for each; PostgreSQL's are server processes, so fewer,
# and a request waits for one (the server's max_connections is shared by every worker process).
SQLITE_POOL = {"pool_size": 20, "max_overflow": 30}
POSTGRES_POOL = {"pool_size": 10, "max_overflow": 20, "pool_timeout": 60}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60}, **SQLITE_POOL)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **POSTGRES_POOL)


READ_ONLY = "clientfolio_read_only"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" hook issue BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Every unit of work may append to the audit chain: take the write lock up front so two
        # writers never read the same chain head (and never deadlock upgrading a read lock).
        # A read-only one (it cannot append) reads a WAL snapshot and blocks nobody.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str):
    from alembic.config import Config  # Alembic loads only when a schema changes: a CLI call starts faster

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration. Revisions are named by their number ("0003") and so are their files, which
    lets a vault be checked without loading Alembic (a test holds Alembic's own answer to the same)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration (a vault made by an older release is not)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration."""
    from alembic import command

    url = engine.url.render_as_string(hide_password=False)
    cfg = alembic_config(url)
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return
    # SQLite alters a table by copying it; foreign keys must be off for that, and the pragma only takes
    # effect outside a transaction, so migrations get their own plain connection.
    migrator = create_engine(url, poolclass=NullPool)
    event.listen(migrator, "connect", lambda conn, _rec: conn.execute("PRAGMA foreign_keys=OFF"))
    try:
        with migrator.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left {len(broken)} rows with broken references")
    finally:
        migrator.dispose()
