"""Tampering is detected: "tampering with any audit row, any blob byte and any identifier field detected".

Audit rows are changed with raw SQL behind the services' back (as someone with write access to the database
but without the master key would); `audit.audit_verify` must then report ok=False and name the first broken
event. `audit_verify` reads the chain first and appends its own `audit.verify` event afterwards, so the
expectations below are computed from the rows present *before* the call.

Blob files are changed on disk byte by byte; reading must raise IntegrityFailure, an `integrity-failed` event
must be committed, and `check_vault` must list the problem. Sealed identifier fields are edited, swapped and
moved between customers; showing the customer must fail and `check_vault` must list it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from stdnum.cn import ric

from clientfolio import bootstrap
from clientfolio.adapters import orm
from clientfolio.adapters.crypto import encode_master_key, generate_master_key
from clientfolio.domain.audit import canonical_event, chain_hash
from clientfolio.domain.errors import BlobMissing, IntegrityFailure, PermissionDenied, WrongKey
from clientfolio.services import audit, customers, documents, versions
from clientfolio.services import vault as vault_services

RID = "11010519900307123" + ric.calc_check_digit("11010519900307123" + "0")
RID2 = "44030519851120456" + ric.calc_check_digit("44030519851120456" + "0")
SMALL = b"small secret\n"


# --- helpers ------------------------------------------------------------------------------------------

def sql(vault, statement: str, **params):
    with vault.uow() as uow:
        result = uow.session.execute(text(statement), params)
        rows = result.all() if result.returns_rows else None
        uow.commit()
    return rows


def seqs(vault) -> list[int]:
    return [r[0] for r in sql(vault, "SELECT seq FROM audit_events ORDER BY seq")]


def activity(vault) -> dict:
    """Some ordinary work: a customer, two documents, versions, an edit, reads. Ends with a normal commit."""
    c = customers.add_customer(vault=vault, actor="admin", name="张三", kind="person", tier="standard",
                               phone="13812345678", identifiers={"resident_id": RID, "passport": "E12345678"})
    other = customers.add_customer(vault=vault, actor="admin", name="李四", kind="person", tier="standard",
                                   identifiers={"resident_id": RID2})
    small = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=[SMALL],
                                   original_name="small.txt", category="other")
    versions.add_version(vault=vault, actor="admin", document_id=small.id, content=[b"small secret v2\n"])
    second = documents.add_document(vault=vault, actor="admin", customer_code=other.code,
                                    content=[b"%PDF-1.7\nsecond document\n"], original_name="b.pdf",
                                    category="contract", subtype="formal")
    documents.edit_document(vault=vault, actor="admin", document_id=second.id, title="新标题")
    read(vault, small.id, 1)
    customers.show_customer(vault=vault, actor="admin", code=c.code, reveal=True)
    return {"customer": c, "other": other, "small": small, "second": second}


def read(vault, document_id: int, version: int | None = None) -> bytes:
    return b"".join(versions.read_version(vault=vault, actor="admin", document_id=document_id,
                                          version=version).chunks)


def blob_of(vault, document_id: int, number: int) -> str:
    [(blob_id,)] = sql(vault, "SELECT blob_id FROM versions WHERE document_id = :d AND number = :n",
                       d=document_id, n=number)
    return blob_id


def integrity_events(vault) -> list[tuple]:
    return sql(vault, "SELECT seq, action, object_id, details FROM audit_events "
                      "WHERE outcome = 'integrity-failed' ORDER BY seq")


def verify(vault):
    """audit_verify, checking that it recorded its own verdict after the rows it read."""
    before = seqs(vault)
    report = audit.audit_verify(vault=vault, actor="admin")
    [(action, outcome, details)] = sql(vault, "SELECT action, outcome, details FROM audit_events "
                                              "WHERE seq = (SELECT max(seq) FROM audit_events)")
    assert (action, outcome) == ("audit.verify", "ok" if report.ok else "broken")
    assert json.loads(details) == {"events": report.events, "first_broken_seq": report.first_broken_seq}
    assert seqs(vault)[:-1] == before
    return report


# --- the audit chain ----------------------------------------------------------------------------------------

def test_an_untouched_chain_verifies(vault):
    activity(vault)
    n = len(seqs(vault))
    report = verify(vault)
    assert (report.ok, report.events, report.first_broken_seq) == (True, n, None)
    assert verify(vault).events == n + 1  # the first verify's own event is part of the chain


COLUMN_EDITS = {
    "actor": "UPDATE audit_events SET actor = 'mallory' WHERE seq = :s",
    "action": "UPDATE audit_events SET action = 'document.read' WHERE seq = :s",
    "object_type": "UPDATE audit_events SET object_type = 'vault' WHERE seq = :s",
    "object_id": "UPDATE audit_events SET object_id = '999' WHERE seq = :s",
    "customer_code": "UPDATE audit_events SET customer_code = 'C999999' WHERE seq = :s",
    "outcome": "UPDATE audit_events SET outcome = 'denied' WHERE seq = :s",
    "details": "UPDATE audit_events SET details = '{}' WHERE seq = :s",
    "details-whitespace": "UPDATE audit_events SET details = details || ' ' WHERE seq = :s",
    "hash": "UPDATE audit_events SET hash = :h WHERE seq = :s",
    "prev_hash": "UPDATE audit_events SET prev_hash = :h WHERE seq = :s",
}


def test_editing_any_column_of_a_middle_row_is_detected(vault):
    """Each column in turn on one vault: edit, verify (broken at that row), put the row back, verify (ok)."""
    activity(vault)
    all_seqs = seqs(vault)
    middle = all_seqs[len(all_seqs) // 2]
    columns = [c.name for c in orm.audit_events.columns if c.name != "seq"]
    [saved] = sql(vault, "SELECT * FROM audit_events WHERE seq = :s", s=middle)
    saved = dict(saved._mapping)
    for column in [*COLUMN_EDITS, "at"]:
        if column == "at":  # through the column's type, so each backend stores it in its own format
            t = orm.audit_events
            with vault.uow() as uow:
                at = uow.session.execute(select(t.c.at).where(t.c.seq == middle)).scalar_one()
                uow.session.execute(t.update().where(t.c.seq == middle).values(at=at + timedelta(seconds=1)))
                uow.commit()
        else:
            sql(vault, COLUMN_EDITS[column], s=middle, h=hashlib.sha256(b"forged").hexdigest())
        report = verify(vault)
        assert (report.ok, report.first_broken_seq, report.events) == (False, middle, middle - 1), column
        expected = "link to the previous event" if column == "prev_hash" else "does not match its hash"
        assert expected in report.reason, column
        sql(vault, "UPDATE audit_events SET " + ", ".join(f"{c} = :{c}" for c in columns) + " WHERE seq = :seq",
            **saved)
        assert verify(vault).ok, f"{column}: putting the row back did not mend the chain"
    assert set(COLUMN_EDITS) | {"at"} >= set(columns)  # every column but seq was tried (seq: below)


class Trail:
    """The audit rows and the head anchor, saved so each tampering case starts from the same intact state."""

    def __init__(self, vault):
        self.vault = vault
        t = orm.audit_events
        with vault.uow() as uow:
            self.rows = [dict(r._mapping) for r in uow.session.execute(select(t).order_by(t.c.seq))]
        self.anchor = (vault.home / "audit.head").read_bytes()

    def put_back(self) -> None:
        with self.vault.uow() as uow:
            uow.session.execute(orm.audit_events.delete())
            uow.session.execute(orm.audit_events.insert(), self.rows)
            uow.commit()
        (self.vault.home / "audit.head").write_bytes(self.anchor)


def _insert_forged(vault, seq: int, prev: str, like: int, action: str = "document.delete") -> None:
    sql(vault, "INSERT INTO audit_events (seq, at, actor, action, object_type, object_id, customer_code, outcome, "
               "details, prev_hash, hash) SELECT :s, at, actor, :a, object_type, object_id, customer_code, 'ok', "
               "'{}', :prev, :h FROM audit_events WHERE seq = :like",
        s=seq, a=action, prev=prev, h=hashlib.sha256(b"a guess").hexdigest(), like=like)


def _hash_of(vault, seq: int) -> str:
    return sql(vault, "SELECT hash FROM audit_events WHERE seq = :s", s=seq)[0][0]


def _delete(vault, n, m):
    sql(vault, "DELETE FROM audit_events WHERE seq = :s", s=m)
    return m, "a row is missing"


def _delete_first(vault, n, m):
    sql(vault, "DELETE FROM audit_events WHERE seq = 1")
    return 1, "a row is missing"


def _delete_newest(how_many):
    def apply(vault, n, m):
        sql(vault, "DELETE FROM audit_events WHERE seq > :s", s=n - how_many)
        return n - how_many + 1, "newest events were deleted"  # seen through the anchor, not the chain
    return apply


def _insert_at_end(vault, n, m):
    _insert_forged(vault, n + 1, _hash_of(vault, n), like=n, action="user.create")
    return n + 1, "does not match its hash"


def _insert_in_middle(vault, n, m):
    prev = _hash_of(vault, m - 1)
    sql(vault, "UPDATE audit_events SET seq = seq + 100000 WHERE seq >= :m", m=m)  # two steps: seq is the key
    sql(vault, "UPDATE audit_events SET seq = seq - 99999 WHERE seq >= 100000")
    _insert_forged(vault, m, prev, like=m + 1)
    return m, "does not match its hash"


def _swap(gap):
    def apply(vault, n, m):
        a, b = m - 1, m - 1 + gap
        sql(vault, "UPDATE audit_events SET seq = -1 WHERE seq = :a", a=a)
        sql(vault, "UPDATE audit_events SET seq = :a WHERE seq = :b", a=a, b=b)
        sql(vault, "UPDATE audit_events SET seq = :b WHERE seq = -1", b=b)
        return a, "link to the previous event"
    return apply


def _move_to_end(vault, n, m):
    sql(vault, "UPDATE audit_events SET seq = :e WHERE seq = 3", e=n + 1)
    return 3, "a row is missing"


def _rewrite_tail_with_another_key(vault, n, m):
    """The chain is keyed: recomputing every later hash with any other key still breaks at the edit."""
    guessed_key = os.urandom(32)
    with vault.uow() as uow:
        uow.session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = :s"), {"s": m})
        rows = [r for r in uow.audit.stream() if r.seq >= m - 1]
        prev = rows[0].hash
        for row in rows[1:]:
            new_hash = chain_hash(guessed_key, prev, canonical_event(row))
            uow.session.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                                {"p": prev, "h": new_hash, "s": row.seq})
            prev = new_hash
        uow.commit()
    return m, "does not match its hash"


def _relink_after_delete(vault, n, m):
    """Delete a row, renumber the rest and fix the next row's link: the keyed hashes still break."""
    prev = _hash_of(vault, m - 1)
    sql(vault, "DELETE FROM audit_events WHERE seq = :m", m=m)
    sql(vault, "UPDATE audit_events SET seq = seq + 100000 WHERE seq > :m", m=m)
    sql(vault, "UPDATE audit_events SET seq = seq - 100001 WHERE seq >= 100000")
    sql(vault, "UPDATE audit_events SET prev_hash = :p WHERE seq = :m", p=prev, m=m)
    return m, "does not match its hash"


STRUCTURAL = {
    "delete-middle-row": _delete,
    "delete-first-row": _delete_first,
    "delete-newest-row": _delete_newest(1),
    "delete-newest-3-rows": _delete_newest(3),
    "insert-forged-row-at-end": _insert_at_end,
    "insert-forged-row-in-middle": _insert_in_middle,
    "swap-adjacent-rows": _swap(1),
    "swap-rows-3-apart": _swap(3),
    "move-row-to-end": _move_to_end,
    "rewrite-tail-with-another-key": _rewrite_tail_with_another_key,
    "delete-renumber-and-relink": _relink_after_delete,
}


def test_deleted_inserted_and_reordered_rows_are_detected(vault):
    """Each case from the same intact trail (put back between cases; one vault keeps the run short)."""
    activity(vault)
    n = len(seqs(vault))
    m = n // 2
    assert vault.audit_anchor() == (n, _hash_of(vault, n))
    saved = Trail(vault)
    for case, apply in STRUCTURAL.items():
        first_broken, reason = apply(vault, n, m)
        report = verify(vault)
        assert (report.ok, report.first_broken_seq, report.events) == (False, first_broken, first_broken - 1), case
        assert reason in report.reason, (case, report.reason)
        saved.put_back()
        assert verify(vault).ok, f"{case}: the trail was not put back"
        saved.put_back()


def test_the_limits_of_the_anchor(vault, vault_home):
    """What the design cannot see, written down: the anchor is a file beside the database.

    - with the anchor file deleted too, a chain whose newest rows were deleted is a valid shorter chain
      (a restore drill, which has no anchor, verifies with `verify_chain_unattended` and has the same limit);
    - an anchor replaced by an older authentic copy hides the events committed after it.
    A forged (not authentic) anchor is ignored rather than trusted.
    """
    activity(vault)
    anchor_file = vault_home / "audit.head"
    older = anchor_file.read_text()  # an authentic anchor, saved by the attacker
    customers.show_customer(vault=vault, actor="admin", code="C000001", reveal=True)
    n = len(seqs(vault))
    seq, head, mac = anchor_file.read_text().split()
    anchor_file.write_text(f"{int(seq) + 5} {head} {mac}\n")
    assert vault.audit_anchor() is None  # forged: ignored

    anchor_file.write_text(older)  # authentic but old: the event after it can be removed unseen
    sql(vault, "DELETE FROM audit_events WHERE seq = :s", s=n)
    assert verify(vault).ok

    n = len(seqs(vault))
    sql(vault, "DELETE FROM audit_events WHERE seq = :s", s=n)
    anchor_file.unlink()
    assert vault.audit_anchor() is None
    report = verify(vault)
    assert (report.ok, report.events) == (True, n - 1)


def test_a_tampered_chain_stays_broken_after_more_activity(vault):
    activity(vault)
    sql(vault, "UPDATE audit_events SET details = '{}' WHERE seq = 2")
    customers.add_customer(vault=vault, actor="admin", name="王五", kind="person", tier="prospect")
    assert verify(vault).first_broken_seq == 2
    assert verify(vault).first_broken_seq == 2


def test_deleting_a_trailing_denial_event_is_detected(staffed):
    vault = staffed
    activity(vault)
    with pytest.raises(PermissionDenied):
        customers.add_customer(vault=vault, actor="vera", name="X", kind="person", tier="standard")
    n = len(seqs(vault))
    [(action, outcome)] = sql(vault, "SELECT actor, outcome FROM audit_events WHERE seq = :s", s=n)
    assert (action, outcome) == ("vera", "denied")
    sql(vault, "DELETE FROM audit_events WHERE seq = :s", s=n)
    report = verify(vault)
    assert (report.ok, report.first_broken_seq) == (False, n)


# --- blob files ---------------------------------------------------------------------------------------------

def test_flipping_any_byte_of_a_blob_file_is_detected_and_audited(vault):
    made = activity(vault)
    doc_id = made["small"].id
    blob_id = blob_of(vault, doc_id, 1)
    path = vault.blobs.raw_path(blob_id)
    original = path.read_bytes()
    assert len(original) == 76 + len(SMALL) + 16  # header, one sealed chunk, its tag
    failures_before = len(integrity_events(vault))
    for position in range(len(original)):
        damaged = bytearray(original)
        damaged[position] ^= 0x01  # a single bit
        path.write_bytes(bytes(damaged))
        download = versions.read_version(vault=vault, actor="admin", document_id=doc_id, version=1)
        received = []
        with pytest.raises(IntegrityFailure) as caught:
            for chunk in download.chunks:
                received.append(chunk)
        assert caught.value.message.startswith("integrity check failed"), (position, caught.value.message)
        assert received == [], position  # no unauthenticated byte is ever handed out
        events = integrity_events(vault)
        assert len(events) == failures_before + position + 1, position
        _, action, object_id, details = events[-1]
        assert (action, object_id) == ("document.read", str(doc_id))
        assert json.loads(details)["error"].startswith("integrity check failed")
        if position % 13 == 0 or position < 5:  # the whole-vault check, at a spread of positions
            report = vault_services.check_vault(vault=vault, actor="admin")
            assert [p for p in report.problems if f"document {doc_id} version 1:" in p], (position, report.problems)
    path.write_bytes(original)
    assert read(vault, doc_id, 1) == SMALL
    assert vault_services.check_vault(vault=vault, actor="admin").ok
    assert verify(vault).ok  # the integrity events were appended properly to the chain


def _damage_cases(original: bytes) -> dict[str, bytes | None]:
    return {"empty": b"", "short-header": original[:10], "header-only": original[:76],
            "header-and-a-bit": original[:80], "last-byte-missing": original[:-1],
            "appended": original + b"\x00", "appended-chunk": original + original[76:], "deleted": None}


def test_truncated_extended_and_deleted_blob_files_are_detected(vault):
    made = activity(vault)
    doc_id = made["small"].id
    path = vault.blobs.raw_path(blob_of(vault, doc_id, 1))
    original = path.read_bytes()
    for case, content in _damage_cases(original).items():
        if content is None:
            path.unlink()
        else:
            path.write_bytes(content)
        before = len(integrity_events(vault))
        with pytest.raises(IntegrityFailure) as caught:
            read(vault, doc_id, 1)
        if case == "deleted":
            assert isinstance(caught.value, BlobMissing)
        else:
            assert caught.value.message.startswith("integrity check failed"), case
        assert len(integrity_events(vault)) == before + 1, case
        report = vault_services.check_vault(vault=vault, actor="admin")
        assert any(f"document {doc_id} version 1:" in p for p in report.problems), case
        with pytest.raises(IntegrityFailure):  # restoring damaged bytes as a new version is refused too
            versions.restore_version(vault=vault, actor="admin", document_id=doc_id, version=1)
        path.write_bytes(original)
    assert read(vault, doc_id, 1) == SMALL


def test_multi_chunk_blobs_detect_reordered_and_dropped_chunks(vault):
    c = customers.add_customer(vault=vault, actor="admin", name="张三", kind="person", tier="standard")
    size = vault.blobs.chunk_size
    content = os.urandom(2 * size + 1000)
    doc = documents.add_document(vault=vault, actor="admin", customer_code=c.code, content=[content],
                                 original_name="big.bin", category="other")
    path = vault.blobs.raw_path(blob_of(vault, doc.id, 1))
    original = path.read_bytes()
    sealed = size + 16
    header, c0, c1, c2 = (original[:76], original[76:76 + sealed], original[76 + sealed:76 + 2 * sealed],
                          original[76 + 2 * sealed:])
    assert header + c0 + c1 + c2 == original and len(c2) == 1000 + 16
    cases = {"swap-first-two": header + c1 + c0 + c2, "drop-middle": header + c0 + c2,
             "drop-last": header + c0 + c1, "drop-first": header + c1 + c2, "repeat-first": header + c0 + c0 + c1 + c2}
    for case, damaged in cases.items():
        path.write_bytes(damaged)
        with pytest.raises(IntegrityFailure):
            read(vault, doc.id)
        assert not vault_services.check_vault(vault=vault, actor="admin").ok, case
    path.write_bytes(original)
    assert hashlib.sha256(read(vault, doc.id)).digest() == hashlib.sha256(content).digest()


def test_swapping_two_blob_files_is_detected(vault):
    made = activity(vault)
    a_doc, b_doc = made["small"].id, made["second"].id
    a, b = vault.blobs.raw_path(blob_of(vault, a_doc, 1)), vault.blobs.raw_path(blob_of(vault, b_doc, 1))
    a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    a.write_bytes(b_bytes)
    b.write_bytes(a_bytes)
    for doc_id in (a_doc, b_doc):
        with pytest.raises(IntegrityFailure, match="does not unwrap"):
            read(vault, doc_id, 1)
    problems = vault_services.check_vault(vault=vault, actor="admin").problems
    assert any(f"document {a_doc} version 1" in p for p in problems)
    assert any(f"document {b_doc} version 1" in p for p in problems)
    # copying a whole file over another (both then equal) is caught the same way
    a.write_bytes(a_bytes)
    shutil.copyfile(a, b)
    with pytest.raises(IntegrityFailure):
        read(vault, b_doc, 1)


def test_pointing_a_version_at_another_blob_or_hash_is_detected(vault):
    made = activity(vault)
    doc_id = made["small"].id
    other_blob = blob_of(vault, made["second"].id, 1)
    sql(vault, "UPDATE versions SET blob_id = :b WHERE document_id = :d AND number = 1", b=other_blob, d=doc_id)
    with pytest.raises(IntegrityFailure, match="integrity check failed"):
        read(vault, doc_id, 1)  # (the sealed original name is bound to the blob id, so it fails first)
    assert any(f"document {doc_id} version 1" in p
               for p in vault_services.check_vault(vault=vault, actor="admin").problems)
    sql(vault, "UPDATE versions SET blob_id = :b, sha256 = :h WHERE document_id = :d AND number = 2",
        b=blob_of(vault, doc_id, 2), h=hashlib.sha256(b"something else").hexdigest(), d=doc_id)
    with pytest.raises(IntegrityFailure, match="recorded SHA-256"):
        read(vault, doc_id, 2)


# --- identifier fields ----------------------------------------------------------------------------------

def _identifier(vault, code: str, kind: str) -> tuple[int, bytes, str]:
    [(ident_id, sealed, lookup)] = sql(
        vault, "SELECT i.id, i.sealed, i.lookup_hash FROM customer_identifiers i JOIN customers c "
               "ON c.id = i.customer_id WHERE c.code = :c AND i.kind = :k", c=code, k=kind)
    return ident_id, bytes(sealed), lookup


def _set_sealed(vault, ident_id: int, sealed: bytes) -> None:
    sql(vault, "UPDATE customer_identifiers SET sealed = :v WHERE id = :i", v=sealed, i=ident_id)


def _flip(data: bytes, position: int) -> bytes:
    out = bytearray(data)
    out[position] ^= 0x01
    return bytes(out)


def _tamper_identifier(vault, case: str, a: str, b: str) -> set[str]:
    """Apply one kind of tampering; returns the customer codes that must now fail."""
    a_id, a_sealed, a_lookup = _identifier(vault, a, "resident_id")
    b_id, b_sealed, b_lookup = _identifier(vault, b, "resident_id")
    if case.startswith("flip-"):
        position = {"flip-nonce": 0, "flip-ciphertext": 14, "flip-tag": len(a_sealed) - 1}[case]
        _set_sealed(vault, a_id, _flip(a_sealed, position))
        return {a}
    if case == "truncate-sealed":
        _set_sealed(vault, a_id, a_sealed[:-1])
        return {a}
    if case == "swap-sealed":
        _set_sealed(vault, a_id, b_sealed)
        _set_sealed(vault, b_id, a_sealed)
        return {a, b}
    if case == "swap-sealed-and-hash":
        sql(vault, "UPDATE customer_identifiers SET sealed = :s, lookup_hash = :h WHERE id = :i",
            s=b_sealed, h=b_lookup, i=a_id)
        sql(vault, "UPDATE customer_identifiers SET sealed = :s, lookup_hash = :h WHERE id = :i",
            s=a_sealed, h=a_lookup, i=b_id)
        return {a, b}
    if case == "change-lookup-hash":
        sql(vault, "UPDATE customer_identifiers SET lookup_hash = :h WHERE id = :i", h="0" * 64, i=a_id)
        return {a}
    if case == "copy-lookup-hash":  # make a look like the holder of b's number
        sql(vault, "UPDATE customer_identifiers SET lookup_hash = :h WHERE id = :i", h=b_lookup, i=a_id)
        return {a}
    if case == "move-row-to-other-customer":
        passport_id, _, _ = _identifier(vault, a, "passport")
        sql(vault, "UPDATE customer_identifiers SET customer_id = (SELECT id FROM customers WHERE code = :b) "
                   "WHERE id = :i", b=b, i=passport_id)
        return {b}
    if case == "change-kind":
        passport_id, _, _ = _identifier(vault, a, "passport")
        sql(vault, "UPDATE customer_identifiers SET kind = 'credit_code' WHERE id = :i", i=passport_id)
        return {a}
    raise AssertionError(case)


IDENTIFIER_CASES = ["flip-nonce", "flip-ciphertext", "flip-tag", "truncate-sealed", "swap-sealed",
                    "swap-sealed-and-hash", "change-lookup-hash", "copy-lookup-hash", "move-row-to-other-customer",
                    "change-kind"]


def test_tampered_identifier_fields_are_detected(vault):
    """Each case on fresh customers (one vault for all cases keeps the run short)."""
    for n, case in enumerate(IDENTIFIER_CASES):
        rid_a = f"110105199003{n + 1:02d}123"  # region, birth date, sequence: 17 digits, then the check digit
        rid_b = f"440305198511{n + 1:02d}456"
        rid_a += ric.calc_check_digit(rid_a + "0")
        rid_b += ric.calc_check_digit(rid_b + "0")
        a = customers.add_customer(vault=vault, actor="admin", name=f"甲{n}", kind="person", tier="standard",
                                   identifiers={"resident_id": rid_a, "passport": f"E{n:08d}"}).code
        b = customers.add_customer(vault=vault, actor="admin", name=f"乙{n}", kind="person", tier="standard",
                                   identifiers={"resident_id": rid_b}).code
        broken = _tamper_identifier(vault, case, a, b)
        for code in broken:
            for reveal in (False, True):
                with pytest.raises(IntegrityFailure, match="integrity check failed"):
                    customers.show_customer(vault=vault, actor="admin", code=code, reveal=reveal)
        with pytest.raises(IntegrityFailure):
            customers.list_customers(vault=vault, actor="admin")
        report = vault_services.check_vault(vault=vault, actor="admin")
        for code in broken:
            assert any(p.startswith(f"customer {code}:") for p in report.problems), (case, report.problems)
        assert all(not p.startswith("document") for p in report.problems)
        # put things right again by removing the damaged customers' identifiers, for the next case
        sql(vault, "DELETE FROM customer_identifiers WHERE customer_id IN "
                   "(SELECT id FROM customers WHERE code IN (:a, :b))", a=a, b=b)
        assert vault_services.check_vault(vault=vault, actor="admin").ok, case


@pytest.mark.parametrize("column", ["phone_sealed", "email_sealed"])
def test_tampered_contact_fields_are_listed_by_check(vault, column):
    c = customers.add_customer(vault=vault, actor="admin", name="张三", kind="person", tier="standard",
                               phone="13812345678", email="zhang@example.com")
    [(sealed,)] = sql(vault, f"SELECT {column} FROM customers WHERE code = :c", c=c.code)  # noqa: S608
    sql(vault, f"UPDATE customers SET {column} = :v WHERE code = :c", v=_flip(bytes(sealed), 20), c=c.code)  # noqa: S608
    with pytest.raises(IntegrityFailure):
        customers.show_customer(vault=vault, actor="admin", code=c.code)
    report = vault_services.check_vault(vault=vault, actor="admin")
    assert any(c.code in p for p in report.problems)


def test_swapped_contact_fields_fail_when_shown(vault):
    a = customers.add_customer(vault=vault, actor="admin", name="甲", kind="person", tier="standard",
                               phone="13812345678")
    b = customers.add_customer(vault=vault, actor="admin", name="乙", kind="person", tier="standard",
                               phone="13912345678")
    [(pa,)] = sql(vault, "SELECT phone_sealed FROM customers WHERE code = :c", c=a.code)
    [(pb,)] = sql(vault, "SELECT phone_sealed FROM customers WHERE code = :c", c=b.code)
    sql(vault, "UPDATE customers SET phone_sealed = :v WHERE code = :c", v=bytes(pb), c=a.code)
    sql(vault, "UPDATE customers SET phone_sealed = :v WHERE code = :c", v=bytes(pa), c=b.code)
    for code in (a.code, b.code):
        with pytest.raises(IntegrityFailure):
            customers.show_customer(vault=vault, actor="admin", code=code)


def test_a_tampered_original_name_fails_when_listed(vault):
    made = activity(vault)
    doc_id = made["small"].id
    [(sealed,)] = sql(vault, "SELECT original_name_sealed FROM versions WHERE document_id = :d AND number = 1",
                      d=doc_id)
    sql(vault, "UPDATE versions SET original_name_sealed = :v WHERE document_id = :d AND number = 1",
        v=_flip(bytes(sealed), 15), d=doc_id)
    with pytest.raises(IntegrityFailure):
        versions.list_versions(vault=vault, actor="admin", document_id=doc_id)


def test_an_identifier_integrity_failure_is_audited(vault):
    c = customers.add_customer(vault=vault, actor="admin", name="张三", kind="person", tier="standard",
                               identifiers={"resident_id": RID})
    ident_id, sealed, _ = _identifier(vault, c.code, "resident_id")
    _set_sealed(vault, ident_id, _flip(sealed, 14))
    with pytest.raises(IntegrityFailure):
        customers.show_customer(vault=vault, actor="admin", code=c.code)
    assert integrity_events(vault)


# --- the master key -------------------------------------------------------------------------------------

def test_opening_with_another_valid_master_key_is_refused(vault_home, monkeypatch):
    bootstrap.open_vault(vault_home)  # the right key (from the key file) opens it
    other = generate_master_key()
    monkeypatch.setenv("CLIENTFOLIO_MASTER_KEY", base64.urlsafe_b64encode(other).decode())
    with pytest.raises(WrongKey, match="does not match this vault"):
        bootstrap.open_vault(vault_home)
    monkeypatch.setenv("CLIENTFOLIO_MASTER_KEY", encode_master_key(other))  # unpadded form too
    with pytest.raises(WrongKey):
        bootstrap.open_vault(vault_home)
    monkeypatch.setenv("CLIENTFOLIO_MASTER_KEY", "not a key!")
    with pytest.raises(WrongKey, match="malformed") as caught:
        bootstrap.open_vault(vault_home)
    assert "not a key" not in caught.value.message
    monkeypatch.setenv("CLIENTFOLIO_MASTER_KEY", encode_master_key(other)[:20])
    with pytest.raises(WrongKey):
        bootstrap.open_vault(vault_home)
    monkeypatch.delenv("CLIENTFOLIO_MASTER_KEY")
    assert bootstrap.open_vault(vault_home).key_id
    # the right key given in the environment (and no key file) opens it
    right = (vault_home / "master.key").read_text().strip()
    (vault_home / "master.key").unlink()
    monkeypatch.setenv("CLIENTFOLIO_MASTER_KEY", right)
    assert audit.audit_verify(vault=bootstrap.open_vault(vault_home), actor="admin").ok


