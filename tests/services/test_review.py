"""Periodic customer review (KYC) on SQLite and PostgreSQL: the due date set at creation, moved by a review,
never postponed by a tier change, back-filled by migration 0008; the list filters; the CLI and API."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from clientfolio import bootstrap
from clientfolio.domain.errors import InvalidInput, PermissionDenied
from clientfolio.domain.model import next_review
from clientfolio.services import audit, customers, tokens
from clientfolio.services.context import vault_today


def add(vault, tier="standard", owner=None, name="复核客户"):
    return customers.add_customer(vault=vault, actor="admin", name=name, kind="person", tier=tier, owner=owner)


def test_the_interval_is_one_two_or_three_years_by_tier():
    assert next_review("key", date(2025, 3, 31)) == date(2026, 3, 31)
    assert next_review("standard", date(2025, 3, 31)) == date(2027, 3, 31)
    assert next_review("prospect", date(2025, 3, 31)) == date(2028, 3, 31)
    assert next_review("key", date(2024, 2, 29)) == date(2025, 2, 28)


def test_a_new_customer_is_due_one_interval_after_today(staffed):
    today = vault_today(staffed)
    for tier in ("key", "standard", "prospect"):
        made = add(staffed, tier)
        assert made.review_due == next_review(tier, today)
        assert customers.show_customer(vault=staffed, actor="vera", code=made.code).review_due == made.review_due
        assert made.to_dict()["review_due"] == made.review_due.isoformat()


def test_a_review_moves_the_date_and_is_recorded(staffed):
    made = add(staffed, "key")
    reviewed = customers.review_customer(vault=staffed, actor="clara", code=made.code.lower(),
                                         today=date(2031, 6, 15))
    assert reviewed.review_due == date(2032, 6, 15)
    [event] = audit.audit_log(vault=staffed, actor="admin", action="customer.reviewed")
    assert (event.actor, event.object_id, event.customer) == ("clara", made.code, made.code)
    assert event.details == {"review_due": "2032-06-15", "was_due": made.review_due.isoformat()}


def test_who_may_review(staffed):
    theirs, mine = add(staffed, owner="admin"), add(staffed, owner="olga")
    for actor, code in (("vera", theirs.code), ("audrey", theirs.code), ("olga", theirs.code)):
        with pytest.raises(PermissionDenied):
            customers.review_customer(vault=staffed, actor=actor, code=code)
    assert customers.review_customer(vault=staffed, actor="olga", code=mine.code).code == mine.code
    customers.merge_customers(vault=staffed, actor="admin", source_code=theirs.code, into_code=mine.code)
    with pytest.raises(InvalidInput, match="merged into"):
        customers.review_customer(vault=staffed, actor="admin", code=theirs.code)


def test_a_tier_change_never_postpones_a_review(staffed):
    made = add(staffed, "prospect")
    today = vault_today(staffed)
    sooner = customers.edit_customer(vault=staffed, actor="admin", code=made.code, tier="key")
    assert sooner.review_due == next_review("key", today)
    assert customers.edit_customer(vault=staffed, actor="admin", code=made.code,
                                   tier="prospect").review_due == sooner.review_due


def test_lists_filter_by_review_due_and_status(staffed):
    key, standard = add(staffed, "key", name="A"), add(staffed, "standard", name="B")
    gone = add(staffed, "key", name="C")
    customers.merge_customers(vault=staffed, actor="admin", source_code=gone.code, into_code=key.code)
    page = customers.list_customers(vault=staffed, actor="vera", review_due_before=key.review_due + timedelta(days=1))
    assert [c.code for c in page.items] == [key.code]
    page = customers.list_customers(vault=staffed, actor="vera", sort="review_due", status="active")
    assert [c.code for c in page.items] == [key.code, standard.code]
    assert [c.code for c in customers.list_customers(vault=staffed, actor="vera", status="merged").items] == [gone.code]
    with pytest.raises(InvalidInput):
        customers.list_customers(vault=staffed, actor="vera", status="deleted")


def test_migration_0008_back_fills_review_dates(vault_home):
    """Customers made before 0008: created (UTC day) + the tier's interval, 29 February falling on the 28th."""
    from alembic import command

    from clientfolio.adapters.database import alembic_config, make_engine
    from clientfolio.adapters.settings import read_settings

    vault = bootstrap.open_vault(vault_home)
    leap, old = add(vault, "key", name="leap"), add(vault, "prospect", name="old")
    bootstrap.dispose_engines()
    url = read_settings(vault_home).database_url
    command.downgrade(alembic_config(url), "0007")
    engine = make_engine(url)
    zone = "" if engine.dialect.name == "sqlite" else "+00"
    with engine.begin() as conn:
        for code, created in ((leap.code, "2024-02-29 23:30:00"), (old.code, "2019-07-01 08:00:00")):
            conn.execute(text("UPDATE customers SET created_at = :t WHERE code = :c"),
                         {"t": f"{created}.000000{zone}", "c": code})
    engine.dispose()
    vault = bootstrap.open_vault(vault_home)  # upgraded on open
    due = {c.code: c.review_due for c in customers.list_customers(vault=vault, actor="admin").items}
    assert due == {leap.code: date(2025, 2, 28), old.code: date(2022, 7, 1)}
    assert audit.audit_verify(vault=vault, actor="admin").ok


def test_review_from_the_cli_and_the_api(staffed, vault_home):
    from clientfolio.entrypoints.cli.main import app as cli
    from e2e.liveserver import live_server  # tests/ is on sys.path (rootdir conftest)

    made = add(staffed, "standard")
    result = CliRunner().invoke(cli, ["--home", str(vault_home), "--user", "clara", "--json", "customer", "review",
                                      made.code])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["review_due"] == next_review("standard", vault_today(staffed)).isoformat()
    with live_server(staffed) as base:
        for actor, status in (("max", 200), ("vera", 403)):
            token = tokens.create_token(vault=staffed, actor=actor, name="t").token
            answer = httpx.post(f"{base}/api/v1/customers/{made.code}/review",
                                headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert answer.status_code == status, answer.text
    assert answer.json()["type"] == "urn:clientfolio:problem:permission-denied"
    assert [e.actor for e in audit.audit_log(vault=staffed, actor="admin", action="customer.reviewed")] == [
        "max", "clara"]
