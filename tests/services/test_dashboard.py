"""The dashboard on SQLite and PostgreSQL: expiry buckets, reviews due, the inbox count and recent activity,
each limited to what the user may see, counts included."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from clientfolio.domain.errors import PermissionDenied
from clientfolio.services import customers, dashboard, documents, users
from clientfolio.services.context import vault_today

AHEAD = 400  # the dashboard's day, this many days after today: key customers' first review (1 year) is due


@pytest.fixture
def world(staffed):
    v = staffed
    today = vault_today(v) + timedelta(days=AHEAD)
    theirs = customers.add_customer(vault=v, actor="admin", name="到期客户", kind="person", tier="key")
    mine = customers.add_customer(vault=v, actor="admin", name="Olga's client", kind="person", tier="standard",
                                  owner="olga")

    def doc(customer, days, *, category="contract", subtype=None, title=None):
        return documents.add_document(
            vault=v, actor="admin", customer_code=customer.code, content=[f"{customer.code} {days} {title}".encode()],
            original_name="x.txt", category=category, subtype=subtype, title=title or f"expires {days}",
            expires_on=today + timedelta(days=days)).id

    ids = {"d10": doc(theirs, 10), "s10": doc(theirs, 10, category="id_document", subtype="passport", title="护照"),
           "d45": doc(theirs, 45), "d80": doc(theirs, 80), "d-5": doc(theirs, -5), "d120": doc(theirs, 120),
           "gone": doc(theirs, 10, title="deleted"), "m20": doc(mine, 20)}
    documents.delete_document(vault=v, actor="admin", document_id=ids["gone"])
    return dict(v=v, today=today, theirs=theirs.code, mine=mine.code, ids=ids)


def buckets(view) -> dict[str, tuple[list[int], int]]:
    return {name: ([d.id for d in getattr(view, name).items], getattr(view, name).total)
            for name in ("expiring_30", "expiring_60", "expiring_90", "expired")}


def test_documents_fall_into_expiry_buckets(world):
    w, ids = world, world["ids"]
    view = dashboard.dashboard(vault=w["v"], actor="admin", today=w["today"])
    assert buckets(view) == {"expiring_30": ([ids["d10"], ids["s10"], ids["m20"]], 3),
                             "expiring_60": ([ids["d45"]], 1), "expiring_90": ([ids["d80"]], 1),
                             "expired": ([ids["d-5"]], 1)}
    row = view.expiring_30.items[1]
    assert (row.title, row.category, row.subtype, row.expires_on, row.customer, row.customer_name) == (
        "护照", "id_document", "passport", w["today"] + timedelta(days=10), w["theirs"], "到期客户")
    assert view.today == w["today"] and view.inbox_waiting == 0


def test_a_viewer_never_learns_of_a_sensitive_document(world):
    w, ids = world, world["ids"]
    view = dashboard.dashboard(vault=w["v"], actor="vera", today=w["today"])
    assert buckets(view)["expiring_30"] == ([ids["d10"], ids["m20"]], 2)  # the count leaves it out too
    assert str(ids["s10"]) not in {a.object_id for a in view.activity}
    assert "护照" not in repr(view)
    assert view.inbox_waiting is None  # viewers have no inbox
    admin = dashboard.dashboard(vault=w["v"], actor="admin", today=w["today"])
    assert str(ids["s10"]) in {a.object_id for a in admin.activity}


def test_an_own_customers_clerk_sees_only_her_customers(world):
    w, ids = world, world["ids"]
    view = dashboard.dashboard(vault=w["v"], actor="olga", today=w["today"])
    assert buckets(view) == {"expiring_30": ([ids["m20"]], 1), "expiring_60": ([], 0), "expiring_90": ([], 0),
                             "expired": ([], 0)}
    assert view.activity and {a.customer for a in view.activity} == {w["mine"]}
    assert (view.reviews_due.items, view.reviews_due.total) == ([], 0)  # a standard customer: due in 2 years
    assert view.inbox_waiting is None  # inbox items have no customer yet: not for own-customers users
    assert dashboard.dashboard(vault=w["v"], actor="clara", today=w["today"]).inbox_waiting == 0


def test_reviews_due_and_recent_activity(world):
    w = world
    view = dashboard.dashboard(vault=w["v"], actor="vera", today=w["today"])
    assert [(r.code, r.tier, r.owner) for r in view.reviews_due.items] == [(w["theirs"], "key", "admin")]
    assert view.reviews_due.total == 1
    later = dashboard.dashboard(vault=w["v"], actor="vera", today=w["today"] + timedelta(days=2 * 365))
    assert [r.code for r in later.reviews_due.items] == [w["theirs"], w["mine"]]  # soonest due first
    activity = dashboard.dashboard(vault=w["v"], actor="admin", today=w["today"]).activity
    assert [a.action for a in activity] == ["document.delete"] + ["document.create"] * 8 + ["customer.create"] * 2
    assert [a.seq for a in activity] == sorted((a.seq for a in activity), reverse=True)
    assert all(a.details == {} for a in activity)
    assert all(a.customer for a in activity)  # events about users, sign-ins or the vault are not shown


def test_a_disabled_user_gets_no_dashboard(world):
    users.set_role(vault=world["v"], actor="admin", name="vera", disabled=True)
    with pytest.raises(PermissionDenied):
        dashboard.dashboard(vault=world["v"], actor="vera")


def test_today_defaults_to_the_vault_time_zone(world):
    assert dashboard.dashboard(vault=world["v"], actor="admin").today == vault_today(world["v"])
    assert isinstance(vault_today(world["v"]), date)


def test_lists_hold_twenty_rows_and_counts_count_everything(staffed):
    v = staffed
    today = vault_today(v)
    code = customers.add_customer(vault=v, actor="admin", name="多", kind="person", tier="key").code
    for n in range(25):
        documents.add_document(vault=v, actor="admin", customer_code=code, content=[f"licence {n}".encode()],
                               original_name="l.txt", category="contract", expires_on=today + timedelta(days=n))
    soon = dashboard.dashboard(vault=v, actor="vera", today=today).expiring_30
    assert (len(soon.items), soon.total) == (20, 25)
    assert [d.expires_on for d in soon.items] == [today + timedelta(days=n) for n in range(20)]
