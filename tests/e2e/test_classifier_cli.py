"""`clientfolio classifier train|evaluate|suggest` as a user runs them: real processes, a generated corpus."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from .cfcli import Cli, assert_error, call

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fixtures_classes import KINDS, paper  # noqa: E402

PER_KIND = 10


def test_train_evaluate_and_suggest_from_the_command_line(tmp_path):
    cli = Cli(tmp_path / "home")
    cli("init")
    code = cli.json("customer", "add", "--name", "分类客户", "--kind", "organization")["code"]
    cli("user", "add", "clara", "--role", "clerk")
    cli("user", "add", "vera", "--role", "viewer")
    root = tmp_path / "in"
    (root / code).mkdir(parents=True)
    rng = random.Random(11)
    for kind in KINDS:
        for i in range(PER_KIND):
            (root / code / f"{kind[0]}-{kind[1] or 'x'}-{i}.txt").write_text(paper(rng, kind), encoding="utf-8")
    # The rules file alone files them (every suggestion taken here), which gives the model its teachers.
    ingested = cli.json("ingest", str(root), "--workers", "1", "--auto-file-threshold", "0")
    assert ingested["counts"]["stored"] == PER_KIND * len(KINDS)
    # Filed by the classifier's rules but confirmed by nobody: nothing to learn from yet.
    assert_error(cli("classifier", "train", rc=None), 2, "not enough filed documents",
                 f"{PER_KIND * len(KINDS)} documents filed by the classifier wait for a person")
    queue, waiting = cli.json("doc", "list", "--filing", "auto-filed"), cli.json("doc", "list", "--filing", "waiting")
    assert queue["total"] == PER_KIND * len(KINDS) and waiting["total"] == 0
    first = cli.json("doc", "accept-suggestion", "1", user="clara")
    assert first["id"] == 1 and first["suggestion"] is None and first["category"] in {k[0] for k in KINDS}
    again, viewer = cli.many(call("doc", "accept-suggestion", "1", rc=None),
                             call("doc", "accept-suggestion", "2", user="vera", rc=None))
    assert_error(again, 2, "no suggestion to accept")
    assert_error(viewer, 4, "permission denied")
    # Several at once: each settled on its own, the one that cannot be is named (and sets the exit code).
    rest = [str(i) for i in range(2, PER_KIND * len(KINDS) + 1)]
    bulk = cli("doc", "accept-suggestion", *rest, "1", "--json", rc=2).json
    assert [r["id"] for r in bulk if "filed_as" in r] == [int(i) for i in rest]
    assert bulk[-1] == {"id": 1, "error": bulk[-1]["error"]} and "no suggestion" in bulk[-1]["error"]
    assert cli.json("doc", "list", "--suggestion-pending")["total"] == 0

    trained = cli.json("classifier", "train")
    assert trained["documents"] == PER_KIND * len(KINDS) and trained["accuracy"] >= 0.8, trained
    sample = tmp_path / "new-invoice.txt"
    sample.write_text(paper(random.Random(12), ("finance", "invoice")), encoding="utf-8")
    evaluated, human, on_file, on_doc, denied, missing, no_holdout = cli.many(
        call("classifier", "evaluate", "--json"),
        call("classifier", "train"),  # the human-readable report
        call("classifier", "suggest", str(sample), "--json", user="clara"),
        call("classifier", "suggest", "1", "--json"),
        call("classifier", "train", user="clara", rc=None),
        call("classifier", "suggest", str(tmp_path / "nope.txt"), rc=None),
        call("classifier", "evaluate", "--holdout", "0.9", rc=None),
    )
    assert evaluated.json["accuracy"] >= 0.8 and "per_class" in evaluated.json
    assert "accuracy on" in human.out and "held-out documents" in human.out and "finance/invoice" in human.out
    made = on_file.json
    assert (made["category"], made["subtype"]) == ("finance", "invoice") and "model" in made["source"]
    assert made["auto_file"] == (made["confidence"] >= 0.85)
    assert on_doc.json["category"] in {k[0] for k in KINDS}
    assert_error(denied, 4, "permission denied")
    assert_error(missing, 3, "no such file")
    assert_error(no_holdout, 2, "holdout")
    # No word of any document on disk in the clear, the model included.
    for path in cli.home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert "价税合计".encode() not in data and "交易流水号".encode() not in data, path
