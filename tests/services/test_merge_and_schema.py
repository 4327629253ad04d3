"""Customer merge, and the migrations building exactly the schema the code maps."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from stdnum.cn import ric

from clientfolio.adapters.orm import metadata
from clientfolio.adapters.settings import read_settings
from clientfolio.domain.errors import Conflict, InvalidInput, PermissionDenied
from clientfolio.services import audit, customers, documents


def resident_id(stem17: str) -> str:
    return stem17 + ric.calc_check_digit(stem17 + "0")


def test_migrations_match_the_mapped_schema(vault_home):
    url = read_settings(vault_home).database_url
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def _customer_with_doc(vault, name, content, **identifiers):
    c = customers.add_customer(vault=vault, actor="admin", name=name, kind="person", tier="standard",
                               identifiers=identifiers)
    d = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=[content],
                               original_name="a.txt", category="communication")
    return c, d


def test_merge_moves_documents_and_identifiers(staffed):
    vault = staffed
    keep, kept_doc = _customer_with_doc(vault, "张伟", b"call notes one", resident_id=resident_id("11010519491231002"))
    dup, dup_doc = _customer_with_doc(vault, "张伟 重复", b"call notes two", passport="E7654321")
    merged = customers.merge_customers(vault=vault, actor="max", source_code=dup.code, into_code=keep.code)
    assert {i.kind for i in merged.identifiers} == {"resident_id", "passport"}
    assert documents.show_document(vault=vault, actor="admin", document_id=dup_doc.id).customer == keep.code
    page = documents.list_documents(vault=vault, actor="admin", customer_code=keep.code)
    assert {d.id for d in page.items} == {kept_doc.id, dup_doc.id}
    found = customers.find_by_identifier(vault=vault, actor="admin", kind="passport", value="E7654321")
    assert [c.code for c in found] == [keep.code]
    source = customers.show_customer(vault=vault, actor="admin", code=dup.code)
    assert (source.status, source.merged_into, source.identifiers) == ("merged", keep.code, [])
    assert dup.code not in {c.code for c in customers.list_customers(vault=vault, actor="admin").items}
    with pytest.raises(InvalidInput, match="merged into"):
        documents.add_document(vault=vault, actor="admin", customer_code=dup.code, content=[b"x"],
                               original_name="x.txt", category="other")
    event = audit.audit_log(vault=vault, actor="admin", action="customer.merge")[0]
    assert event.details == {"into": keep.code, "documents_moved": 1, "identifiers_moved": ["passport"]}


def test_merge_refuses_conflicting_identifiers_and_changes_nothing(staffed):
    vault = staffed
    a, _ = _customer_with_doc(vault, "A", b"a", resident_id=resident_id("11010519491231002"))
    b, b_doc = _customer_with_doc(vault, "B", b"b", resident_id=resident_id("44030519820101001"))
    with pytest.raises(Conflict, match="different values for Resident ID"):
        customers.merge_customers(vault=vault, actor="admin", source_code=b.code, into_code=a.code)
    assert documents.show_document(vault=vault, actor="admin", document_id=b_doc.id).customer == b.code
    assert customers.show_customer(vault=vault, actor="admin", code=b.code).status == "active"


@pytest.mark.parametrize("actor", ["vera", "clara", "audrey"])
def test_only_managers_and_admins_merge(staffed, actor):
    a, _ = _customer_with_doc(staffed, "A", b"a")
    b, _ = _customer_with_doc(staffed, "B", b"b")
    with pytest.raises(PermissionDenied):
        customers.merge_customers(vault=staffed, actor=actor, source_code=b.code, into_code=a.code)
    denied = audit.audit_log(vault=staffed, actor="admin", user=actor, action="customer.merge")
    assert denied and denied[0].outcome == "denied"


def test_merge_into_itself_is_refused(staffed):
    a, _ = _customer_with_doc(staffed, "A", b"a")
    with pytest.raises(InvalidInput):
        customers.merge_customers(vault=staffed, actor="admin", source_code=a.code, into_code=a.code)


def test_a_vault_from_an_older_release_is_upgraded_on_open(vault_home):
    """Made at migration 0001 (before customer merge existed), opened by this release: data intact."""
    from alembic import command

    from clientfolio import bootstrap
    from clientfolio.adapters.database import alembic_config, is_current, make_engine

    vault = bootstrap.open_vault(vault_home)
    made = customers.add_customer(vault=vault, actor="admin", name="Old", kind="person", tier="key")
    bootstrap.dispose_engines()
    url = read_settings(vault_home).database_url
    engine = make_engine(url)
    command.downgrade(alembic_config(url), "0001")
    assert not is_current(engine)
    engine.dispose()
    vault = bootstrap.open_vault(vault_home)
    assert customers.show_customer(vault=vault, actor="admin", code=made.code).status == "active"
    assert audit.audit_verify(vault=vault, actor="admin").ok


def test_the_head_read_from_file_names_is_alembics_head():
    from alembic.script import ScriptDirectory

    from clientfolio.adapters.database import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
