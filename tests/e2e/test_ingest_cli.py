"""`clientfolio ingest`, `watch`, `worker`, `inbox` and `search` as a user runs them: real processes, real kills."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time

from .cfcli import CLI_CMD, Cli, assert_error, clean_env

RESIDENT_ID = "11010519491231002X"
TOTAL = 300


def _stored(home) -> int:
    """Documents committed so far, read straight from the database (a CLI call would take a second)."""
    try:
        with sqlite3.connect(f"file:{home / 'clientfolio.db'}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM documents").fetchone()[0]
    except sqlite3.Error:
        return 0


def make_batch(root, code, count):
    folder = root / code
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"note-{i:03d}.txt").write_text(f"客户来电记录 第{i}号 内容各不相同 {i * 7919}\n", encoding="utf-8")


def test_a_killed_ingest_resumes_with_nothing_lost_or_doubled(tmp_path):
    cli = Cli(tmp_path / "home")
    cli("init")
    code = cli.json("customer", "add", "--name", "批量客户", "--kind", "organization")["code"]
    root = tmp_path / "in"
    make_batch(root, code, TOTAL)
    argv = CLI_CMD + ["--home", str(cli.home), "ingest", str(root), "--workers", "1"]
    proc = subprocess.Popen(argv, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and _stored(cli.home) < 5:  # kill it mid-way, once some are in
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = cli.json("doc", "list", "--limit", "1000")["total"]
    assert 5 <= before < TOTAL, before

    again = cli.json("ingest", str(root))
    assert again["counts"]["duplicate"] >= before - 1 and again["counts"]["failed"] == 0
    listing = cli.json("doc", "list", "--limit", "1000")
    assert listing["total"] == TOTAL  # every file once: nothing lost, nothing doubled
    assert len({d["sha256"] for d in listing["items"]}) == TOTAL
    check = cli.json("check")
    assert check["ok"] and check["problems"] == []
    assert cli.json("audit", "verify")["ok"]


def test_watch_takes_finished_files_and_empties_the_folder(tmp_path):
    cli = Cli(tmp_path / "home")
    cli("init")
    code = cli.json("customer", "add", "--name", "张伟", "--kind", "person", "--resident-id", RESIDENT_ID)["code"]
    drop = tmp_path / "drop"
    (drop / code).mkdir(parents=True)
    fresh = drop / code / "fresh.txt"
    fresh.write_text("购销合同 甲方 乙方 刚刚写入\n", encoding="utf-8")
    settled = drop / "loose-id-copy.txt"
    settled.write_text(f"身份证复印件 公民身份号码 {RESIDENT_ID}\n", encoding="utf-8")
    old = time.time() - 120
    os.utime(settled, (old, old))
    cli("watch", str(drop), "--once", "--settle", "60")
    assert fresh.exists() and not settled.exists()  # the new file may still be growing: left for later
    docs = cli.json("doc", "list")["items"]
    assert [d["customer"] for d in docs] == [code]  # matched by the ID number in its text
    os.utime(fresh, (old, old))
    cli("watch", str(drop), "--once", "--settle", "60", "--keep")
    assert fresh.exists() and cli.json("doc", "list")["total"] == 2


def test_upload_then_worker_then_search(tmp_path):
    cli = Cli(tmp_path / "home")
    cli("init")
    code = cli.json("customer", "add", "--name", "星河贸易", "--kind", "organization")["code"]
    scan = tmp_path / "contract.txt"
    scan.write_text("租赁合同 出租方 承租方 违约金条款 Penalty clause\n", encoding="utf-8")
    doc = cli.json("doc", "add", str(scan), "--customer", code, "--category", "contract")
    assert cli.json("doc", "versions", doc["id"])[0]["text_status"] == "pending"
    ran = cli.json("worker", "--once")
    assert ran["ran"] >= 1
    assert cli.json("doc", "versions", doc["id"])[0]["text_status"] == "done"
    found = cli.json("search", "违约金")
    assert [h["document"]["id"] for h in found["hits"]] == [doc["id"]]
    assert "<mark>违约金</mark>" in found["hits"][0]["snippet"]
    assert cli.json("search", "penalty")["total"] == 1
    assert cli.json("search", "nothing-like-this")["total"] == 0
    cli("user", "add", "reader", "--role", "auditor")
    assert cli.json("search", "违约金", user="reader")["total"] == 0  # an auditor never matches on content
    assert_error(cli("reindex", user="reader", rc=4), 4, "permission denied")
    assert cli.json("reindex") == {"indexed": 1}  # an administrator rebuilds it from the sealed texts
    assert [h["document"]["id"] for h in cli.json("search", "违约金")["hits"]] == [doc["id"]]
