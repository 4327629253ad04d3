"""`audit verify` over a large trail (default 1,000,000 events), against an in-memory hashing floor.

Building the trail is not what is measured: events are chained here with the vault's real audit key
(the same `clientfolio.domain.audit` functions the vault uses) and inserted straight into the fresh
vault's `audit_events` table with SQLAlchemy Core executemany. Then `services.audit.audit_verify` is
timed exactly as the CLI runs it (authorize, stream every row in seq order, recompute the keyed chain,
compare with the anchor, record an `audit.verify` event).

Two references are measured in the same run, over the same events, with no database:
  * floor: plain hashlib.sha256 chained over the canonical bytes in a Python loop (what the brief asks
    for: the cheapest possible walk of the same bytes);
  * in-memory verify_chain: the domain's own verifier (canonical JSON + HMAC-SHA256 per event) over rows
    held in memory, which separates the database/driver cost from the hashing/canonicalisation cost.
"""

from __future__ import annotations

import gc
import hashlib
import random
import re
import tempfile
import time
import uuid
from collections import namedtuple
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

from clientfolio import bootstrap
from clientfolio.adapters import database, orm
from clientfolio.domain.audit import GENESIS, canonical_event, canonical_json, chain_hash, verify_chain
from clientfolio.services import audit as audit_service

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

Row = namedtuple("Row", "seq at actor action object_type object_id customer_code outcome details prev_hash hash")
_FIELDS_OF_ROW = Row._fields

_ACTORS = ["admin", "wang.am", "li.manager", "zhao.am", "frontdesk", "sun.clerk", "chen.auditor", "system"]
_CATEGORIES = [("id_document", "resident_id", "sensitive"), ("id_document", "passport", "sensitive"),
               ("contract", "formal", "normal"), ("contract", "renewal", "normal"),
               ("finance", "invoice", "normal"), ("finance", "statement", "normal"),
               ("signed_form", None, "normal"), ("communication", None, "normal")]
_MEDIA = ["application/pdf", "image/jpeg", "image/png", "text/plain",
          "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]
_FIELDS = ["title", "tags", "category", "expires_on", "paper_location", "issued_on"]
_CUSTOMER_FIELDS = ["name", "tier", "phone", "email", "owner"]


def _event(rng: random.Random, seq: int) -> tuple:
    """(actor, action, object_type, object_id, customer_code, outcome, details) with a realistic mix."""
    actor = rng.choice(_ACTORS)
    code = f"C{rng.randint(1, 20000):06d}"
    doc = str(rng.randint(1, 400000))
    r = rng.random()
    if r < 0.40:
        return actor, "document.read", "document", doc, code, "ok", {"version": rng.randint(1, 3)}
    if r < 0.58:
        category, subtype, sensitivity = rng.choice(_CATEGORIES)
        return actor, "document.create", "document", doc, code, "ok", {
            "category": category, "subtype": subtype, "version": 1, "sha256": "%064x" % rng.getrandbits(256),
            "size": rng.randint(20_000, 5_000_000), "media_type": rng.choice(_MEDIA),
            "sensitivity": sensitivity, "duplicate_allowed": False}
    if r < 0.66:
        return actor, "version.add", "document", doc, code, "ok", {
            "version": rng.randint(2, 6), "sha256": "%064x" % rng.getrandbits(256),
            "size": rng.randint(20_000, 5_000_000), "media_type": rng.choice(_MEDIA)}
    if r < 0.74:
        return actor, "document.edit", "document", doc, code, "ok", {"fields": sorted(rng.sample(_FIELDS, 2))}
    if r < 0.80:
        return "system", "version.text", "document", doc, code, "ok", {
            "version": 1, "status": "done", "pages": rng.randint(1, 12), "confidence": round(rng.random(), 3)}
    if r < 0.86:
        return actor, "identifier.unmask", "customer", code, code, "ok", {"kinds": ["resident_id"]}
    if r < 0.90:
        return actor, "customer.edit", "customer", code, code, "ok", {"fields": sorted(rng.sample(_CUSTOMER_FIELDS, 2))}
    if r < 0.93:
        return actor, "customer.create", "customer", code, code, "ok", {"fields": ["email", "identifiers", "phone"]}
    if r < 0.96:
        return actor, "customer.lookup", "identifier", "resident_id", None, "ok", {"kind": "resident_id", "matches": 1}
    if r < 0.985:
        return actor, "document.read", "document", doc, code, "denied", {
            "reason": "a clerk may file a sensitive document but not read it back"}
    return "chen.auditor", "audit.read", "audit", "*", None, "ok", {"filters": ["customer"]}


def build_rows(key: bytes, first_seq: int, prev: str, count: int, start: datetime, seed: int = 7):
    """Yield `count` chained Rows after (first_seq - 1, prev), plus each one's canonical bytes."""
    rng = random.Random(seed)
    at = start
    for seq in range(first_seq, first_seq + count):
        at += timedelta(microseconds=rng.randint(200_000, 9_000_000))
        actor, action, object_type, object_id, code, outcome, details = _event(rng, seq)
        row = Row(seq, at, actor, action, object_type, object_id, code, outcome, canonical_json(details), prev, "")
        canonical = canonical_event(row)  # the domain's own canonical form: the bench follows any change
        prev = chain_hash(key, prev, canonical)
        yield row._replace(hash=prev), canonical


def fill_trail(engine, key: bytes, count: int, batch: int = 20_000) -> tuple[list, list, float]:
    """Append `count` events after the vault's current head; returns rows, canonical bytes, seconds."""
    t = orm.audit_events
    with engine.connect() as conn:
        head = conn.execute(select(t.c.seq, t.c.hash, t.c.at).order_by(t.c.seq.desc()).limit(1)).first()
    seq0, prev = (head.seq, head.hash) if head else (0, GENESIS)
    start = datetime.now(timezone.utc) - timedelta(days=3 * 365)  # three years of history, UTC
    if head is not None and head.at.replace(tzinfo=timezone.utc) < start:
        start = head.at.replace(tzinfo=timezone.utc)
    rows, canon = [], []
    began = time.perf_counter()
    gc.disable()  # millions of small tuples: the collector would only slow the builder down
    try:
        pending = []
        for row, canonical in build_rows(key, seq0 + 1, prev, count, start):
            rows.append(row)
            canon.append(canonical)
            pending.append(row)
            if len(pending) >= batch:
                _insert(engine, t, pending)
                pending = []
        if pending:
            _insert(engine, t, pending)
    finally:
        gc.enable()
    return rows, canon, time.perf_counter() - began


def _insert(engine, table, rows: list[Row]) -> None:
    if engine.dialect.name == "postgresql":
        # Builder speed only: COPY is ~10x faster than executemany on PostgreSQL; the rows are the same.
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(Row._fields)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:  # SQLite: SQLAlchemy Core executemany, one transaction per batch
        conn.execute(insert(table), [dict(zip(_FIELDS_OF_ROW, row)) for row in rows])


def sha256_floor(canon: list[bytes]) -> float:
    """Seconds for a plain SHA-256 chain over the same canonical bytes (no key, no DB, no JSON)."""
    sha = hashlib.sha256
    began = time.perf_counter()
    prev = GENESIS
    for canonical in canon:
        prev = sha(prev.encode() + canonical).hexdigest()
    return time.perf_counter() - began


def in_memory_verify(key: bytes, rows: list, prefix: list) -> tuple[float, bool, int]:
    """Seconds for the domain's verify_chain over rows in memory (canonical JSON + HMAC, no DB)."""
    began = time.perf_counter()
    report = verify_chain(key, _chain(prefix, rows))
    return time.perf_counter() - began, report.ok, report.events


def _chain(prefix, rows):
    yield from prefix
    yield from rows


def _existing(engine) -> list:
    """The events init wrote (a handful), as light rows, so the in-memory walk starts at genesis."""
    with engine.connect() as conn:
        return list(conn.execute(select(orm.audit_events).order_by(orm.audit_events.c.seq)))


def _measure(vault, engine, events: int, label: str, log) -> dict:
    key = vault.audit_key
    prefix = _existing(engine)
    log(f"  [{label}] building {events:,} chained events (not timed as the result) ...")
    rows, canon, build_s = fill_trail(engine, key, events)
    log(f"  [{label}] built in {build_s:.1f} s ({events / build_s:,.0f} events/s); verifying ...")
    gc.collect()
    gc.freeze()  # the reference rows held for the baselines must not tax the collector during the timing
    try:
        began = time.perf_counter()
        report = audit_service.audit_verify(vault=vault, actor="admin")
        verify_s = time.perf_counter() - began
        floor_s = sha256_floor(canon)
        memory_s, memory_ok, memory_events = in_memory_verify(key, rows, prefix)
    finally:
        gc.unfreeze()
    total = report.events
    return {
        "backend": label, "events_inserted": events, "events_verified": total, "ok": report.ok,
        "first_broken_seq": report.first_broken_seq, "reason": report.reason,
        "build_seconds": round(build_s, 2),
        "verify_seconds": round(verify_s, 3), "verify_events_per_s": round(total / verify_s),
        "floor_sha256_seconds": round(floor_s, 3), "floor_sha256_events_per_s": round(len(canon) / floor_s),
        "ratio_vs_sha256_floor": round((total / verify_s) / (len(canon) / floor_s), 4),
        "in_memory_verify_seconds": round(memory_s, 3), "in_memory_verify_ok": memory_ok,
        "in_memory_verify_events_per_s": round(memory_events / memory_s),
        "ratio_vs_in_memory_verify": round((total / verify_s) / (memory_events / memory_s), 4),
        "db_share_of_verify": round(max(0.0, 1 - memory_s / verify_s), 4),
    }


def run_sqlite(events: int, base_dir: Path | None, log=print) -> dict:
    with tempfile.TemporaryDirectory(prefix="cf-bench-audit-", dir=base_dir) as tmp:
        home = Path(tmp) / "home"
        vault = bootstrap.init_vault(home)
        engine = database.make_engine(f"sqlite:///{home / 'clientfolio.db'}")
        try:
            return _measure(vault, engine, events, "sqlite", log)
        finally:
            engine.dispose()
            bootstrap.dispose_engines()


def run_postgres(events: int, base_dir: Path | None, admin_url: str = PG_ADMIN_URL, log=print) -> dict:
    """Same measurement on a throw-away PostgreSQL database; {"skipped": reason} if the server is absent."""
    try:
        import psycopg
    except ImportError as exc:
        return {"backend": "postgresql", "skipped": f"psycopg not installed ({exc})"}
    name = f"cf_bench_{uuid.uuid4().hex[:10]}"
    shown = re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", admin_url)  # never print a password
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except Exception as exc:  # not reachable, no such role, refused: say so and move on
        return {"backend": "postgresql", "skipped": f"cannot connect to {shown}: {_first_line(exc)}"}
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        admin.close()
        return {"backend": "postgresql", "skipped": f"cannot create a database on {shown}: {_first_line(exc)}"}
    try:
        url = _database_url(admin_url, name)
        with tempfile.TemporaryDirectory(prefix="cf-bench-audit-pg-", dir=base_dir) as tmp:
            home = Path(tmp) / "home"
            vault = bootstrap.init_vault(home, database_url=url)
            engine = database.make_engine(url)
            try:
                result = _measure(vault, engine, events, "postgresql", log)
                result["database"] = name
                return result
            finally:
                engine.dispose()
                bootstrap.dispose_engines()
    finally:
        try:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            admin.close()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _database_url(admin_url: str, name: str) -> str:
    """postgresql://user@host:port/postgres -> postgresql+psycopg://user@host:port/<name>."""
    base = admin_url.rsplit("/", 1)[0]
    if base.startswith("postgresql://"):
        base = "postgresql+psycopg://" + base[len("postgresql://"):]
    return f"{base}/{name}"
