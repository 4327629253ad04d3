"""Authorization matrix: every role against every service action, on SQLite and on PostgreSQL.

The issue: "Roles: viewer (read normal documents), clerk (viewer, plus add customers, upload, edit
metadata), manager (clerk, plus sensitive documents and unmasked identifiers, delete and restore, merge
customers), auditor (read metadata and the audit trail; no document content), admin (everything, users
and keys). A user can be limited to the customers they own. Every service function takes the acting user;
a denial raises a clear error and is itself audited."

`EXPECTED` below is written out by hand (it is *not* derived from `clientfolio.domain.policy`), so a change
to the policy that contradicts the issue makes these tests fail. Every case drives the real services against
a real vault: an allowed action must succeed; a denied one must raise `PermissionDenied`, leave exactly one
new audit event (outcome "denied", the acting user, the refused action) and change nothing else: every
table except the audit trail, and the blob store, are compared before and after.

The matrix shares one populated vault per backend (a module-scoped fixture); every mutating action either
works on objects made for it by an admin beforehand (`prep`) or is repeatable (unique names and contents),
so the cases are independent of their order. The scenario tests at the end use the conftest `staffed`
vault, fresh per test, where exact list totals matter.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import os
import pkgutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from PIL import Image
from sqlalchemy import select
from stdnum.cn import ric

from clientfolio import bootstrap
from clientfolio.adapters import orm
from clientfolio.adapters.webhook_sender import HttpSender
from clientfolio.domain.errors import InvalidInput, NotFound, NothingToChange, PermissionDenied
from clientfolio.domain.model import utcnow
from clientfolio.domain.queries import AuditFilter
from clientfolio.services import (audit, auth, backups, classification, customers, dashboard, demo, documents, fields,
                                  history, inbox, ingest, previews, requirements, search, second_factor, summary,
                                  tokens, users, versions, webhooks)
from clientfolio.services import vault as vault_services
from clientfolio.services.context import Vault

# --------------------------------------------------------------------------------------------------
# Who acts. `own_clerk` is a clerk limited to the customers she owns; `disabled` is an administrator
# whose account was disabled with users.set_role(disabled=True): the strongest role, so "denied
# everything" means the disabled flag alone is enough.
# --------------------------------------------------------------------------------------------------

ROLES = ("viewer", "clerk", "manager", "auditor", "admin", "own_clerk", "disabled")
ACTOR = {"viewer": "vera", "clerk": "clara", "manager": "max", "auditor": "audrey", "admin": "admin",
         "own_clerk": "olga", "disabled": "dana"}

# "mine" = a customer owned by olga (own_clerk); "theirs" = a customer owned by admin. For every role but
# own_clerk the two must behave the same. Each has a resident ID, a normal and a sensitive document, and
# both documents have two versions.
#
# A = allowed (no exception), D = denied (PermissionDenied, audited, nothing changed).
EXPECTED_TABLE = """
action                              viewer clerk manager auditor admin own_clerk disabled
add_customer                          D     A      A       D      A      A         D
list_customers                        A     A      A       A      A      A         D
show_customer_theirs                  A     A      A       A      A      D         D
show_customer_mine                    A     A      A       A      A      A         D
reveal_identifiers_theirs             D     D      A       D      A      D         D
reveal_identifiers_mine               D     D      A       D      A      D         D
edit_customer_theirs                  D     A      A       D      A      D         D
edit_customer_mine                    D     A      A       D      A      A         D
find_by_identifier                    A     A      A       A      A      A         D
merge_customers                       D     D      A       D      A      D         D
add_document_theirs                   D     A      A       D      A      D         D
add_document_mine                     D     A      A       D      A      A         D
add_sensitive_document_theirs         D     A      A       D      A      D         D
add_sensitive_document_mine           D     A      A       D      A      A         D
list_documents                        A     A      A       A      A      A         D
show_document_theirs                  A     A      A       A      A      D         D
show_document_mine                    A     A      A       A      A      A         D
show_sensitive_document_theirs        D     D      A       A      A      D         D
show_sensitive_document_mine          D     D      A       A      A      D         D
edit_document_theirs                  D     A      A       D      A      D         D
edit_document_mine                    D     A      A       D      A      A         D
edit_sensitive_document               D     D      A       D      A      D         D
mark_document_sensitive               D     D      A       D      A      D         D
delete_document                       D     D      A       D      A      D         D
undelete_document                     D     D      A       D      A      D         D
add_version_theirs                    D     A      A       D      A      D         D
add_version_mine                      D     A      A       D      A      A         D
add_sensitive_version                 D     D      A       D      A      D         D
list_versions_theirs                  A     A      A       A      A      D         D
list_versions_mine                    A     A      A       A      A      A         D
list_sensitive_versions               D     D      A       A      A      D         D
version_size_theirs                   A     A      A       A      A      D         D
version_size_sensitive                D     D      A       A      A      D         D
read_content_theirs                   A     A      A       D      A      D         D
read_content_mine                     A     A      A       D      A      A         D
read_sensitive_content                D     D      A       D      A      D         D
read_text_theirs                      A     A      A       D      A      D         D
read_text_mine                        A     A      A       D      A      A         D
read_sensitive_text                   D     D      A       D      A      D         D
read_sensitive_content_mine           D     D      A       D      A      D         D
restore_version                       D     D      A       D      A      D         D
restore_sensitive_version             D     D      A       D      A      D         D
diff_versions_theirs                  A     A      A       D      A      D         D
diff_versions_mine                    A     A      A       D      A      A         D
diff_sensitive_versions               D     D      A       D      A      D         D
add_user                              D     D      D       D      A      D         D
list_users                            D     D      D       A      A      D         D
set_role                              D     D      D       D      A      D         D
audit_log                             D     D      D       A      A      D         D
audit_verify                          D     D      D       A      A      D         D
check_vault                           D     D      D       D      A      D         D
create_backup                         D     D      D       D      A      D         D
verify_backup                         D     D      D       D      A      D         D
vault_summary                         A     A      A       A      A      A         D
load_demo                             D     D      D       D      A      D         D
retry_text                            D     A      A       D      A      D         D
list_inbox                            D     A      A       D      A      D         D
show_inbox_item                       D     A      A       D      A      D         D
read_inbox_item                       D     D      A       D      A      D         D
file_inbox_item                       D     A      A       D      A      D         D
discard_inbox_item                    D     D      A       D      A      D         D
ingest_file                           D     A      A       D      A      A         D
ingest_store                          D     A      A       D      A      A         D
ingest_store_batch                    D     A      A       D      A      A         D
search                                A     A      A       A      A      A         D
reindex_search                        D     D      D       D      A      D         D
classifier_train                      D     D      A       D      A      D         D
classifier_evaluate                   D     D      A       D      A      D         D
classifier_suggest                    A     A      A       D      A      D         D
classifier_suggest_file               D     A      A       D      A      A         D
show_fields                           A     A      A       D      A      D         D
confirm_fields                        D     A      A       D      A      D         D
reject_fields                         D     A      A       D      A      D         D
accept_suggestion                     D     A      A       D      A      D         D
accept_suggestions                    D     A      A       D      A      A         D
list_pending_filings                  D     A      A       D      A      A         D
set_own_password                      A     A      A       A      A      A         D
set_password_other                    D     D      D       D      A      D         D
unlock_user                           D     D      D       D      A      D         D
sign_out_everywhere                   A     A      A       A      A      A         D
start_totp                            A     A      A       A      A      A         D
confirm_totp                          A     A      A       A      A      A         D
disable_totp                          A     A      A       A      A      A         D
new_recovery_codes                    A     A      A       A      A      A         D
reset_second_factor                   D     D      D       D      A      D         D
create_token                          A     A      A       A      A      A         D
list_tokens                           A     A      A       A      A      A         D
my_account                            A     A      A       A      A      A         D
revoke_token                          A     A      A       A      A      A         D
register_webhook                      D     D      D       D      A      D         D
list_webhooks                         D     D      D       D      A      D         D
remove_webhook                        D     D      D       D      A      D         D
list_webhook_deliveries               D     D      D       D      A      D         D
redeliver_webhook                     D     D      D       D      A      D         D
page_count_theirs                     A     A      A       D      A      D         D
page_count_sensitive                  D     D      A       D      A      D         D
render_page_theirs                    A     A      A       D      A      D         D
render_page_mine                      A     A      A       D      A      A         D
render_sensitive_page                 D     D      A       D      A      D         D
dashboard                             A     A      A       A      A      A         D
customer_timeline_theirs              A     A      A       A      A      D         D
customer_timeline_mine                A     A      A       A      A      A         D
missing_documents_theirs              A     A      A       A      A      D         D
missing_documents_mine                A     A      A       A      A      A         D
document_history_theirs               A     A      A       A      A      D         D
document_history_sensitive            D     D      A       A      A      D         D
export_audit                          D     D      D       A      A      D         D
review_customer_theirs                D     A      A       D      A      D         D
review_customer_mine                  D     A      A       D      A      A         D
"""


def _parse_table(text: str) -> dict[str, dict[str, bool]]:
    header, *rows = [line.split() for line in text.strip().splitlines()]
    assert tuple(header[1:]) == ROLES, header
    table = {}
    for name, *cells in rows:
        assert len(cells) == len(ROLES) and set(cells) <= {"A", "D"}, name
        assert name not in table, f"{name} twice"
        table[name] = {role: cell == "A" for role, cell in zip(ROLES, cells)}
    return table


EXPECTED = _parse_table(EXPECTED_TABLE)


# --------------------------------------------------------------------------------------------------
# The populated vault.
# --------------------------------------------------------------------------------------------------

def resident_id(stem17: str) -> str:
    return stem17 + ric.calc_check_digit(stem17 + "0")  # stdnum drops the last character


def uniq() -> str:
    return uuid.uuid4().hex[:12]


def _png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (300, 200), "white").save(out, "PNG")
    return out.getvalue()


PREVIEW_PNG = _png_bytes()


def fresh_bytes(what: str) -> bytes:
    return f"{what} {uniq()}\nplain text, unique so that the duplicate rule never applies\n".encode()


@dataclass
class Doc:
    id: int
    title: str
    original_name: str
    v1: bytes
    v2: bytes


@dataclass
class Side:
    code: str
    name: str
    resident_id: str
    normal: Doc
    sensitive: Doc


@dataclass
class World:
    vault: Vault
    tmp: Path
    mine: Side  # owned by olga
    theirs: Side  # owned by admin
    backup_dir: Path | None = None
    passwords_set: bool = False


def staff(vault: Vault) -> None:
    """The same users as conftest's `staffed`, plus dana: an admin whose account is disabled."""
    for role, name in (("viewer", "vera"), ("clerk", "clara"), ("manager", "max"), ("auditor", "audrey")):
        users.add_user(vault=vault, actor="admin", name=name, role=role)
    users.add_user(vault=vault, actor="admin", name="olga", role="clerk", own_customers_only=True)
    users.add_user(vault=vault, actor="admin", name="dana", role="admin")
    users.set_role(vault=vault, actor="admin", name="dana", disabled=True)


def _side(vault: Vault, *, owner: str, name: str, stem: str, marker: str) -> Side:
    rid = resident_id(stem)
    c = customers.add_customer(vault=vault, actor="admin", name=name, kind="person", tier="standard",
                               owner=owner, identifiers={"resident_id": rid})
    made = {}
    for kind, category, subtype in (("normal", "communication", None), ("sensitive", "id_document", "resident_id")):
        title = f"{marker}-{kind.upper()}-TITLE {c.code}"
        original = f"{marker}-{kind}-original-name.txt"
        v1 = f"{marker} {kind} content of {c.code}, version one\nline two\n".encode()
        v2 = f"{marker} {kind} content of {c.code}, version two\nline two changed\n".encode()
        d = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=[v1],
                                   original_name=original, category=category, subtype=subtype, title=title)
        assert d.sensitivity == kind  # id_document is sensitive by default, communication is not
        versions.add_version(vault=vault, actor="admin", document_id=d.id, content=[v2[:10], v2[10:]],
                             original_name=original, note="second version")
        made[kind] = Doc(d.id, title, original, v1, v2)
    return Side(c.code, c.name, rid, made["normal"], made["sensitive"])


def populate(vault: Vault, tmp: Path) -> World:
    mine = _side(vault, owner="olga", name="Olga Client 周敏", stem="11010119900307001", marker="OLGAS")
    theirs = _side(vault, owner="admin", name="Admin Client 李娜", stem="31010119851120002", marker="ADMINS")
    return World(vault=vault, tmp=tmp, mine=mine, theirs=theirs)


PG_ADMIN_URL = os.environ.get("CLIENTFOLIO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(request, tmp_path_factory):
    """One populated vault per backend for the whole matrix (the cases are written not to interfere)."""
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"permissions-{backend}")
    db_name = None
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("CLIENTFOLIO_MASTER_KEY", raising=False)
        mp.delenv("CLIENTFOLIO_DATABASE_URL", raising=False)
        url = None
        if backend == "postgres":
            try:
                with _pg_admin():
                    pass
            except Exception as exc:  # noqa: BLE001 - any failure to connect means "not available"
                reason = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {type(exc).__name__}"
                if os.environ.get("CLIENTFOLIO_REQUIRE_SERVICES") == "1":
                    pytest.fail(f"CLIENTFOLIO_REQUIRE_SERVICES=1 but {reason}")
                pytest.skip(reason)
            db_name = f"cf_test_perm_{uuid.uuid4().hex[:12]}"
            with _pg_admin() as conn:
                conn.execute(f'CREATE DATABASE "{db_name}"')
            base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            url = f"{base}/{db_name}"
        try:
            bootstrap.init_vault(tmp / "home", admin="admin", database_url=url)
            vault = bootstrap.open_vault(tmp / "home")
            staff(vault)
            w = populate(vault, tmp)
            w.backup_dir = tmp / "existing-backup"
            backups.create_backup(vault=vault, actor="admin", dest=w.backup_dir)
            yield w
        finally:
            bootstrap.dispose_engines()
            if db_name:
                with _pg_admin() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


# --------------------------------------------------------------------------------------------------
# The actions: one callable per (service function, target). Each takes (vault, actor, world, prepared)
# and checks what an allowed call returns, so "allowed" means "worked", not merely "did not raise".
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    run: Callable[[Vault, str, World, Any], Any]
    denied_as: frozenset[str]  # the audit action a denial may be recorded under
    prep: Callable[[Vault, World], Any] | None = None  # made by admin before the case, outside the check
    calls: str = ""  # the service function exercised (module.function)


def case(calls: str, run, denied_as: str, prep=None) -> Case:
    return Case(run=run, denied_as=frozenset(denied_as.split()), prep=prep, calls=calls)


def side(w: World, which: str) -> Side:
    return w.mine if which == "mine" else w.theirs


def _add_customer(v, actor, w, _):
    made = customers.add_customer(vault=v, actor=actor, name=f"New customer {uniq()}", kind="person",
                                  tier="prospect")
    assert made.owner == actor and made.code.startswith("C")


def _list_customers(v, actor, w, _):
    page = customers.list_customers(vault=v, actor=actor)
    assert page.total >= 1 and page.items


def _show_customer(which, reveal):
    def run(v, actor, w, _):
        s = side(w, which)
        view = customers.show_customer(vault=v, actor=actor, code=s.code, reveal=reveal)
        [ident] = view.identifiers
        assert ident.masked is not reveal
        assert (ident.value == s.resident_id) is reveal
    return run


def _edit_customer(which):
    def run(v, actor, w, _):
        s = side(w, which)
        new_name = f"{s.name} {uniq()}"
        assert customers.edit_customer(vault=v, actor=actor, code=s.code, name=new_name).name == new_name
    return run


def _find_by_identifier(v, actor, w, _):
    found = customers.find_by_identifier(vault=v, actor=actor, kind="resident_id", value=w.theirs.resident_id)
    assert [c.code for c in found] == ([] if actor == "olga" else [w.theirs.code])


def _two_customers(v, w):
    return [customers.add_customer(vault=v, actor="admin", name=f"Duplicate {uniq()}", kind="person",
                                   tier="standard").code for _ in range(2)]


def _merge(v, actor, w, codes):
    source, target = codes
    assert customers.merge_customers(vault=v, actor=actor, source_code=source, into_code=target).code == target
    assert customers.show_customer(vault=v, actor="admin", code=source).status == "merged"


def _add_document(which, sensitive):
    def run(v, actor, w, _):
        s = side(w, which)
        if sensitive:
            d = documents.add_document(vault=v, actor=actor, customer_code=s.code, content=[fresh_bytes("id scan")],
                                       original_name="scan.txt", category="id_document", subtype="passport")
        else:
            d = documents.add_document(vault=v, actor=actor, customer_code=s.code, content=[fresh_bytes("notes")],
                                       original_name="notes.txt", category="communication", title="new notes")
        assert d.customer == s.code and d.sensitivity == ("sensitive" if sensitive else "normal")
    return run


def _list_documents(v, actor, w, _):
    page = documents.list_documents(vault=v, actor=actor)
    assert page.total >= 1 and page.items


def _doc(w: World, which: str, sensitive: bool) -> Doc:
    s = side(w, which)
    return s.sensitive if sensitive else s.normal


def _show_document(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        assert documents.show_document(vault=v, actor=actor, document_id=d.id).title == d.title
    return run


def _edit_document(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        shelf = f"shelf {uniq()}"
        view = documents.edit_document(vault=v, actor=actor, document_id=d.id, paper_location=shelf)
        assert view.paper_location == shelf
    return run


def _fresh_document(v, w, *, deleted=False):
    d = documents.add_document(vault=v, actor="admin", customer_code=w.theirs.code, content=[fresh_bytes("fresh")],
                               original_name="fresh.txt", category="communication", title=f"fresh {uniq()}")
    if deleted:
        documents.delete_document(vault=v, actor="admin", document_id=d.id)
    return d.id


def _mark_sensitive(v, actor, w, doc_id):
    # A title change comes first in edit_document: a denial must roll it back too.
    view = documents.edit_document(vault=v, actor=actor, document_id=doc_id, title="now sensitive", sensitive=True)
    assert (view.sensitivity, view.title) == ("sensitive", "now sensitive")


def _delete(v, actor, w, doc_id):
    assert documents.delete_document(vault=v, actor=actor, document_id=doc_id).status == "deleted"


def _undelete(v, actor, w, doc_id):
    assert documents.undelete_document(vault=v, actor=actor, document_id=doc_id).status == "active"


def _add_version(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        view = versions.add_version(vault=v, actor=actor, document_id=d.id, content=[fresh_bytes("new version")])
        assert view.version >= 3
    return run


def _list_versions(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        history = versions.list_versions(vault=v, actor=actor, document_id=d.id)
        assert [h.version for h in history][:2] == [1, 2]
        assert history[0].original_name == d.original_name
    return run


def _read(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        download = versions.read_version(vault=v, actor=actor, document_id=d.id, version=1)
        assert b"".join(download.chunks) == d.v1  # consume the stream: the bytes are checked as they come
    return run


def _read_text(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        text = versions.read_text(vault=v, actor=actor, document_id=d.id, version=1)
        assert text is None or isinstance(text, str)  # None until the worker has read the file
    return run


def _restore(sensitive):
    def run(v, actor, w, _):
        d = _doc(w, "theirs", sensitive)
        view = versions.restore_version(vault=v, actor=actor, document_id=d.id, version=1)
        assert view.version >= 3
        assert b"".join(versions.read_version(vault=v, actor="admin", document_id=d.id).chunks) == d.v1
    return run


def _diff(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        result = versions.diff_versions(vault=v, actor=actor, document_id=d.id, a=1, b=2)
        assert "sha256" in result.changed_fields
        assert "+line two changed" in result.text_diff
    return run


def _add_user(v, actor, w, _):
    name = f"new.{uniq()}"
    assert users.add_user(vault=v, actor=actor, name=name, role="viewer").name == name


def _list_users(v, actor, w, _):
    names = {u.name for u in users.list_users(vault=v, actor=actor)}
    assert set(ACTOR.values()) <= names


def _new_user(v, w):
    name = f"temp.{uniq()}"
    users.add_user(vault=v, actor="admin", name=name, role="viewer")
    return name


def _set_role(v, actor, w, name):
    assert users.set_role(vault=v, actor=actor, name=name, role="clerk").role == "clerk"


def _audit_log(v, actor, w, _):
    assert audit.audit_log(vault=v, actor=actor, limit=5)


def _audit_verify(v, actor, w, _):
    assert audit.audit_verify(vault=v, actor=actor).ok


def _check_vault(v, actor, w, _):
    report = vault_services.check_vault(vault=v, actor=actor)
    assert report.ok, report.problems
    assert report.versions_checked >= 8 and report.identifiers_checked >= 2


def _backup_dest(v, w):
    return w.tmp / f"backup-{uniq()}"


def _create_backup(v, actor, w, dest):
    result = backups.create_backup(vault=v, actor=actor, dest=dest)
    assert result.files >= 9 and (dest / "snapshots" / result.snapshot / "manifest.json").exists()


def _verify_backup(v, actor, w, _):
    result = backups.verify_backup(vault=v, actor=actor, dest=w.backup_dir)
    assert result.ok, result.problems


def _summary(v, actor, w, _):
    counts = summary.vault_summary(vault=v, actor=actor)
    assert counts["documents"] >= 1 and counts["customers"] >= 1


def _retry_text(v, actor, w, _):
    textjobs = pytest.importorskip("clientfolio.services.textjobs")  # text extraction: work in progress
    assert textjobs.retry_text(vault=v, actor=actor, document_id=w.theirs.normal.id) == "pending"


def _inbox_item(v, w):
    """An ingested file no customer matches, received by admin."""
    folder = w.tmp / f"drop-{uniq()}"
    path = folder / "nobody" / "letter.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(fresh_bytes("an unmatched letter"))
    result = ingest.ingest_file(v, "admin", folder, path)
    assert result.outcome == "inbox", result
    return result.inbox_id


def _list_inbox(v, actor, w, item_id):
    assert item_id in [i.id for i in inbox.list_inbox(vault=v, actor=actor).items]


def _show_inbox_item(v, actor, w, item_id):
    assert inbox.show_item(vault=v, actor=actor, item_id=item_id).original_name == "letter.txt"


def _read_inbox_item(v, actor, w, item_id):
    assert b"".join(inbox.read_item(vault=v, actor=actor, item_id=item_id).chunks).startswith(b"an unmatched")


def _file_inbox_item(v, actor, w, item_id):
    doc = inbox.file_item(vault=v, actor=actor, item_id=item_id, customer_code=w.theirs.code, category="communication")
    assert doc.customer == w.theirs.code


def _discard_inbox_item(v, actor, w, item_id):
    assert inbox.discard_item(vault=v, actor=actor, item_id=item_id).status == "discarded"


def _drop_for_mine(v, w):
    folder = w.tmp / f"drop-{uniq()}"
    path = folder / w.mine.code / "scan.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(fresh_bytes("a scan for my customer"))
    return folder, path


def _ingest_file(v, actor, w, prepared):
    folder, path = prepared
    result = ingest.ingest_file(v, actor, folder, path)
    assert (result.outcome, result.customer) == ("stored", w.mine.code), result


def _ingest_store(v, actor, w, prepared):
    folder, path = prepared
    result = ingest.store(v, actor, ingest.prepare(v, folder, path))
    assert result.outcome == "stored", result


def _search(v, actor, w, _):
    page = search.search(vault=v, actor=actor, query="", customer_code=w.mine.code)
    assert page.total >= 1


def _reindex_search(v, actor, w, _):
    assert search.reindex(vault=v, actor=actor) >= 4


def _classifier_train(v, actor, w, _):
    # Authorized. Whether this small world holds enough text to learn from depends on the cases run
    # before (ingestion cases add documents with text): either outcome is past the permission check.
    try:
        assert classification.train(vault=v, actor=actor)["documents"] >= 10
    except InvalidInput as exc:
        assert "documents" in exc.message


def _classifier_evaluate(v, actor, w, _):
    try:
        assert classification.evaluate(vault=v, actor=actor)["documents"] >= 10
    except InvalidInput as exc:
        assert "documents" in exc.message


def _classifier_suggest(v, actor, w, _):
    classification.suggest_for_document(vault=v, actor=actor, document_id=w.theirs.normal.id)


def _classifier_suggest_file(v, actor, w, _):
    made = classification.suggest_for_file(vault=v, actor=actor, data="增值税专用发票 发票代码 价税合计".encode())
    assert made["category"] == "finance"


def _show_fields(v, actor, w, _):
    assert fields.show_fields(vault=v, actor=actor, document_id=w.theirs.normal.id).rows == []  # no ID text


def _confirm_fields(v, actor, w, _):
    with pytest.raises(InvalidInput, match="no proposed fields"):  # past the permission check
        fields.confirm_fields(vault=v, actor=actor, document_id=w.theirs.normal.id)


def _reject_fields(v, actor, w, _):
    with pytest.raises(InvalidInput, match="no proposed fields"):
        fields.reject_fields(vault=v, actor=actor, document_id=w.theirs.normal.id)


def _accept_suggestion(v, actor, w, _):
    with pytest.raises(NothingToChange, match="no suggestion"):  # past the permission check
        documents.accept_suggestion(vault=v, actor=actor, document_id=w.theirs.normal.id)


def _accept_suggestions(v, actor, w, _):
    [(document_id, got)] = documents.accept_suggestions(vault=v, actor=actor, document_ids=[w.mine.normal.id])
    assert document_id == w.mine.normal.id and isinstance(got, NothingToChange)  # past the permission checks


def _list_pending_filings(v, actor, w, _):
    page = documents.list_documents(vault=v, actor=actor, suggestion_pending=True)
    assert all(d.suggestion for d in page.items) and page.total == len(page.items)


def _ingest_store_batch(v, actor, w, prepared):
    folder, path = prepared
    [result] = ingest.store_batch(v, actor, [ingest.prepare(v, folder, path)])
    assert result.outcome == "stored", result


def _load_demo(v, actor, w, _):
    assert demo.load_demo(vault=v, actor=actor)["documents"] == 6


KNOWN_PASSWORD = "Matrix-Known-Pass-2024"


def _with_passwords(v, w):
    """Every acting user has KNOWN_PASSWORD (set once per world by admin; the admin's own by itself)."""
    if w.passwords_set:
        return
    for name in ACTOR.values():
        current = None
        if name == "admin":  # the demo case may have given it the demo password
            with v.uow() as uow:
                stored = uow.users.by_name("admin").password_hash
            if stored is not None:
                current = next(p for p in (KNOWN_PASSWORD, demo.DEMO_PASSWORD) if v.passwords.verify(stored, p))
        auth.set_password(vault=v, actor="admin", name=name, new_password=KNOWN_PASSWORD, current_password=current)
    w.passwords_set = True


def _set_own_password(v, actor, w, _):
    view = auth.set_password(vault=v, actor=actor, name=actor, new_password=KNOWN_PASSWORD,
                             current_password=KNOWN_PASSWORD)
    assert view.name == actor


def _set_password_other(v, actor, w, name):
    assert auth.set_password(vault=v, actor=actor, name=name, new_password=KNOWN_PASSWORD).name == name


def _unlock_user(v, actor, w, name):
    assert auth.unlock_user(vault=v, actor=actor, name=name).name == name


def _sign_out_everywhere(v, actor, w, _):
    assert auth.sign_out_everywhere(vault=v, actor=actor) == 0  # nobody here has signed in


def _start_totp(v, actor, w, _):
    started = second_factor.start_totp(vault=v, actor=actor)
    assert started.uri.startswith("otpauth://totp/") and "<svg" in started.qr_svg


def _totp_cycle(then_new_codes: bool):
    """Set up, (replace the recovery codes,) and turn off again with a recovery code: each case leaves the
    user as it found them."""
    def run(v, actor, w, _):
        app = pyotp.TOTP(second_factor.start_totp(vault=v, actor=actor).secret)
        codes = second_factor.confirm_totp(vault=v, actor=actor, code=app.now())
        assert len(codes) == 10
        if then_new_codes:
            codes = second_factor.new_recovery_codes(vault=v, actor=actor, code=app.at(utcnow() + timedelta(seconds=30)))
        assert not second_factor.disable_totp(vault=v, actor=actor, code=codes[0]).disabled
    return run


def _reset_second_factor(v, actor, w, name):
    assert second_factor.reset_second_factor(vault=v, actor=actor, name=name).name == name


def _create_token(v, actor, w, _):
    made = tokens.create_token(vault=v, actor=actor, name=f"t {uniq()}", scope=["customer.read"])
    assert made.token.startswith(made.view.prefix) and made.view.user == actor


def _list_tokens(v, actor, w, _):
    assert all(t.user == actor for t in tokens.list_tokens(vault=v, actor=actor))


def _my_account(v, actor, w, _):
    assert users.my_account(vault=v, actor=actor).name == actor


def _revoke_token(v, actor, w, _):
    made = tokens.create_token(vault=v, actor=actor, name=f"t {uniq()}")
    assert tokens.revoke_token(vault=v, actor=actor, token_id=made.view.id).revoked_at is not None


def _version_size(which, sensitive):
    def run(v, actor, w, _):
        d = _doc(w, which, sensitive)
        assert versions.version_size(vault=v, actor=actor, document_id=d.id, version=1) == len(d.v1)
    return run


def _webhook(v, w):
    return webhooks.register_webhook(vault=v, actor="admin", url="http://127.0.0.1:9/hook").webhook.id


def _webhook_delivery(v, w):
    hook = _webhook(v, w)
    customers.add_customer(vault=v, actor="admin", name=f"hook {uniq()}", kind="person", tier="standard")
    webhooks.dispatch(vault=v, sender=HttpSender(timeout=2))  # port 9 refuses: the delivery waits to be retried
    return webhooks.list_deliveries(vault=v, actor="admin", webhook_id=hook).items[0].id


def _register_webhook(v, actor, w, _):
    made = webhooks.register_webhook(vault=v, actor=actor, url="https://hooks.example/cf", events=["customer.created"])
    assert made.secret.startswith("whsec_") and made.webhook.endpoint == "https://hooks.example"


def _list_webhooks(v, actor, w, hook):
    assert hook in [h.id for h in webhooks.list_webhooks(vault=v, actor=actor)]


def _remove_webhook(v, actor, w, hook):
    assert webhooks.remove_webhook(vault=v, actor=actor, webhook_id=hook).active is False


def _list_webhook_deliveries(v, actor, w, hook):
    assert webhooks.list_deliveries(vault=v, actor=actor, webhook_id=hook).total == 0


def _redeliver(v, actor, w, delivery):
    assert webhooks.redeliver(vault=v, actor=actor, delivery_id=delivery).status == "pending"


def _preview_document(which, sensitive):
    """A one-page PNG filed by admin (the world's own documents are text, which has no pages to draw)."""
    def prep(v, w):
        kind = dict(category="id_document", subtype="passport") if sensitive else dict(category="contract")
        return documents.add_document(vault=v, actor="admin", customer_code=side(w, which).code, content=[PREVIEW_PNG],
                                      original_name="scan.png", allow_duplicate=True, **kind).id
    return prep


def _page_count(v, actor, w, doc_id):
    assert previews.page_count(vault=v, actor=actor, document_id=doc_id) == 1


def _render_page(v, actor, w, doc_id):
    assert previews.render_page(vault=v, actor=actor, document_id=doc_id, width=200).startswith(b"\x89PNG")


def _dashboard(v, actor, w, _):
    view = dashboard.dashboard(vault=v, actor=actor)
    assert view.activity
    assert (view.inbox_waiting is None) == (actor in ("vera", "audrey", "olga"))  # who has no inbox
    if actor == "olga":
        assert {a.customer for a in view.activity} == {w.mine.code}


def _missing_documents(which):
    def run(v, actor, w, _):
        gaps = requirements.missing_documents(vault=v, actor=actor, code=side(w, which).code)
        assert all(g.label_zh and g.label_en for g in gaps)
    return run


def _customer_timeline(which):
    def run(v, actor, w, _):
        code = side(w, which).code
        page = history.customer_timeline(vault=v, actor=actor, code=code)
        assert page.total >= 5 and {e.customer for e in page.items} == {code}
    return run


def _document_history(sensitive):
    def run(v, actor, w, _):
        events = history.document_history(vault=v, actor=actor, document_id=_doc(w, "theirs", sensitive).id,
                                          limit=1000)
        assert {"document.create", "version.add"} <= {e.action for e in events}
    return run


def _export_audit(v, actor, w, _):
    data = audit.export_audit(vault=v, actor=actor, fmt="csv", customer_code=w.theirs.code)
    assert data.startswith(b"\xef\xbb\xbf") and f",{w.theirs.code},".encode() in data


def _review_customer(which):
    def run(v, actor, w, _):
        s = side(w, which)
        assert customers.review_customer(vault=v, actor=actor, code=s.code).review_due > date.today()
    return run


META = "customer.read document.read_meta"  # the read check every single-document action starts with

ACTIONS: dict[str, Case] = {
    "add_customer": case("customers.add_customer", _add_customer, "customer.create"),
    "list_customers": case("customers.list_customers", _list_customers, "customer.read"),
    "show_customer_theirs": case("customers.show_customer", _show_customer("theirs", False), "customer.read"),
    "show_customer_mine": case("customers.show_customer", _show_customer("mine", False), "customer.read"),
    "reveal_identifiers_theirs": case("customers.show_customer", _show_customer("theirs", True),
                                      "customer.read identifier.unmask"),
    "reveal_identifiers_mine": case("customers.show_customer", _show_customer("mine", True),
                                    "customer.read identifier.unmask"),
    "edit_customer_theirs": case("customers.edit_customer", _edit_customer("theirs"), "customer.read customer.edit"),
    "edit_customer_mine": case("customers.edit_customer", _edit_customer("mine"), "customer.read customer.edit"),
    "find_by_identifier": case("customers.find_by_identifier", _find_by_identifier, "customer.read"),
    "merge_customers": case("customers.merge_customers", _merge, "customer.read customer.merge", prep=_two_customers),
    "add_document_theirs": case("documents.add_document", _add_document("theirs", False),
                                "customer.read document.create"),
    "add_document_mine": case("documents.add_document", _add_document("mine", False),
                              "customer.read document.create"),
    "add_sensitive_document_theirs": case("documents.add_document", _add_document("theirs", True),
                                          "customer.read document.create"),
    "add_sensitive_document_mine": case("documents.add_document", _add_document("mine", True),
                                        "customer.read document.create"),
    "list_documents": case("documents.list_documents", _list_documents, "document.read_meta"),
    "show_document_theirs": case("documents.show_document", _show_document("theirs", False), META),
    "show_document_mine": case("documents.show_document", _show_document("mine", False), META),
    "show_sensitive_document_theirs": case("documents.show_document", _show_document("theirs", True), META),
    "show_sensitive_document_mine": case("documents.show_document", _show_document("mine", True), META),
    "edit_document_theirs": case("documents.edit_document", _edit_document("theirs", False), META + " document.edit"),
    "edit_document_mine": case("documents.edit_document", _edit_document("mine", False), META + " document.edit"),
    "edit_sensitive_document": case("documents.edit_document", _edit_document("theirs", True),
                                    META + " document.edit"),
    "mark_document_sensitive": case("documents.edit_document", _mark_sensitive,
                                    META + " document.edit sensitive.read", prep=_fresh_document),
    "delete_document": case("documents.delete_document", _delete, META + " document.delete", prep=_fresh_document),
    "undelete_document": case("documents.undelete_document", _undelete, META + " document.restore",
                              prep=lambda v, w: _fresh_document(v, w, deleted=True)),
    "add_version_theirs": case("versions.add_version", _add_version("theirs", False), META + " document.edit"),
    "add_version_mine": case("versions.add_version", _add_version("mine", False), META + " document.edit"),
    "add_sensitive_version": case("versions.add_version", _add_version("theirs", True), META + " document.edit"),
    "list_versions_theirs": case("versions.list_versions", _list_versions("theirs", False), META),
    "list_versions_mine": case("versions.list_versions", _list_versions("mine", False), META),
    "list_sensitive_versions": case("versions.list_versions", _list_versions("theirs", True), META),
    "read_content_theirs": case("versions.read_version", _read("theirs", False), META + " document.read_content"),
    "read_content_mine": case("versions.read_version", _read("mine", False), META + " document.read_content"),
    "read_sensitive_content": case("versions.read_version", _read("theirs", True), META + " document.read_content"),
    "read_sensitive_content_mine": case("versions.read_version", _read("mine", True),
                                        META + " document.read_content"),
    "read_text_theirs": case("versions.read_text", _read_text("theirs", False), META + " document.read_content"),
    "read_text_mine": case("versions.read_text", _read_text("mine", False), META + " document.read_content"),
    "read_sensitive_text": case("versions.read_text", _read_text("theirs", True), META + " document.read_content"),
    "restore_version": case("versions.restore_version", _restore(False), META + " document.restore"),
    "restore_sensitive_version": case("versions.restore_version", _restore(True), META + " document.restore"),
    "diff_versions_theirs": case("versions.diff_versions", _diff("theirs", False), META + " document.read_content"),
    "diff_versions_mine": case("versions.diff_versions", _diff("mine", False), META + " document.read_content"),
    "diff_sensitive_versions": case("versions.diff_versions", _diff("theirs", True), META + " document.read_content"),
    "add_user": case("users.add_user", _add_user, "user.manage"),
    "list_users": case("users.list_users", _list_users, "user.read"),
    "set_role": case("users.set_role", _set_role, "user.manage", prep=_new_user),
    "audit_log": case("audit.audit_log", _audit_log, "audit.read"),
    "audit_verify": case("audit.audit_verify", _audit_verify, "audit.read"),
    "check_vault": case("vault.check_vault", _check_vault, "vault.maintain"),
    "create_backup": case("backups.create_backup", _create_backup, "vault.maintain", prep=_backup_dest),
    "verify_backup": case("backups.verify_backup", _verify_backup, "vault.maintain"),
    "vault_summary": case("summary.vault_summary", _summary, "document.read_meta"),
    "load_demo": case("demo.load_demo", _load_demo, "user.manage"),
    "retry_text": case("textjobs.retry_text", _retry_text, META + " document.edit"),
    "list_inbox": case("inbox.list_inbox", _list_inbox, "inbox.use", prep=_inbox_item),
    "show_inbox_item": case("inbox.show_item", _show_inbox_item, "inbox.use", prep=_inbox_item),
    "read_inbox_item": case("inbox.read_item", _read_inbox_item, "inbox.use sensitive.read", prep=_inbox_item),
    "file_inbox_item": case("inbox.file_item", _file_inbox_item, "inbox.use document.create", prep=_inbox_item),
    "discard_inbox_item": case("inbox.discard_item", _discard_inbox_item, "inbox.use document.delete",
                               prep=_inbox_item),
    "ingest_file": case("ingest.ingest_file", _ingest_file, "document.create", prep=_drop_for_mine),
    "ingest_store": case("ingest.store", _ingest_store, "document.create", prep=_drop_for_mine),
    "ingest_store_batch": case("ingest.store_batch", _ingest_store_batch, "document.create", prep=_drop_for_mine),
    "search": case("search.search", _search, META),
    "reindex_search": case("search.reindex", _reindex_search, "vault.maintain"),
    "classifier_train": case("classification.train", _classifier_train, "classifier.train"),
    "classifier_evaluate": case("classification.evaluate", _classifier_evaluate, "classifier.train"),
    "show_fields": case("fields.show_fields", _show_fields, META + " document.read_content"),
    "confirm_fields": case("fields.confirm_fields", _confirm_fields, META + " document.edit"),
    "reject_fields": case("fields.reject_fields", _reject_fields, META + " document.edit"),
    "accept_suggestion": case("documents.accept_suggestion", _accept_suggestion, META + " document.edit"),
    "accept_suggestions": case("documents.accept_suggestions", _accept_suggestions, "document.edit"),
    "list_pending_filings": case("documents.list_documents", _list_pending_filings,
                                 "document.read_meta document.edit"),
    "classifier_suggest": case("classification.suggest_for_document", _classifier_suggest,
                               META + " document.read_content"),
    "classifier_suggest_file": case("classification.suggest_for_file", _classifier_suggest_file,
                                    "document.create"),
    "set_own_password": case("auth.set_password", _set_own_password, "account.self", prep=_with_passwords),
    "set_password_other": case("auth.set_password", _set_password_other, "user.manage", prep=_new_user),
    "unlock_user": case("auth.unlock_user", _unlock_user, "user.manage", prep=_new_user),
    "sign_out_everywhere": case("auth.sign_out_everywhere", _sign_out_everywhere, "account.self"),
    "start_totp": case("second_factor.start_totp", _start_totp, "account.self"),
    "confirm_totp": case("second_factor.confirm_totp", _totp_cycle(False), "account.self"),
    "disable_totp": case("second_factor.disable_totp", _totp_cycle(False), "account.self"),
    "new_recovery_codes": case("second_factor.new_recovery_codes", _totp_cycle(True), "account.self"),
    "reset_second_factor": case("second_factor.reset_second_factor", _reset_second_factor, "user.manage",
                                prep=_new_user),
    "create_token": case("tokens.create_token", _create_token, "account.self"),
    "list_tokens": case("tokens.list_tokens", _list_tokens, "account.self"),
    "my_account": case("users.my_account", _my_account, "account.self"),
    "revoke_token": case("tokens.revoke_token", _revoke_token, "account.self"),
    "version_size_theirs": case("versions.version_size", _version_size("theirs", False), META),
    "version_size_sensitive": case("versions.version_size", _version_size("theirs", True), META),
    "register_webhook": case("webhooks.register_webhook", _register_webhook, "webhook.manage"),
    "list_webhooks": case("webhooks.list_webhooks", _list_webhooks, "webhook.manage", prep=_webhook),
    "remove_webhook": case("webhooks.remove_webhook", _remove_webhook, "webhook.manage", prep=_webhook),
    "list_webhook_deliveries": case("webhooks.list_deliveries", _list_webhook_deliveries, "webhook.manage",
                                    prep=_webhook),
    "redeliver_webhook": case("webhooks.redeliver", _redeliver, "webhook.manage", prep=_webhook_delivery),
    "page_count_theirs": case("previews.page_count", _page_count, META + " document.read_content",
                              prep=_preview_document("theirs", False)),
    "page_count_sensitive": case("previews.page_count", _page_count, META + " document.read_content",
                                 prep=_preview_document("theirs", True)),
    "render_page_theirs": case("previews.render_page", _render_page, META + " document.read_content",
                               prep=_preview_document("theirs", False)),
    "render_page_mine": case("previews.render_page", _render_page, META + " document.read_content",
                             prep=_preview_document("mine", False)),
    "render_sensitive_page": case("previews.render_page", _render_page, META + " document.read_content",
                                  prep=_preview_document("theirs", True)),
    "dashboard": case("dashboard.dashboard", _dashboard, "document.read_meta"),
    "customer_timeline_theirs": case("history.customer_timeline", _customer_timeline("theirs"), "customer.read"),
    "customer_timeline_mine": case("history.customer_timeline", _customer_timeline("mine"), "customer.read"),
    "missing_documents_theirs": case("requirements.missing_documents", _missing_documents("theirs"),
                                     "customer.read document.read_meta"),
    "missing_documents_mine": case("requirements.missing_documents", _missing_documents("mine"),
                                   "customer.read document.read_meta"),
    "document_history_theirs": case("history.document_history", _document_history(False), META),
    "document_history_sensitive": case("history.document_history", _document_history(True), META),
    "export_audit": case("audit.export_audit", _export_audit, "audit.read"),
    "review_customer_theirs": case("customers.review_customer", _review_customer("theirs"),
                                   "customer.read customer.edit"),
    "review_customer_mine": case("customers.review_customer", _review_customer("mine"), "customer.read customer.edit"),
}

# --------------------------------------------------------------------------------------------------
# Observing the vault: everything but the audit trail, and the audit trail's new events.
# --------------------------------------------------------------------------------------------------

_TABLES = (orm.vault_meta, orm.users, orm.customers, orm.customer_identifiers, orm.documents,
           orm.document_tags, orm.versions)


def vault_state(vault: Vault) -> dict:
    with vault.uow() as uow:
        state = {t.name: [tuple(r) for r in uow.session.execute(select(t).order_by(*t.primary_key.columns))]
                 for t in _TABLES}
    state["blobs"] = sorted(vault.blobs.ids())
    return state


def audit_head(vault: Vault) -> int:
    with vault.uow() as uow:
        return uow.audit.head()[0]


def events_after(vault: Vault, seq: int) -> list:
    with vault.uow() as uow:
        events = uow.audit.query(AuditFilter(limit=1000))
        return sorted((e for e in events if e.seq > seq), key=lambda e: e.seq)


def assert_denial_recorded(vault: Vault, before_seq: int, actor: str, exc: PermissionDenied,
                           denied_as: frozenset[str]) -> None:
    [event] = events_after(vault, before_seq)  # the denial, and nothing else, reached the trail
    assert (event.actor, event.outcome) == (actor, "denied")
    assert event.action == exc.action and event.action in denied_as, (event.action, denied_as)
    assert json.loads(event.details)["reason"] == exc.message


# Cells where the code disagrees with the issue (strict xfail: a fix turns them into failures to remove).
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def _cell(role: str, name: str):
    reason = KNOWN_BUGS.get((name, role))
    marks = [pytest.mark.xfail(raises=NotFound, strict=True, reason=reason)] if reason else []
    return pytest.param(role, name, id=f"{role}-{name}", marks=marks)


MATRIX = [_cell(role, name) for name in EXPECTED for role in ROLES]


@pytest.mark.parametrize(("role", "name"), MATRIX)
def test_role_against_action(world, role, name):
    vault, actor, spec = world.vault, ACTOR[role], ACTIONS[name]
    prepared = spec.prep(vault, world) if spec.prep else None
    before, seq = vault_state(vault), audit_head(vault)
    if EXPECTED[name][role]:
        spec.run(vault, actor, world, prepared)
        assert not [e for e in events_after(vault, seq) if e.outcome == "denied"]
        return
    with pytest.raises(PermissionDenied) as caught:
        spec.run(vault, actor, world, prepared)
    exc = caught.value
    assert exc.code == "permission-denied" and exc.message.startswith("permission denied: ")
    if role == "disabled":
        assert exc.message == "permission denied: account is disabled"
    assert_denial_recorded(vault, seq, actor, exc, spec.denied_as)
    assert vault_state(vault) == before  # rows and blob files: the refused action changed nothing
    if isinstance(prepared, Path):
        assert not prepared.exists()  # no backup folder was made


def test_the_matrix_covers_every_public_service_function():
    """A new service function taking an acting user must get a row in the matrix."""
    import clientfolio.services

    modules = {info.name: importlib.import_module(f"clientfolio.services.{info.name}")
               for info in pkgutil.iter_modules(clientfolio.services.__path__)}
    public = {f"{mod_name}.{fn_name}" for mod_name, mod in modules.items()
              for fn_name, fn in inspect.getmembers(mod, inspect.isfunction)
              if fn.__module__ == mod.__name__ and not fn_name.startswith("_")
              and "actor" in inspect.signature(fn).parameters}
    covered = {c.calls for c in ACTIONS.values()}
    assert public - covered == set(), "service functions with no row in the permission matrix"
    assert covered <= public
    assert set(EXPECTED) == set(ACTIONS)


# --------------------------------------------------------------------------------------------------
# Scenarios where exact list contents matter: a fresh vault each (conftest `staffed`, both backends).
# --------------------------------------------------------------------------------------------------

@pytest.fixture
def populated(staffed, tmp_path) -> World:
    return populate(staffed, tmp_path)


def test_lists_never_show_sensitive_documents_to_viewer_or_clerk(populated):
    w, v = populated, populated.vault
    normal = {w.mine.normal.id, w.theirs.normal.id}
    everything = normal | {w.mine.sensitive.id, w.theirs.sensitive.id}
    expected = {"vera": normal, "clara": normal, "max": everything, "audrey": everything, "admin": everything,
                "olga": {w.mine.normal.id}}
    for actor, ids in expected.items():
        page = documents.list_documents(vault=v, actor=actor)
        assert ({d.id for d in page.items}, page.total) == (ids, len(ids)), actor
        assert page.total == len(ids)
        assert summary.vault_summary(vault=v, actor=actor)["documents"] == len(ids), actor
    for actor in ("vera", "clara"):
        assert all(d.sensitivity == "normal" for d in documents.list_documents(vault=v, actor=actor).items)
        # The total counts what the user may see, not the page: with a page of one it is still 2.
        page = documents.list_documents(vault=v, actor=actor, limit=1)
        assert (len(page.items), page.total) == (1, 2)
        page = documents.list_documents(vault=v, actor=actor, category="id_document")
        assert (page.items, page.total) == ([], 0)
        page = documents.list_documents(vault=v, actor=actor, customer_code=w.theirs.code, include_deleted=True)
        assert ([d.id for d in page.items], page.total) == ([w.theirs.normal.id], 1)


@pytest.mark.parametrize("actor", ["vera", "clara"])
def test_sensitive_documents_leave_no_trace_for_viewer_and_clerk(populated, actor):
    w, v = populated, populated.vault
    for d in (w.theirs.sensitive, w.mine.sensitive):
        for call in (lambda: versions.read_version(vault=v, actor=actor, document_id=d.id),
                     lambda: documents.show_document(vault=v, actor=actor, document_id=d.id),
                     lambda: versions.list_versions(vault=v, actor=actor, document_id=d.id),
                     lambda: versions.diff_versions(vault=v, actor=actor, document_id=d.id, a=1, b=2)):
            with pytest.raises(PermissionDenied) as caught:
                call()
            assert d.title not in caught.value.message
    # Everything this user may list or show, gathered in one text: no title, file name or byte of the
    # sensitive documents appears in it.
    seen = [documents.list_documents(vault=v, actor=actor),
            documents.list_documents(vault=v, actor=actor, include_deleted=True),
            customers.list_customers(vault=v, actor=actor),
            summary.vault_summary(vault=v, actor=actor)]
    for s in (w.mine, w.theirs):
        seen += [documents.list_documents(vault=v, actor=actor, customer_code=s.code),
                 customers.show_customer(vault=v, actor=actor, code=s.code),
                 customers.find_by_identifier(vault=v, actor=actor, kind="resident_id", value=s.resident_id),
                 documents.show_document(vault=v, actor=actor, document_id=s.normal.id),
                 versions.list_versions(vault=v, actor=actor, document_id=s.normal.id),
                 versions.diff_versions(vault=v, actor=actor, document_id=s.normal.id, a=1, b=2),
                 b"".join(versions.read_version(vault=v, actor=actor, document_id=s.normal.id).chunks)]
    text = repr(seen)
    for s in (w.mine, w.theirs):
        assert s.normal.title in text  # the gathering itself works
        for secret in (s.sensitive.title, s.sensitive.original_name, repr(s.sensitive.v1)[2:20],
                       repr(s.sensitive.v2)[2:20], "SENSITIVE", "id_document"):
            assert secret not in text


def test_own_customers_only_user_sees_and_touches_only_her_customers(populated):
    w, v = populated, populated.vault
    page = customers.list_customers(vault=v, actor="olga")
    assert ([c.code for c in page.items], page.total) == ([w.mine.code], 1)
    assert customers.list_customers(vault=v, actor="olga", owner="admin").total == 0
    assert customers.list_customers(vault=v, actor="clara").total == 2  # an unlimited clerk sees both
    page = documents.list_documents(vault=v, actor="olga")
    assert ([d.id for d in page.items], page.total) == ([w.mine.normal.id], 1)  # her sensitive one is hidden too
    counts = summary.vault_summary(vault=v, actor="olga")
    assert (counts["customers"], counts["documents"]) == (1, 1)
    assert customers.find_by_identifier(vault=v, actor="olga", kind="resident_id", value=w.theirs.resident_id) == []
    assert [c.code for c in customers.find_by_identifier(vault=v, actor="olga", kind="resident_id",
                                                         value=w.mine.resident_id)] == [w.mine.code]
    # Her own customer: show, read, edit work.
    customers.show_customer(vault=v, actor="olga", code=w.mine.code)
    assert b"".join(versions.read_version(vault=v, actor="olga", document_id=w.mine.normal.id,
                                          version=1).chunks) == w.mine.normal.v1
    documents.edit_document(vault=v, actor="olga", document_id=w.mine.normal.id, tags=["checked"])
    # The other customer: every single-object action is refused, and each refusal is audited.
    theirs = w.theirs
    refused = [lambda: customers.show_customer(vault=v, actor="olga", code=theirs.code),
               lambda: customers.edit_customer(vault=v, actor="olga", code=theirs.code, tier="key"),
               lambda: documents.list_documents(vault=v, actor="olga", customer_code=theirs.code),
               lambda: documents.show_document(vault=v, actor="olga", document_id=theirs.normal.id),
               lambda: documents.edit_document(vault=v, actor="olga", document_id=theirs.normal.id, tags=["x"]),
               lambda: versions.read_version(vault=v, actor="olga", document_id=theirs.normal.id),
               lambda: versions.add_version(vault=v, actor="olga", document_id=theirs.normal.id,
                                            content=[b"olga's change"]),
               lambda: documents.add_document(vault=v, actor="olga", customer_code=theirs.code, content=[b"x"],
                                              original_name="x.txt", category="communication")]
    before = vault_state(v)
    for call in refused:
        with pytest.raises(PermissionDenied, match="olga may act only on their own customers"):
            call()
    assert vault_state(v) == before
    denied = audit.audit_log(vault=v, actor="admin", user="olga", customer_code=theirs.code)
    assert len(denied) == len(refused)
    assert {(e.outcome, e.customer) for e in denied} == {("denied", theirs.code)}


def test_a_disabled_user_is_denied_until_enabled_again(populated):
    w, v = populated, populated.vault
    doc = w.theirs.sensitive
    assert b"".join(versions.read_version(vault=v, actor="max", document_id=doc.id, version=1).chunks) == doc.v1
    users.set_role(vault=v, actor="admin", name="max", disabled=True)
    for call in (lambda: versions.read_version(vault=v, actor="max", document_id=doc.id),
                 lambda: customers.list_customers(vault=v, actor="max"),
                 lambda: documents.list_documents(vault=v, actor="max"),
                 lambda: customers.add_customer(vault=v, actor="max", name="X", kind="person", tier="key")):
        with pytest.raises(PermissionDenied, match="account is disabled"):
            call()
    events = audit.audit_log(vault=v, actor="admin", user="max")
    assert [e.outcome for e in events[:4]] == ["denied"] * 4
    assert all(e.details["reason"] == "permission denied: account is disabled" for e in events[:4])
    users.set_role(vault=v, actor="admin", name="max", disabled=False)
    assert documents.list_documents(vault=v, actor="max").total == 4


def test_denials_are_readable_in_the_audit_log_and_keep_the_chain_intact(populated):
    w, v = populated, populated.vault
    doc = w.theirs.sensitive
    with pytest.raises(PermissionDenied):
        versions.read_version(vault=v, actor="vera", document_id=doc.id)
    with pytest.raises(PermissionDenied):
        versions.read_version(vault=v, actor="audrey", document_id=w.theirs.normal.id)
    [vera] = audit.audit_log(vault=v, actor="admin", user="vera")
    assert (vera.outcome, vera.action, vera.object_type, vera.object_id, vera.customer) == (
        "denied", "document.read_meta", "document", str(doc.id), w.theirs.code)
    assert "sensitive" in vera.details["reason"]
    [audrey] = audit.audit_log(vault=v, actor="admin", user="audrey")
    assert (audrey.outcome, audrey.action, audrey.object_id) == ("denied", "document.read_content",
                                                                  str(w.theirs.normal.id))
    # No "document.read" event was written for either refused read.
    assert not [e for e in audit.audit_log(vault=v, actor="admin", action="document.read")
                if e.actor in ("vera", "audrey")]
    assert audit.audit_verify(vault=v, actor="audrey").ok


def test_a_clerk_cannot_file_an_id_document_as_normal(populated):
    """edit_document needs the sensitive right to make a sensitive document normal; filing a category that is
    sensitive by default as normal is the same downgrade and must need it too (or be ignored)."""
    w, v = populated, populated.vault
    try:
        d = documents.add_document(vault=v, actor="clara", customer_code=w.theirs.code, content=[b"[scan] ID card"],
                                   original_name="id.txt", category="id_document", subtype="resident_id",
                                   sensitive=False)
    except PermissionDenied:
        return
    assert d.sensitivity == "sensitive"
    with pytest.raises(PermissionDenied):
        versions.read_version(vault=v, actor="vera", document_id=d.id)
