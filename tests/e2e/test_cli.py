"""The command line end to end: init, the customer → document → audit flow, roles, JSON, checks, backups.

Every call runs the installed `clientfolio` command in a subprocess against a vault under tmp_path.
"""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from .cfcli import (EMAIL, PHONE, RESIDENT_ID, Cli, assert_error, assert_no_secret, assert_one_line, blob_files,
                    blob_path, call, clean_env, key_text, new_key_text, pdf_bytes, sha256_file, temp_files)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_the_home_and_a_second_init_is_refused(cli):
    first = cli("init")
    assert "vault created" in first.out
    home = cli.home
    key = home / "master.key"
    assert key.is_file() and _mode(key) == 0o600
    assert (home / "clientfolio.db").is_file()
    assert (home / "blobs").is_dir()
    assert _mode(home) & 0o077 == 0 and _mode(home / "blobs") & 0o077 == 0  # private folders
    key_before = key.read_bytes()

    second = cli("init", rc=7)
    assert_error(second, 7, "already exists")
    assert key.read_bytes() == key_before  # the key of an existing vault is never replaced
    status = cli.json("status")
    assert status["users"] == 1 and status["customers"] == 0
    assert_no_secret(cli.history, key_text(home))


def test_error_is_one_line_even_for_long_paths(tmp_path):
    cli = Cli(tmp_path / "customer-records-of-the-shanghai-branch-office" / "clientfolio-data")
    cli("init")
    again = cli("init", rc=7)
    assert_error(again, 7, "already exists")
    assert_one_line(again)


def test_master_key_from_the_environment_instead_of_a_key_file(cli):
    key = new_key_text()
    env = clean_env(CLIENTFOLIO_MASTER_KEY=key)
    cli("init", env=env)
    assert not (cli.home / "master.key").exists()  # the injected key is not written to disk
    added = cli.json("customer", "add", "--name", "李娜", "--kind", "person", env=env)
    listed, without_key, other_key, malformed = cli.many(
        call("customer", "list", "--json", env=env),
        call("customer", "list", rc=None),  # no variable, no key file
        call("customer", "list", rc=None, env=clean_env(CLIENTFOLIO_MASTER_KEY=new_key_text())),
        call("customer", "list", rc=None, env=clean_env(CLIENTFOLIO_MASTER_KEY="not a key!" + key[:20])))
    assert [c["code"] for c in listed.json["items"]] == [added["code"]]
    assert_error(without_key, 8, "key")
    assert_error(other_key, 8, "master key does not match")
    assert_error(malformed, 8, "malformed")
    assert_no_secret(cli.history, key, key[:20])


def test_demo_then_status_json(cli):
    loaded = cli.json("demo", "--init")
    status, text_status, admin_docs, reader_docs = cli.many(
        call("status", "--json"), call("status"), call("doc", "list", "--json"),
        call("doc", "list", "--json", user="reader"))
    s = status.json
    assert s["customers"] == len(loaded["customers"]) > 0
    assert s["documents"] == loaded["documents"] == admin_docs.json["total"] > 0
    assert s["versions"] >= s["documents"]
    assert s["users"] == len(loaded["users"]) + 1  # the demo's users and the admin
    assert s["audit_events"] > 0
    assert "customers" in text_status.out and "clientfolio --home" in text_status.out
    reader = reader_docs.json
    assert all(d["sensitivity"] != "sensitive" for d in reader["items"])  # a viewer sees no sensitive document
    assert reader["total"] < admin_docs.json["total"]
    assert_no_secret(cli.history, key_text(cli.home))
    # The demo users (and the admin, who had none) can sign in with the password the demo prints.
    assert loaded["demo_password"] and set(loaded["users_with_demo_password"]) == set(loaded["users"]) | {"admin"}


def test_full_flow(vault_cli, tmp_path):
    cli, home = vault_cli, vault_cli.home
    files, out = tmp_path / "files", tmp_path / "out"
    files.mkdir(), out.mkdir()
    f1, f2 = files / "contract v1.pdf", files / "contract v2.pdf"
    f1.write_bytes(pdf_bytes("contract v1"))
    f2.write_bytes(pdf_bytes("contract v2"))

    # -- customers ---------------------------------------------------------------------------------------
    added = cli.json("customer", "add", "--name", "张伟", "--kind", "person", "--tier", "key", "--phone", PHONE,
                     "--email", EMAIL, "--resident-id", RESIDENT_ID)
    code = added["code"]
    assert isinstance(code, str) and code
    assert (added["name"], added["kind"], added["tier"], added["email"]) == ("张伟", "person", "key", EMAIL)
    assert added["phone"].endswith(PHONE)
    assert [(i["kind"], i["masked"]) for i in added["identifiers"]] == [("resident_id", True)]
    edited = cli.json("customer", "edit", code, "--tier", "standard", "--name", "张伟伟")
    assert (edited["code"], edited["name"], edited["tier"]) == (code, "张伟伟", "standard")

    listed, global_json, queried, shown, shown_text, found = cli.many(
        call("customer", "list", "--json"), call("--json", "customer", "list"),  # --json anywhere on the line
        call("customer", "list", "--query", "张", "--json"),
        call("customer", "show", code, "--json"), call("customer", "show", code),
        call("customer", "find", "--kind", "resident_id", RESIDENT_ID, "--json"))
    assert [c["code"] for c in listed.json["items"]] == [code] and listed.json["total"] == 1
    assert global_json.json == listed.json
    assert [c["code"] for c in queried.json["items"]] == [code]
    assert shown.json["tier"] == "standard" and shown.json["identifiers"][0]["masked"] is True
    assert code in shown_text.out and "张伟伟" in shown_text.out
    assert [c["code"] for c in found.json] == [code]

    # -- users -------------------------------------------------------------------------------------------
    vera = cli.json("user", "add", "vera", "--role", "viewer")
    assert (vera["name"], vera["role"], vera["own_customers_only"]) == ("vera", "viewer", False)
    olga = cli.json("user", "add", "olga", "--role", "viewer", "--own-customers-only")
    assert olga["own_customers_only"] is True
    promoted = cli.json("user", "set-role", "olga", "--role", "clerk")
    assert (promoted["role"], promoted["own_customers_only"]) == ("clerk", True)
    users = {u["name"]: u for u in cli.json("user", "list")}
    assert {n: u["role"] for n, u in users.items()} == {"admin": "admin", "vera": "viewer", "olga": "clerk"}

    # -- documents and versions --------------------------------------------------------------------------
    doc = cli.json("doc", "add", f1, "--customer", code, "--category", "contract", "--subtype", "formal",
                   "--title", "T", "--tags", "a,b", "--expires", "2030-01-01")
    doc_id = doc["id"]
    assert isinstance(doc_id, int)
    assert (doc["version"], doc["sha256"], doc["size"]) == (1, sha256_file(f1), f1.stat().st_size)
    assert (doc["customer"], doc["category"], doc["subtype"], doc["title"]) == (code, "contract", "formal", "T")
    assert doc["tags"] == ["a", "b"] and doc["expires_on"] == "2030-01-01" and doc["status"] == "active"
    v2 = cli.json("doc", "add-version", doc_id, f2, "--note", "rescanned")
    assert (v2["id"], v2["version"], v2["sha256"]) == (doc_id, 2, sha256_file(f2))

    out_v1 = out / "v1-copy.pdf"
    listing, shown_doc, history, got, got_latest, diff, by_filter, as_vera, as_olga = cli.many(
        call("doc", "list", "--json"), call("doc", "show", doc_id, "--json"),
        call("doc", "versions", doc_id, "--json"),
        call("doc", "get", doc_id, "--version", "1", "-o", out_v1, "--json"),
        call("doc", "get", doc_id, "-o", out),  # into a folder, under the canonical name
        call("doc", "diff", doc_id, "1", "2", "--json"),
        call("doc", "list", "--customer", code, "--tag", "a", "--expires-before", "2031-01-01", "--json"),
        call("doc", "list", "--json", user="vera"),
        call("doc", "list", "--json", user="olga"))  # owns no customer
    items = {d["id"]: d for d in listing.json["items"]}
    assert items[doc_id]["version"] == 2 and items[doc_id]["sha256"] == sha256_file(f2)
    assert shown_doc.json["version"] == 2 and shown_doc.json["tags"] == ["a", "b"]
    versions = history.json
    assert [(v["version"], v["sha256"]) for v in versions] == [(1, sha256_file(f1)), (2, sha256_file(f2))]
    assert versions[1]["note"] == "rescanned" and versions[0]["original_name"] == f1.name
    assert got.json["version"] == 1 and got.json["sha256"] == sha256_file(f1)
    assert out_v1.read_bytes() == f1.read_bytes()  # byte-identical
    latest = out / versions[1]["canonical_name"]
    assert latest.read_bytes() == f2.read_bytes()
    assert not [p for p in out.iterdir() if "partial" in p.name]
    assert diff.json["a"]["version"] == 1 and diff.json["b"]["version"] == 2
    assert "sha256" in diff.json["changed_fields"]
    assert [d["id"] for d in by_filter.json["items"]] == [doc_id]
    assert [d["id"] for d in as_vera.json["items"]] == [doc_id]
    assert as_olga.json["total"] == 0 and as_olga.json["items"] == []

    restored = cli.json("doc", "restore", doc_id, "--version", "1")
    assert (restored["id"], restored["version"], restored["sha256"]) == (doc_id, 3, sha256_file(f1))

    # -- permissions: a viewer may read but not delete --------------------------------------------------
    three, denied, denied_reveal, vera_reads = cli.many(
        call("doc", "versions", doc_id, "--json"),
        call("doc", "delete", doc_id, user="vera", rc=None),
        call("customer", "show", code, "--reveal", user="vera", rc=None),
        call("doc", "get", doc_id, "-o", out / "vera.pdf", "--json", user="vera"))
    assert [v["version"] for v in three.json] == [1, 2, 3]  # history is never rewritten
    assert three.json[2]["sha256"] == three.json[0]["sha256"]
    assert_error(denied, 4, "permission denied")
    assert_one_line(denied)
    assert_error(denied_reveal, 4, "permission denied")
    assert (out / "vera.pdf").read_bytes() == f1.read_bytes()
    assert vera_reads.json["version"] == 3

    deleted = cli.json("doc", "delete", doc_id)
    assert deleted["status"] == "deleted"
    after_delete, with_deleted, doc_log, vera_log, verify, check, status, revealed = cli.many(
        call("doc", "list", "--json"), call("doc", "list", "--deleted", "--json"),
        call("audit", "log", "--customer", code, "--action", "document.*", "--json"),
        call("audit", "log", "--by", "vera", "--json"),
        call("audit", "verify", "--json"), call("check", "--json"), call("status", "--json"),
        call("customer", "show", code, "--reveal", "--json"))
    assert after_delete.json["total"] == 0
    assert [(d["id"], d["status"]) for d in with_deleted.json["items"]] == [(doc_id, "deleted")]

    events = doc_log.json
    assert events and all(e["action"].startswith("document.") and e["customer"] == code for e in events)
    actions = {(e["action"], e["actor"], e["outcome"]) for e in events}
    assert {("document.create", "admin", "ok"), ("document.read", "admin", "ok"),
            ("document.delete", "vera", "denied"), ("document.delete", "admin", "ok")} <= actions
    assert [e["seq"] for e in events] == sorted((e["seq"] for e in events), reverse=True)  # newest first
    by_vera = vera_log.json
    assert by_vera and all(e["actor"] == "vera" for e in by_vera)
    assert {("document.delete", "denied"), ("document.read", "ok")} <= {(e["action"], e["outcome"]) for e in by_vera}

    assert verify.json["ok"] is True and verify.json["first_broken_seq"] is None
    assert verify.json["events"] >= len(events)
    assert check.json["ok"] is True and check.json["problems"] == [] and check.json["unreferenced_blobs"] == []
    assert check.json["versions_checked"] == 3 and check.json["identifiers_checked"] == 1
    assert status.json["documents"] == 0 and status.json["customers"] == 1  # a deleted document is not counted

    # -- secrets -----------------------------------------------------------------------------------------
    assert revealed.json["identifiers"][0] == {"kind": "resident_id", "value": RESIDENT_ID, "masked": False}
    everything_but_reveal = [r for r in cli.history if r is not revealed]
    assert_no_secret(everything_but_reveal, RESIDENT_ID, RESIDENT_ID[6:14])  # not even the birth date
    assert_no_secret(cli.history, key_text(home))
    full_log = cli.json("audit", "log", "--limit", "1000")
    assert RESIDENT_ID not in str(full_log)
    assert ("identifier.unmask", "admin", "ok") in {(e["action"], e["actor"], e["outcome"]) for e in full_log}
    assert not temp_files(home)


def test_check_reports_and_gc_removes_an_orphan_blob(vault_cli, tmp_path):
    cli, home = vault_cli, vault_cli.home
    code = cli.json("customer", "add", "--name", "陈静", "--kind", "person")["code"]
    f = tmp_path / "scan.pdf"
    f.write_bytes(pdf_bytes("orphan source"))
    doc_id = cli.json("doc", "add", f, "--customer", code, "--category", "contract")["id"]
    (blob_id,) = blob_files(home)
    orphan = "f" * 8 + blob_id[8:] if blob_id[:8] != "f" * 8 else "e" * 8 + blob_id[8:]
    orphan_path = blob_path(home, orphan)
    orphan_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(blob_path(home, blob_id), orphan_path)
    stale = home / "blobs" / ".tmp" / "0123456789abcdef0123456789abcdef.part"  # as a crash mid-upload leaves
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"half an upload")

    report = cli.json("check")
    assert report["ok"] is True and report["problems"] == []  # an orphan is not a problem
    assert report["unreferenced_blobs"] == [orphan] and report["stale_temp_files"] == 1
    kept = cli.json("check", "--gc")  # the default grace period spares a young orphan
    assert kept["removed_blobs"] == 0 and orphan_path.exists() and stale.exists()

    collected = cli.json("check", "--gc", "--grace", "0")
    assert collected["removed_blobs"] == 1
    assert not orphan_path.exists() and not stale.exists()
    assert blob_files(home) == {blob_id}
    after, got = cli.many(call("check", "--json"), call("doc", "get", doc_id, "-o", tmp_path / "back.pdf"))
    assert after.json["unreferenced_blobs"] == [] and after.json["stale_temp_files"] == 0 and after.json["ok"]
    assert (tmp_path / "back.pdf").read_bytes() == f.read_bytes()


def test_backup_create_verify_restore_round_trip(vault_cli, tmp_path):
    cli, home = vault_cli, vault_cli.home
    dest, restored_home = tmp_path / "backups", tmp_path / "restored"
    code = cli.json("customer", "add", "--name", "刘洋", "--kind", "person", "--resident-id", RESIDENT_ID)["code"]
    marker = b"PLAINTEXT-MARKER-" + b"x" * 64
    f1, f2 = tmp_path / "one.pdf", tmp_path / "two.pdf"
    f1.write_bytes(pdf_bytes("one") + marker)
    f2.write_bytes(pdf_bytes("two") + marker)
    doc_id = cli.json("doc", "add", f1, "--customer", code, "--category", "contract")["id"]
    cli.json("doc", "add-version", doc_id, f2)

    created = cli.json("backup", "create", dest)
    assert created["copied"] >= 2
    verified = cli.json("backup", "verify", dest)
    assert verified["ok"] is True and verified["problems"] == [] and verified["files_checked"] >= 3
    again = cli.json("backup", "create", dest)  # incremental: the blobs are already there
    assert again["snapshot"] != created["snapshot"] and again["bytes_copied"] < created["bytes_copied"]

    key = key_text(home)
    for path in dest.rglob("*"):  # the backup holds neither the key nor any plaintext
        if path.is_file():
            data = path.read_bytes()
            assert key.encode() not in data and marker not in data and RESIDENT_ID.encode() not in data, path

    result = cli.json("backup", "restore", dest, "--home", restored_home, "--key-file", home / "master.key")
    assert result["audit_ok"] is True and result["problems"] == [] and result["versions_checked"] == 2
    assert _mode(restored_home / "master.key") == 0o600

    again_restore = cli("backup", "restore", dest, "--home", restored_home, "--key-file", home / "master.key",
                        rc=None)
    assert_error(again_restore, 7, "not empty")  # never over an existing folder

    r = Cli(restored_home)  # `restore` already ran check and audit verify on the result (audit_ok, problems)
    vers, got1, got2 = r.many(call("doc", "versions", doc_id, "--json"),
                              call("doc", "get", doc_id, "--version", "1", "-o", tmp_path / "r1.pdf"),
                              call("doc", "get", doc_id, "-o", tmp_path / "r2.pdf"))
    assert [v["sha256"] for v in vers.json] == [sha256_file(f1), sha256_file(f2)]
    assert (tmp_path / "r1.pdf").read_bytes() == f1.read_bytes()
    assert (tmp_path / "r2.pdf").read_bytes() == f2.read_bytes()
    assert_no_secret(cli.history + r.history, key, RESIDENT_ID)


def test_passwords_lock_out_and_api_tokens_from_the_command_line(vault_cli):
    cli = vault_cli
    password = "Blue-Lantern-4471"
    cli("user", "add", "clara", "--role", "clerk")
    cli("user", "add", "vera", "--role", "viewer")
    weak, mine, denied = cli.many(
        call("user", "passwd", "clara", "--password-stdin", input="clara-2024\n", rc=None),
        call("user", "passwd", "vera", "--password-stdin", input="Paper-Crane-5518\n"),
        call("user", "passwd", "clara", "--password-stdin", input=password + "\n", user="vera", rc=None))
    assert_error(weak, 2, "too short")
    assert "password of vera set" in mine.out
    assert_error(denied, 4, "permission denied")
    cli("user", "passwd", "clara", "--password-stdin", input=password + "\n")
    # Your own password needs the current one (the second line).
    wrong, right = (cli("user", "passwd", "clara", "--password-stdin", user="clara", rc=None,
                        input=f"Green-Meadow-7312\n{current}\n") for current in ("not-the-password", password))
    assert_error(wrong, 4, "current password is wrong")
    assert "password of clara set" in right.out
    made = cli.json("token", "create", "nightly", "--scope", "customer.read,document.read_meta",
                    "--expires-in-days", "30", user="clara")
    assert made["token"].startswith(made["prefix"] + "_") and made["scope"] == ["customer.read", "document.read_meta"]
    beyond, listed, other, text = cli.many(
        call("token", "create", "admin-ish", "--scope", "user.manage", user="clara", rc=None),
        call("token", "list", "--json", user="clara"),
        call("token", "list", "--of", "clara", "--json"),
        call("token", "list", user="clara"))
    assert_error(beyond, 2, "only narrow")
    assert [t["prefix"] for t in listed.json] == [made["prefix"]] == [t["prefix"] for t in other.json]
    assert made["prefix"] in text.out
    revoked = cli.json("token", "revoke", str(made["id"]), user="clara")
    assert revoked["revoked_at"]
    unlocked, reset, signed_out = cli.many(call("user", "unlock", "clara", "--json"),
                                           call("user", "reset-2fa", "clara"), call("user", "sign-out", "clara"))
    assert unlocked.json["name"] == "clara" and "reset" in reset.out and "0 session" in signed_out.out
    events = cli.json("audit", "log", "--action", "user.password")
    assert {e["outcome"] for e in events} == {"ok", "denied"}
    shown_once = [r for r in cli.history if "token" in r.args and "create" in r.args]  # the token's one showing
    assert_no_secret([r for r in cli.history if r not in shown_once], password, "Green-Meadow-7312",
                     "Paper-Crane-5518", made["token"])
