"""Bad input through the real command line: the right exit code, one clear error line, nothing stored.

All refused calls are independent, so the module runs them once, in parallel, against one vault (and two
damaged copies of it), and each parametrized test checks one of the cached results.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pytest

from .cfcli import (Cli, assert_error, blob_files, blob_path, call, clean_env, key_text, new_key_text, pdf_bytes,
                    sha256_file, temp_files)

BAD_RESIDENT_ID = "110105194912310021"  # checksum wrong (…002X is right)


def _elf_bytes() -> bytes:
    for candidate in (shutil.which("ls"), sys.executable):
        if candidate:
            data = Path(candidate).resolve().read_bytes()[:200_000]
            if data.startswith(b"\x7fELF"):
                return data
    pytest.skip("no ELF executable on this machine")


@dataclass
class Case:
    name: str
    args: Callable[[SimpleNamespace], tuple]
    rc: int | tuple[int, ...]
    fragments: tuple[str, ...] = ()
    usage: bool = False
    where: str = "main"  # which vault: main, flipped (a damaged blob), loose_key (key file 0644), none
    user: str | None = None
    env: Callable[[SimpleNamespace], dict] | None = None
    absent: tuple[str, ...] = ()  # text that must not appear in the message (secrets)


def _doc_add(file_attr: str, *more: str):
    return lambda c: ("doc", "add", getattr(c, file_attr), "--customer", c.code, "--category", "contract", *more)


CASES = [
    # files
    Case("missing_file", _doc_add("missing"), 3, ("no such file", "missing.pdf")),
    Case("directory_as_file", _doc_add("files"), (2, 3), ("files",)),
    Case("elf_renamed_pdf", _doc_add("elf"), 2, ("refused", "executable")),
    Case("windows_exe_renamed_pdf", _doc_add("exe"), 2, ("refused",)),
    Case("empty_file", _doc_add("empty"), 2, ("refused", "empty")),
    # not found
    Case("unknown_customer_doc_add", lambda c: ("doc", "add", c.good, "--customer", "C999999", "--category",
                                                "contract"), 3, ("C999999",)),
    Case("unknown_customer_show", lambda c: ("customer", "show", "C999999"), 3, ("C999999",)),
    Case("unknown_doc_show", lambda c: ("doc", "show", "999999"), 3, ("999999",)),
    Case("unknown_doc_get", lambda c: ("doc", "get", "999999", "-o", c.out / "nothing.pdf"), 3, ("999999",)),
    Case("unknown_version_get", lambda c: ("doc", "get", c.doc_id, "--version", "99", "-o", c.out / "v99.pdf"),
         3, ("99",)),
    Case("unknown_output_folder", lambda c: ("doc", "get", c.doc_id, "-o", c.out / "no" / "such" / "x.pdf"),
         3, ("no such folder",)),
    Case("unknown_user", lambda c: ("doc", "list"), 3, ("ghost",), user="ghost"),
    # taxonomy
    Case("unknown_category", _doc_add("good", "--category", "nope"), 2,
         ("unknown category", "nope", "id_document", "contract", "signed_form", "finance")),
    Case("unknown_subtype", _doc_add("good", "--subtype", "nope"), 2,
         ("unknown subtype", "nope", "initial", "formal", "renewal", "amendment")),
    Case("subtype_of_another_category", _doc_add("good", "--category", "finance", "--subtype", "formal"), 2,
         ("invoice",)),
    Case("unknown_subtype_in_list", lambda c: ("doc", "list", "--subtype", "nope"), 2, ("nope",)),
    # dates
    Case("impossible_date", _doc_add("good", "--expires", "2030-02-30"), 2, ("--expires", "2030-02-30")),
    Case("expires_before_issued", _doc_add("good", "--issued", "2030-01-01", "--expires", "2020-01-01"), 2,
         ("before",)),
    Case("list_date_word", lambda c: ("doc", "list", "--expires-before", "tomorrow"), 2, ("--expires-before",)),
    Case("audit_since_word", lambda c: ("audit", "log", "--since", "yesterday"), 2, ("--since",)),
    # roles, customers
    Case("invalid_role_add", lambda c: ("user", "add", "xavier", "--role", "god"), 2,
         ("role", "viewer", "clerk", "manager", "auditor", "admin")),
    Case("bad_resident_id", lambda c: ("customer", "add", "--name", "Y", "--kind", "person", "--resident-id",
                                       BAD_RESIDENT_ID), 2, ("resident ID",), absent=(BAD_RESIDENT_ID,)),
    Case("bad_phone", lambda c: ("customer", "add", "--name", "Z", "--kind", "person", "--phone", "12345"), 2,
         ("phone",)),
    Case("unknown_sort", lambda c: ("customer", "list", "--sort", "nonsense"), 2, ("sort",)),
    # click usage errors
    Case("non_numeric_doc_id_show", lambda c: ("doc", "show", "abc"), 2, ("document_id",), usage=True),
    Case("non_numeric_version_diff", lambda c: ("doc", "diff", c.doc_id, "one", "2"), 2, (), usage=True),
    # vault and key
    Case("no_vault", lambda c: ("doc", "list"), 8, ("no vault", "init"), where="none"),
    Case("wrong_key", lambda c: ("doc", "list"), 8, ("does not match",),
         env=lambda c: clean_env(CLIENTFOLIO_MASTER_KEY=c.wrong_key), absent=("wrong_key",)),
    Case("loose_key_file", lambda c: ("doc", "list"), 8, ("0644", "chmod 600"), where="loose_key"),
    # damage
    Case("flipped_byte_get", lambda c: ("doc", "get", c.big_id, "-o", c.out / "flipped.pdf"), 5,
         ("integrity check failed",), where="flipped"),
    Case("missing_blob_get", lambda c: ("doc", "get", c.doc_id, "-o", c.out / "missing-blob.pdf"), 5,
         ("missing",), where="missing_blob"),
    Case("upload_over_the_limit", _doc_add("big"), 2, ("larger than the limit",),
         where="small_limit"),
    Case("flipped_byte_get_into_folder", lambda c: ("doc", "get", c.big_id, "-o", c.out_dir_get), 5,
         ("integrity check failed",), where="flipped"),
]

# Real defects: the case is expected to fail until src is fixed (strict: a fix makes the test fail loudly).
KNOWN_BUGS: dict[str, str] = {}
PARAMS = [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[c.name])]
                       if c.name in KNOWN_BUGS else []) for c in CASES]


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """One vault with a customer, a small and a 2.5 MB document; damaged copies; all CASES run in parallel."""
    root = tmp_path_factory.mktemp("bad_input")
    files, out = root / "files", root / "out"
    files.mkdir(), out.mkdir()
    (out / "into-folder").mkdir()
    cli = Cli(root / "home")
    cli("init")
    code = cli.json("customer", "add", "--name", "赵敏", "--kind", "person")["code"]
    good, big = files / "good.pdf", files / "big.pdf"
    good.write_bytes(pdf_bytes("good"))
    big.write_bytes(pdf_bytes("big", size=int(2.5 * 1024 * 1024)))  # three 1 MiB chunks
    doc_id = cli.json("doc", "add", good, "--customer", code, "--category", "contract")["id"]
    before_big = blob_files(cli.home)
    big_id = cli.json("doc", "add", big, "--customer", code, "--category", "contract")["id"]
    (big_blob,) = blob_files(cli.home) - before_big

    elf, exe, empty = files / "invoice.pdf", files / "setup.pdf", files / "empty.pdf"
    elf.write_bytes(_elf_bytes())
    exe.write_bytes(b"MZ" + bytes(58) + b"\x80\x00\x00\x00" + bytes(64) + b"PE\x00\x00" + os.urandom(4000))
    empty.write_bytes(b"")

    homes = {name: root / name for name in ("flipped", "loose_key", "missing_blob", "small_limit")}
    for home in homes.values():
        shutil.copytree(cli.home, home)
    homes.update(main=cli.home, none=root / "empty-folder")
    homes["none"].mkdir()
    os.chmod(homes["loose_key"] / "master.key", 0o644)
    (small_doc_blob,) = before_big
    blob_path(homes["missing_blob"], small_doc_blob).unlink()
    (homes["small_limit"] / "config.toml").write_text("max_upload_mb = 1\n")
    damaged = blob_path(homes["flipped"], big_blob)
    data = bytearray(damaged.read_bytes())
    data[-100] ^= 0x01  # inside the last chunk: the first two chunks verify and stream before the failure
    damaged.write_bytes(bytes(data))

    ctx = SimpleNamespace(files=files, out=out, out_dir_get=out / "into-folder", code=code, doc_id=doc_id,
                          big_id=big_id, big_blob=big_blob, good=good, big=big, missing=files / "missing.pdf",
                          elf=elf, exe=exe, empty=empty, wrong_key=new_key_text(), homes=homes, cli=cli)
    ctx.before = {"status": cli.json("status"), "blobs": blob_files(cli.home)}

    clis = {name: Cli(home) for name, home in homes.items()}
    calls = [call(*case.args(ctx), rc=None, user=case.user, env=case.env(ctx) if case.env else None)
             for case in CASES]
    # Cli.many binds one home; here each case runs against its own vault.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(clis[case.where], *args, **kw) for case, (args, kw) in zip(CASES, calls)]
        ctx.results = {case.name: f.result() for case, f in zip(CASES, futures)}
    ctx.secrets = {"wrong_key": ctx.wrong_key, "key": key_text(cli.home)}
    ctx.after = {"status": cli.json("status"), "blobs": blob_files(cli.home), "temp_files": temp_files(cli.home),
                 "out": sorted(p.relative_to(out).as_posix() for p in out.rglob("*")),
                 "none": sorted(p.name for p in homes["none"].iterdir()),
                 "small_limit": (blob_files(homes["small_limit"]), temp_files(homes["small_limit"]))}
    return ctx


@pytest.mark.parametrize("case", PARAMS)
def test_refused(bad, case):
    result = bad.results[case.name]
    if isinstance(case.rc, tuple):
        assert result.rc in case.rc, result
        assert_error(result, result.rc, *case.fragments, usage=case.usage)
    else:
        assert_error(result, case.rc, *case.fragments, usage=case.usage)
    for name in case.absent:
        secret = bad.secrets.get(name, name)
        assert secret not in result.err and secret not in result.out, result
    assert bad.secrets["key"] not in result.err + result.out


def test_refusals_stored_nothing(bad):
    after, before = bad.after, bad.before
    counts = ("customers", "documents", "versions", "users")
    assert {k: after["status"][k] for k in counts} == {k: before["status"][k] for k in counts}
    assert before["status"]["documents"] == 2
    assert after["blobs"] == before["blobs"]  # the refused executables and empty files left no blob
    assert after["temp_files"] == []
    assert after["out"] == ["into-folder"]  # no file, and no partial file, from any failed `doc get`
    assert after["none"] == []  # a folder without a vault is left as it was
    assert after["small_limit"] == (before["blobs"], [])  # an upload over the limit leaves no blob, no temp file


def test_flipped_byte_leaves_no_partial_output_and_fails_check(bad):
    flipped = Cli(bad.homes["flipped"])
    assert "flipped.pdf" not in bad.after["out"] and "into-folder" in bad.after["out"]  # see stored_nothing
    check, check_json, intact, log = flipped.many(
        call("check", rc=None), call("check", "--json", rc=None),
        call("doc", "get", bad.doc_id, "-o", bad.out / "intact.pdf"),  # the undamaged document still reads
        call("audit", "log", "--action", "document.*", "--json"))
    assert check.rc == 5 and "PROBLEM" in check.out and "Traceback" not in check.err
    report = check_json.json
    assert check_json.rc == 5 and report["ok"] is False and len(report["problems"]) == 1
    assert f"document {bad.big_id}" in report["problems"][0] and "integrity check failed" in report["problems"][0]
    assert (bad.out / "intact.pdf").read_bytes() == bad.good.read_bytes()
    (bad.out / "intact.pdf").unlink()
    failures = [e for e in log.json if e["outcome"] == "integrity-failed"]
    assert len(failures) == 2 and all(e["object_id"] == str(bad.big_id) for e in failures)  # failures are audited


def test_duplicate_refused_then_allowed_and_long_chinese_name_kept(bad, tmp_path):
    cli = bad.cli
    long_name = ("张伟 正式合同 扫描件 第二版 " + "scan copy " * 30)[:196] + ".pdf"
    assert len(long_name) == 200 and " " in long_name
    long_file = tmp_path / long_name
    long_file.write_bytes(pdf_bytes("long name"))
    blobs_before = blob_files(cli.home)

    duplicate, long_added = cli.many(
        call("doc", "add", bad.good, "--customer", bad.code, "--category", "contract", rc=None),
        call("doc", "add", long_file, "--customer", bad.code, "--category", "contract", "--json"))
    assert_error(duplicate, 6, "duplicate", f"document {bad.doc_id}", "--allow-duplicate")
    long_doc = long_added.json
    assert long_doc["sha256"] == sha256_file(long_file)
    assert len(blob_files(cli.home) - blobs_before) == 1  # the refused duplicate's blob was removed again
    assert temp_files(cli.home) == []

    allowed = cli.json("doc", "add", bad.good, "--customer", bad.code, "--category", "contract",
                       "--allow-duplicate")
    assert allowed["id"] not in (bad.doc_id, long_doc["id"]) and allowed["sha256"] == sha256_file(bad.good)

    back = tmp_path / "back"
    back.mkdir()
    versions, got, got_folder = cli.many(
        call("doc", "versions", long_doc["id"], "--json"),
        call("doc", "get", long_doc["id"], "-o", back / long_name),
        call("doc", "get", long_doc["id"], "-o", tmp_path))
    assert versions.json[0]["original_name"] == long_name
    assert (back / long_name).read_bytes() == long_file.read_bytes()
    assert (tmp_path / versions.json[0]["canonical_name"]).read_bytes() == long_file.read_bytes()


def test_loose_key_file_is_not_repaired_silently(bad):
    key = bad.homes["loose_key"] / "master.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o644  # refused, not chmod-ed behind the user's back
