"""The search benchmark end to end at a tiny size: engines built in their own processes, timed in turns on
every query, an engine that cannot be built reported without stopping (or hanging) the others."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ sits beside src/, not installed
from bench import search_engines  # noqa: E402


def test_every_engine_is_timed_on_every_query_and_a_failed_one_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(search_engines, "PG_URL", "postgresql://postgres@127.0.0.1:1/postgres")  # nothing listens
    results = search_engines.run(True, (400,), engines=("a", "c", "f"), workdir=tmp_path, log=lambda _: None)
    engines = results[400]["engines"]
    assert "error" in engines["f"] and "latency" not in engines["f"]
    for key in ("a", "c"):
        r = engines[key]
        assert "error" not in r, r.get("error")
        assert r["docs"] == 400 and r["index_bytes"] > 0 and r["rss_peak_mb"] > 0
        assert set(r["latency"]) >= set(search_engines.KINDS) | {"all"}
        assert 0 < r["latency"]["all"]["p50"] <= r["latency"]["all"]["p95"] <= r["latency"]["all"]["p99"]
        assert r["quality"]["all Chinese"]["recall"] == 1.0  # both match every planted word
    assert "all, restricted user" in engines["a"]["latency"]  # only our index takes a visibility
    assert "all, restricted user" not in engines["c"]["latency"]
    assert not list(tmp_path.glob("index-*"))  # every engine's index removed, the failed one's too
    report = search_engines.report(results)
    assert "(f) failed:" in report and "| (a) keyed tantivy" in report


def test_an_unknown_engine_is_refused_before_anything_is_built(tmp_path):
    with pytest.raises(ValueError, match="unknown engine"):
        search_engines.run(True, (400,), engines=("a", "zz"), workdir=tmp_path, log=lambda _: None)
    assert not list(tmp_path.iterdir())
