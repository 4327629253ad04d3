"""A customer's timeline and a document's history for the pages, and the audit export (CSV, XLSX), on SQLite
and PostgreSQL: who may see which events, which details they keep, and spreadsheet safety."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from clientfolio.domain.errors import InvalidInput, PermissionDenied
from clientfolio.services import audit, customers, documents, history, users, versions


@pytest.fixture
def world(staffed):
    v = staffed
    theirs = customers.add_customer(vault=v, actor="admin", name="历史客户", kind="person", tier="key")
    mine = customers.add_customer(vault=v, actor="admin", name="Olga's", kind="person", tier="key", owner="olga")
    normal = documents.add_document(vault=v, actor="admin", customer_code=theirs.code, content=[b"notes v1"],
                                    original_name="n.txt", category="communication").id
    secret = documents.add_document(vault=v, actor="admin", customer_code=theirs.code, content=[b"id card"],
                                    original_name="id.txt", category="id_document", subtype="passport").id
    versions.add_version(vault=v, actor="admin", document_id=normal, content=[b"notes v2"])
    b"".join(versions.read_version(vault=v, actor="max", document_id=secret).chunks)
    documents.edit_document(vault=v, actor="admin", document_id=normal, title="renamed")
    return dict(v=v, theirs=theirs.code, mine=mine.code, normal=normal, secret=secret)


def test_a_customer_timeline_hides_sensitive_documents_from_a_viewer(world):
    w = world
    page = history.customer_timeline(vault=w["v"], actor="vera", code=w["theirs"])
    assert [(e.action, e.object_id) for e in page.items] == [
        ("document.edit", str(w["normal"])), ("version.add", str(w["normal"])),
        ("document.create", str(w["normal"])), ("customer.create", w["theirs"])]
    assert page.total == 4
    assert page.items[0].details == {"fields": ["title"]}
    assert page.items[1].details == {"version": 2}  # the digest, size and media type are left out
    full = history.customer_timeline(vault=w["v"], actor="audrey", code=w["theirs"])
    assert full.total == 6 and str(w["secret"]) in {e.object_id for e in full.items}
    one = history.customer_timeline(vault=w["v"], actor="audrey", code=w["theirs"], limit=1, offset=1)
    assert ([e.seq for e in one.items], one.total) == ([full.items[1].seq], 6)


def test_a_customer_timeline_follows_the_customer_rules(world):
    w = world
    with pytest.raises(PermissionDenied):
        history.customer_timeline(vault=w["v"], actor="olga", code=w["theirs"])
    assert [e.action for e in history.customer_timeline(vault=w["v"], actor="olga", code=w["mine"]).items] == [
        "customer.create"]
    with pytest.raises(InvalidInput):
        history.customer_timeline(vault=w["v"], actor="admin", code=w["mine"], limit=0)
    [denied] = audit.audit_log(vault=w["v"], actor="admin", user="olga")
    assert (denied.action, denied.outcome) == ("customer.read", "denied")


def test_a_document_history_needs_its_metadata_right(world):
    w = world
    events = history.document_history(vault=w["v"], actor="vera", document_id=w["normal"])
    assert [e.action for e in events] == ["document.edit", "version.add", "document.create"]
    secret = history.document_history(vault=w["v"], actor="audrey", document_id=w["secret"])
    assert [(e.action, e.actor, e.details) for e in secret] == [
        ("document.read", "max", {"version": 1}), ("document.create", "admin", {"version": 1})]
    for actor in ("vera", "clara"):
        with pytest.raises(PermissionDenied):
            history.document_history(vault=w["v"], actor=actor, document_id=w["secret"])
    with pytest.raises(PermissionDenied):
        history.document_history(vault=w["v"], actor="olga", document_id=w["normal"])


def _hostile_events(v):
    """Denials whose object id is what the refused user typed: a formula, and Chinese."""
    for name in ("=HYPERLINK(\"http://evil\")", "张伟", "@SUM(1)"):
        with pytest.raises(PermissionDenied):
            users.add_user(vault=v, actor="vera", name=name, role="viewer")


def test_the_audit_export_as_csv(world):
    v = world["v"]
    _hostile_events(v)
    data = audit.export_audit(vault=v, actor="audrey", fmt="csv")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the Chinese
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == audit.EXPORT_COLUMNS
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])  # oldest first
    by_id = {r[5]: r for r in rows[1:]}
    assert by_id["'=HYPERLINK(\"http://evil\")"][3] == "user.manage"
    assert "'@SUM(1)" in by_id and "张伟" in by_id
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)
    first = rows[1]
    assert first[1].endswith("Z") and first[1][10] == "T" and len(first[9]) == 64
    [export] = audit.audit_log(vault=v, actor="admin", action="audit.export")
    assert export.details == {"format": "csv", "filters": {}, "rows": len(rows) - 1}


def test_the_audit_export_as_xlsx_with_filters(world):
    v, code = world["v"], world["theirs"]
    _hostile_events(v)
    data = audit.export_audit(vault=v, actor="admin", fmt="xlsx", customer_code=code.lower())
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == audit.EXPORT_COLUMNS and len(rows) == 7 and {r[6] for r in rows[1:]} == {code}
    data = audit.export_audit(vault=v, actor="admin", fmt="xlsx", action="user.manage")
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True)]
    assert sorted(r[5] for r in rows[1:]) == ["'=HYPERLINK(\"http://evil\")", "'@SUM(1)", "张伟"]
    events = audit.audit_log(vault=v, actor="admin", action="audit.export")
    assert [e.details for e in events] == [{"format": "xlsx", "filters": {"action": "user.manage"}, "rows": 3},
                                          {"format": "xlsx", "filters": {"customer": code}, "rows": 6}]
    assert events[1].customer == code


def test_the_audit_export_is_for_auditors_and_bounded(world, monkeypatch):
    v = world["v"]
    for actor in ("vera", "max", "olga"):
        with pytest.raises(PermissionDenied):
            audit.export_audit(vault=v, actor=actor, fmt="csv")
    with pytest.raises(InvalidInput, match="unknown format"):
        audit.export_audit(vault=v, actor="admin", fmt="pdf")
    monkeypatch.setattr(audit, "EXPORT_LIMIT", 3)
    with pytest.raises(InvalidInput, match="narrow the filters"):
        audit.export_audit(vault=v, actor="admin", fmt="csv")
    assert audit.audit_log(vault=v, actor="admin", action="audit.export") == []
