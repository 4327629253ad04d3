"""The search benchmark's ranked-quality measures (bench/search_engines.py), on lists worked out by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # bench/ sits beside src/, not installed
from bench.search_engines import _ranked_precision  # noqa: E402


@pytest.mark.parametrize(("ranked", "relevant", "at_full_recall", "average"), [
    ([1, 2, 3], {1, 2}, 1.0, 1.0),  # every relevant document first
    ([9, 1, 8, 2], {1, 2}, 0.5, (1 / 2 + 2 / 4) / 2),  # the last relevant at rank 4: 2 of 4
    ([9, 1], {1, 2}, 0.0, (1 / 2) / 2),  # one never found: no precision at full recall (trec_eval's 0)
    ([], {1}, 0.0, 0.0),
])
def test_ranked_precision(ranked, relevant, at_full_recall, average):
    assert _ranked_precision(ranked, relevant) == pytest.approx((at_full_recall, average))
