"""A process killed (SIGKILL) while adding a batch of documents leaves a vault in which `check` passes and
every listed document reads back.

A driver script (written to tmp_path, run with this interpreter) opens the vault through
`clientfolio.bootstrap.open_vault` and adds documents of 50-200 KB in a loop, printing each committed id. The test
kills it at a random moment after a few commits, three times, then inspects the vault with the real CLI.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time

from .cfcli import Cli, blob_files, call, clean_env, sha256_file, temp_files

DRIVER = r'''
import json, os, random, sys
from pathlib import Path

from clientfolio import bootstrap
from clientfolio.services import documents

home, customer = Path(sys.argv[1]), sys.argv[2]
start, count, seed = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
vault = bootstrap.open_vault(home)


def content(n, size):
    # a PDF signature first, so that sniffing never mistakes random bytes for a refused type
    yield f"%PDF-1.4\n% batch document {n}\n".encode()
    left = size
    while left > 0:
        piece = min(left, 16 * 1024)
        yield os.urandom(piece)
        left -= piece


print(json.dumps({"ready": True}), flush=True)
for n in range(start, start + count):
    view = documents.add_document(vault=vault, actor="admin", customer_code=customer,
                                  content=content(n, rng.randint(50_000, 200_000)),
                                  original_name=f"batch-{n:04d}.pdf", category="contract", subtype="formal",
                                  title=f"batch {n}", tags=["batch"])
    print(json.dumps({"id": view.id, "sha256": view.sha256, "n": n}), flush=True)
'''

ROUNDS = 3
BATCH = 300


def _kill_after_commits(driver, home, code, start, wait_for, seed, rng) -> list[dict]:
    """Start the driver, wait for `wait_for` committed ids, wait a little more, SIGKILL; the ids it printed."""
    proc = subprocess.Popen([sys.executable, str(driver), str(home), code, str(start), str(BATCH), str(seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env())
    committed: list[dict] = []
    enough = threading.Event()

    def reader():
        for line in proc.stdout:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # not ours (a library's warning)
            if isinstance(record, dict) and "id" in record:
                committed.append(record)
                if len(committed) >= wait_for:
                    enough.set()
        enough.set()  # end of output: the driver died or finished

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert enough.wait(timeout=90), "the driver committed nothing in 90 s"
    time.sleep(rng.uniform(0, 0.04))  # somewhere in the next few uploads: a blob half written, a commit…
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    thread.join(timeout=30)
    stderr = proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL, f"the driver ended by itself ({proc.returncode}):\n{stderr}"
    assert len(committed) >= wait_for, stderr
    return committed


def test_sigkill_during_a_batch_leaves_a_consistent_vault(tmp_path):
    cli = Cli(tmp_path / "home")
    cli("init")
    code = cli.json("customer", "add", "--name", "批量客户", "--kind", "organization")["code"]
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER, encoding="utf-8")
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    print(f"crash test seed {seed}")  # shown on failure
    rng.seed(seed)

    printed: list[dict] = []
    for round_ in range(ROUNDS):
        printed += _kill_after_commits(driver, cli.home, code, start=round_ * BATCH, wait_for=rng.randint(2, 3),
                                       seed=seed + round_, rng=rng)

    check, listing, verify = cli.many(call("check", "--json", rc=None),
                                      call("doc", "list", "--limit", "1000", "--json"),
                                      call("audit", "verify", "--json", rc=None))
    report = check.json
    print(f"after {ROUNDS} kills: {len(printed)} ids printed, {listing.json['total']} documents listed, "
          f"{len(report['unreferenced_blobs'])} unreferenced blobs, {report['stale_temp_files']} stale temp files")
    assert check.rc == 0 and report["ok"] is True and report["problems"] == [], report  # orphans are allowed
    assert verify.rc == 0 and verify.json["ok"] is True, verify.json

    docs = {d["id"]: d for d in listing.json["items"]}
    assert listing.json["total"] == len(docs)
    for record in printed:  # every id the driver saw committed is there, with the bytes it stored
        assert record["id"] in docs, record
        assert docs[record["id"]]["sha256"] == record["sha256"]
    assert len(docs) >= len(printed)  # a kill between commit and print leaves one more, never one less
    assert report["versions_checked"] == len(docs)

    out = tmp_path / "out"
    out.mkdir()
    gets = cli.many(*[call("doc", "get", doc_id, "-o", out / f"{doc_id}.pdf", "--json") for doc_id in docs])
    for doc_id, result in zip(docs, gets):
        assert result.json["sha256"] == docs[doc_id]["sha256"]
        assert sha256_file(out / f"{doc_id}.pdf") == docs[doc_id]["sha256"]
        assert (out / f"{doc_id}.pdf").stat().st_size == docs[doc_id]["size"]

    gc = cli.json("check", "--gc", "--grace", "0")
    assert gc["ok"] is True and gc["removed_blobs"] == len(report["unreferenced_blobs"])
    final = cli.json("check")
    assert final["ok"] is True and final["unreferenced_blobs"] == [] and final["stale_temp_files"] == 0
    assert temp_files(cli.home) == []
    assert len(blob_files(cli.home)) == len(docs) == final["blobs_in_store"]  # one blob per single-version document
    assert cli.json("audit", "verify")["ok"] is True
