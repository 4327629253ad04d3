"""The classifier's filing, settled by a person: accepting the suggestion of an auto-filed document (a
confirmation) or of one waiting under "other" (filing it as suggested); editing the category settles it too."""

from __future__ import annotations

import pytest

from clientfolio import bootstrap
from clientfolio.domain.errors import InvalidInput, NotFound, NothingToChange, PermissionDenied
from clientfolio.services import audit, customers, dashboard, documents, ingest

# A category of this vault's own (HOME/taxonomy.toml) and a rule that files by it with tags.
TAXONOMY = '[[category]]\nslug = "loan"\nzh = "贷款"\nen = "Loans"\nsensitive_by_default = false\n'
RULES = '[[rule]]\ncategory = "loan"\nkeywords = ["借款合同", "借款人", "还款计划"]\nweight = 2.0\ntags = ["借贷", "年度"]\n'
LOAN = "借款合同\n借款人：张伟\n还款计划：按月等额还款，共十二期。\n"
ID_CARD = "居民身份证 公民身份号码 签发机关 有效期限\n"  # the rules are sure enough to suggest, not to file


@pytest.fixture
def filed(staffed, vault_home, tmp_path):
    """A customer with one document auto-filed under "loan" and one waiting under "other" (an ID card)."""
    (vault_home / "taxonomy.toml").write_text(TAXONOMY, encoding="utf-8")
    (vault_home / "classification.toml").write_text(RULES, encoding="utf-8")
    v = bootstrap.open_vault(vault_home)
    code = customers.add_customer(vault=v, actor="admin", name="张伟", kind="person", tier="key").code
    got = ingest_papers(v, "admin", tmp_path / "in", code, {"loan.txt": LOAN, "card.txt": ID_CARD})
    assert (got["loan.txt"].category, got["card.txt"].category) == ("loan", "other")
    return v, code, got["loan.txt"].document_id, got["card.txt"].document_id


def ingest_papers(v, actor: str, root, code: str, papers: dict[str, str]) -> dict[str, ingest.IngestResult]:
    """Ingest text files from a folder named by the customer's code (the web tests use it too)."""
    (root / code).mkdir(parents=True)
    for name, text in papers.items():
        (root / code / name).write_text(text, encoding="utf-8")
    return {p.name: ingest.ingest_file(v, actor, root, p) for p in ingest.candidates(root)}


def show(v, document_id):
    return documents.show_document(vault=v, actor="admin", document_id=document_id)


def test_a_person_confirms_an_automatic_filing(filed):
    v, code, loan, _ = filed
    documents.edit_document(vault=v, actor="clara", document_id=loan, tags=["加急"])  # tags only: still pending
    suggested = show(v, loan).suggestion
    assert (suggested["category"], suggested["tags"]) == ("loan", ["借贷", "年度"]) and suggested["confidence"] > 0.85
    view = documents.accept_suggestion(vault=v, actor="clara", document_id=loan)
    assert (view.category, view.subtype, view.tags, view.suggestion) == ("loan", None, ["借贷", "加急", "年度"], None)
    assert show(v, loan).suggestion is None
    [event] = audit.audit_log(vault=v, actor="admin", action="document.filing_confirm")
    assert (event.actor, event.object_id, event.customer, event.outcome) == ("clara", str(loan), code, "ok")
    assert event.details == {"category": "loan", "subtype": None, "confidence": suggested["confidence"],
                             "auto_filed": True,
                             "sensitivity": "normal"}
    with pytest.raises(NothingToChange, match="no suggestion to accept"):  # settled once
        documents.accept_suggestion(vault=v, actor="clara", document_id=loan)


def test_a_waiting_document_is_filed_as_suggested_and_made_sensitive_like_an_id_document(filed):
    v, _, _, card = filed
    before = show(v, card)
    assert (before.category, before.sensitivity, before.suggestion["category"]) == ("other", "normal", "id_document")
    view = documents.accept_suggestion(vault=v, actor="max", document_id=card)
    assert (view.category, view.subtype, view.sensitivity, view.suggestion) == \
           ("id_document", "resident_id", "sensitive", None)
    [event] = audit.audit_log(vault=v, actor="admin", action="document.filing_confirm")
    assert event.details["auto_filed"] is False and event.details["confidence"] == before.suggestion["confidence"]
    assert "身份" not in str(event.details)  # no word of the text


def test_who_may_accept_and_who_is_refused_or_shown_nothing(filed):
    v, _, loan, card = filed
    for who in ("vera", "audrey", "olga"):  # viewer, auditor, a clerk limited to her own customers
        with pytest.raises(PermissionDenied):
            documents.accept_suggestion(vault=v, actor=who, document_id=loan)
    denied = [e for e in audit.audit_log(vault=v, actor="admin", action="document.*") if e.outcome == "denied"]
    assert sorted((e.actor, e.action) for e in denied) == [  # olga may not even see another's customer
        ("audrey", "document.edit"), ("olga", "document.read_meta"), ("vera", "document.edit")]
    with pytest.raises(NotFound):
        documents.accept_suggestion(vault=v, actor="clara", document_id=99999)
    documents.delete_document(vault=v, actor="max", document_id=card)
    with pytest.raises(NotFound):  # a deleted document is hidden from a clerk
        documents.accept_suggestion(vault=v, actor="clara", document_id=card)
    assert show(v, loan).suggestion and not audit.audit_log(vault=v, actor="admin", action="document.filing_confirm")


def test_editing_the_category_settles_the_suggestion(filed):
    v, code, _, card = filed
    view = documents.edit_document(vault=v, actor="max", document_id=card, category="id_document", subtype="passport")
    assert (view.category, view.subtype, view.suggestion) == ("id_document", "passport", None)
    with pytest.raises(NothingToChange, match="no suggestion"):
        documents.accept_suggestion(vault=v, actor="max", document_id=card)
    plain = documents.add_document(vault=v, actor="clara", customer_code=code, content=[b"notes of a call\n"],
                                   original_name="call.txt", category="communication")
    with pytest.raises(NothingToChange, match="no suggestion"):  # filed by a person: nothing to accept
        documents.accept_suggestion(vault=v, actor="clara", document_id=plain.id)


def test_a_suggested_class_gone_from_the_taxonomy_is_refused_clearly(filed, vault_home):
    _, _, loan, _ = filed
    (vault_home / "classification.toml").unlink()
    (vault_home / "taxonomy.toml").unlink()
    v = bootstrap.open_vault(vault_home)
    with pytest.raises(InvalidInput, match="suggested category loan is no longer in the taxonomy"):
        documents.accept_suggestion(vault=v, actor="clara", document_id=loan)
    assert show(v, loan).suggestion["category"] == "loan"  # nothing changed


# --- the review queue: every pending filing the user may see, and settling many at once ---------------------

def pending(v, actor, **kw):
    page = documents.list_documents(vault=v, actor=actor, suggestion_pending=True, sort="-id", **kw)
    assert page.total == len(page.items)
    return [d.id for d in page.items]


def test_the_queue_lists_pending_filings_only_and_only_what_the_user_may_see(filed, tmp_path):
    v, code, loan, card = filed
    person = documents.add_document(vault=v, actor="clara", customer_code=code, content=[b"notes of a call\n"],
                                    original_name="call.txt", category="communication").id  # nothing pending
    hers = customers.add_customer(vault=v, actor="admin", name="李娜", kind="person", tier="key", owner="olga").code
    olgas = ingest_papers(v, "admin", tmp_path / "more", hers, {"loan2.txt": LOAN + "第二份。\n"})["loan2.txt"].document_id
    assert pending(v, "clara") == sorted([loan, card, olgas], reverse=True) and person not in pending(v, "admin")
    assert pending(v, "clara", filing="auto-filed") == sorted([loan, olgas], reverse=True)
    assert pending(v, "clara", filing="waiting") == [card]
    assert pending(v, "clara", filing="waiting", customer_code=hers) == []
    assert pending(v, "olga") == [olgas]  # her own customers only
    assert dashboard.dashboard(vault=v, actor="clara").filings_to_confirm == 3
    assert dashboard.dashboard(vault=v, actor="olga").filings_to_confirm == 1
    documents.edit_document(vault=v, actor="max", document_id=card, sensitive=True)  # still pending
    assert pending(v, "max") == sorted([loan, card, olgas], reverse=True)
    assert pending(v, "clara") == sorted([loan, olgas], reverse=True)  # neither listed nor counted
    assert dashboard.dashboard(vault=v, actor="clara").filings_to_confirm == 2
    assert dashboard.dashboard(vault=v, actor="max").filings_to_confirm == 3
    for who in ("vera", "audrey"):  # the queue is for those who may settle it
        with pytest.raises(PermissionDenied):
            pending(v, who)
        assert dashboard.dashboard(vault=v, actor=who).filings_to_confirm is None
    with pytest.raises(InvalidInput, match="filing must be one of"):
        pending(v, "clara", filing="maybe")
    documents.accept_suggestion(vault=v, actor="clara", document_id=loan)
    assert pending(v, "max") == sorted([card, olgas], reverse=True)


def test_many_filings_are_settled_each_on_its_own(filed):
    v, code, loan, card = filed
    person = documents.add_document(vault=v, actor="clara", customer_code=code, content=[b"notes of a call\n"],
                                    original_name="call.txt", category="communication").id
    got = documents.accept_suggestions(vault=v, actor="clara", document_ids=[loan, 99999, person, card, loan])
    assert [i for i, _ in got] == [loan, 99999, person, card]  # in order, a repeat once
    assert (got[0][1].category, got[3][1].category, got[3][1].sensitivity) == ("loan", "id_document", "sensitive")
    assert isinstance(got[1][1], NotFound) and isinstance(got[2][1], NothingToChange)
    assert sorted(int(e.object_id) for e in audit.audit_log(vault=v, actor="admin",
                                                            action="document.filing_confirm")) == sorted([loan, card])
    assert pending(v, "admin") == []
    with pytest.raises(PermissionDenied):  # refused once, before any document is looked at
        documents.accept_suggestions(vault=v, actor="vera", document_ids=[loan, card])
    [denied] = [e for e in audit.audit_log(vault=v, actor="admin") if e.outcome == "denied"]
    assert (denied.actor, denied.action) == ("vera", "document.edit")
