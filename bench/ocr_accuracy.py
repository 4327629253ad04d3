"""OCR engines compared on the generated test set: character accuracy and seconds per page, per kind of page.

    python -m bench.ocr_accuracy [--quick] [--engine rapidocr|rapidocr-lib|tesseract] [--threads N] [--json]

Engines: `rapidocr` (clientfolio.adapters.ocr.RapidOcrEngine, the one the vault uses), `rapidocr-lib` (the
same models through RapidOCR's own pipeline, no page-orientation step: the baseline our pipeline is measured
against), `tesseract` (Debian's tesseract-ocr + chi_sim through clientfolio.adapters.ocr.TesseractEngine).

Character accuracy of a page = 1 - Levenshtein distance / expected length, over whitespace-stripped NFKC text
(full-width and half-width forms count as the same character, as they do for search); a kind's accuracy is
1 - (sum of distances / sum of expected lengths), so long pages weigh more than short ones. `s/page` is the
wall time of `engine.read(image)` (preparation, orientation, recognition), one page at a time, after a
warm-up page that loads the engine; `cpu s` is the CPU time of this process and its children (Tesseract)
for the same calls, which other load on the machine disturbs less than wall time. `rot ok` counts pages
whose reported rotation is the one applied.

`run(quick)` returns a dict (and prints the table); `bench/__main__.py` may call it. docs/ocr.md has results.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
import unicodedata

from rapidfuzz.distance import Levenshtein

from bench import ocr_samples
from clientfolio.adapters import ocr

KINDS = ("clean", "degraded", "rotated")
QUICK = {"contract_clean", "id_card_1_clean", "licence_clean", "snippet_rot90", "snippet_rot180", "snippet_rot270",
         "contract_seal", "contract_phone_photo", "id_card_3_low_res", "id_card_1_photo"}


def normalized(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def char_errors(expected: str, got: str) -> tuple[int, int]:
    """(edit distance, expected length) over whitespace-stripped NFKC text."""
    want = normalized(expected)
    return Levenshtein.distance(want, normalized(got)), len(want)


def _cpu() -> float:
    """CPU seconds of this process and its finished children (Tesseract runs as a child)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class LibraryPipeline:
    """Baseline: RapidOCR's own pipeline on the prepared page (same models, same red removal), lines in the
    order it returns them, no page orientation step. What our orientation and reading order add is the
    difference between this row and `rapidocr`."""

    name = "rapidocr-lib"

    def __init__(self, threads: int = 1):
        self.inner = ocr.RapidOcrEngine(threads=threads)
        self.threads = threads

    def read(self, image):
        import numpy as np

        engine, lock = self.inner._engine()
        prepared, _ = ocr.prepare(image, max_side=self.inner.max_side, suppress_red=True)
        with lock:
            result = engine(np.ascontiguousarray(np.asarray(prepared)[:, :, ::-1]), use_det=True, use_cls=True,
                            use_rec=True)
        pairs = [(t, s) for t, s in zip(result.txts or (), result.scores or ()) if s >= 0.5 and t.strip()]
        weight = sum(len(t) for t, _ in pairs)
        confidence = sum(s * len(t) for t, s in pairs) / weight if weight else 0.0
        return ocr.OcrPage("\n".join(t for t, _ in pairs), confidence, 0, [])


def engines(threads: int = 1, only: str | None = None) -> list:
    """The engines that can run here, by name; a missing one is reported and left out."""
    made = []
    if only in (None, "rapidocr"):
        reason = ocr.engine_available()
        made.append(ocr.RapidOcrEngine(threads=threads) if reason is None else ("rapidocr", reason))
    if only in (None, "rapidocr-lib"):
        reason = ocr.engine_available()
        made.append(LibraryPipeline(threads) if reason is None else ("rapidocr-lib", reason))
    if only in (None, "tesseract"):
        reason = ocr.tesseract_available()
        made.append(ocr.TesseractEngine(threads=threads) if reason is None else ("tesseract", reason))
    return made


def measure(engine, samples: list[ocr_samples.Sample], log=None) -> dict:
    engine.read(samples[0].image)  # warm-up: loads models (not timed)
    pages = []
    for sample in samples:
        began, cpu = time.perf_counter(), _cpu()
        page = engine.read(sample.image)
        seconds, cpu = time.perf_counter() - began, _cpu() - cpu
        distance, length = char_errors(sample.expected, page.text)
        pages.append({"name": sample.name, "kind": sample.kind, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 3),
                      "accuracy": round(max(0.0, 1 - distance / length), 4), "distance": distance,
                      "length": length, "confidence": round(page.confidence, 3),
                      "rotation": page.rotation, "rotation_ok": page.rotation == sample.rotation})
        if log:
            log(f"  {engine.name:<9} {sample.name:<26} {pages[-1]['accuracy']:7.2%} {seconds:6.2f} s "
                f"conf {page.confidence:.2f} rot {page.rotation}")
    summary = {}
    for kind in (*KINDS, "all"):
        chosen = [p for p in pages if kind in ("all", p["kind"])]
        if not chosen:
            continue
        summary[kind] = {
            "pages": len(chosen),
            "char_accuracy": round(1 - sum(p["distance"] for p in chosen) / sum(p["length"] for p in chosen), 4),
            "worst_page": min(chosen, key=lambda p: p["accuracy"])["name"],
            "worst_accuracy": min(p["accuracy"] for p in chosen),
            "seconds_per_page": round(statistics.mean(p["seconds"] for p in chosen), 3),
            "cpu_seconds_per_page": round(statistics.mean(p["cpu_seconds"] for p in chosen), 3),
            "rotation_ok": sum(p["rotation_ok"] for p in chosen),
        }
    return {"engine": engine.name, "threads": engine.threads, "summary": summary, "pages": pages}


def run(quick: bool = False, *, threads: int = 1, only: str | None = None, log=None) -> dict:
    """Every available engine over the samples (a subset of 10 when quick); prints the table, returns a dict."""
    samples = ocr_samples.samples()
    if quick:
        samples = [s for s in samples if s.name in QUICK]
    result: dict = {"samples": len(samples), "quick": quick, "threads": threads, "cpus": os.cpu_count(),
                    "engines": [], "skipped": {}}
    for engine in engines(threads, only):
        if isinstance(engine, tuple):
            result["skipped"][engine[0]] = engine[1]
            continue
        result["engines"].append(measure(engine, samples, log))
    print_table(result)
    return result


def print_table(result: dict) -> None:
    print(f"\nOCR on {result['samples']} generated pages, {result['threads']} thread(s) per engine, "
          f"{result['cpus']} CPUs; accuracy = 1 - edit distance / length (whitespace-stripped, NFKC)")
    header = f"{'engine':<10} {'kind':<9} {'pages':>5} {'char acc':>9} {'worst page':<26} {'worst':>7} {'s/page':>7} {'cpu s':>6} {'rot ok':>7}"
    print(header)
    print("-" * len(header))
    for run_ in result["engines"]:
        for kind, s in run_["summary"].items():
            print(f"{run_['engine']:<10} {kind:<9} {s['pages']:>5} {s['char_accuracy']:>9.2%} {s['worst_page']:<26} "
                  f"{s['worst_accuracy']:>7.1%} {s['seconds_per_page']:>7.2f} {s['cpu_seconds_per_page']:>6.2f} {s['rotation_ok']:>3}/{s['pages']:<3}")
    for name, reason in result["skipped"].items():
        print(f"{name:<10} skipped: {reason}")
    runs = {r["engine"]: r["summary"]["all"] for r in result["engines"]}
    if "rapidocr" in runs:
        base = runs["rapidocr"]
        for name, other in runs.items():
            if name != "rapidocr":
                print(f"{name} / rapidocr per page: CPU time x{other['cpu_seconds_per_page'] / base['cpu_seconds_per_page']:.2f}, "
                      f"wall time x{other['seconds_per_page'] / base['seconds_per_page']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ocr_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{len(QUICK)} pages instead of all")
    parser.add_argument("--engine", choices=("rapidocr", "rapidocr-lib", "tesseract"), help="measure one engine only")
    parser.add_argument("--threads", type=int, default=1, help="threads per engine (default 1)")
    parser.add_argument("--verbose", action="store_true", help="print every page as it is read")
    parser.add_argument("--json", action="store_true", help="print the result dict as JSON at the end")
    args = parser.parse_args(argv)
    try:
        result = run(args.quick, threads=args.threads, only=args.engine,
                     log=(lambda line: print(line, file=sys.stderr)) if args.verbose else None)
    except ocr_samples.MissingFont as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
