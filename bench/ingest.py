"""Ingestion throughput: text PDFs of 1-5 pages through `clientfolio ingest`, with 1 and 2 worker processes.

    python -m bench.ingest [--docs N] [--dir D]

Baseline, same run, same files: reading each PDF's text layer with pypdfium2 in one process (the floor of the
extraction step). Each ingest run uses a fresh vault (SQLite, durable blob store) and the real CLI, so every
step is in the figure: process start, sniffing, hashing, extraction, matching, encryption, the audit event,
the SQLite commit. The ratio is ingest docs/s over the baseline's docs/s.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as raw

WORDS = ("contract invoice receipt statement payment delivery service customer account balance renewal amendment "
         "signature period clause party schedule reference total amount tax bank transfer office").split()


def make_pdfs(root: Path, count: int, code: str, seed: int = 11) -> int:
    """`count` distinct text PDFs (1-5 pages, Helvetica) below root/code; returns the number of pages."""
    rng = random.Random(seed)
    folder = root / code
    folder.mkdir(parents=True)
    pages_total = 0
    for i in range(count):
        pages = [[f"Document {i} page {n + 1}"] + [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(8)]
                 for n in range(rng.randint(1, 5))]
        (folder / f"doc-{i:05d}.pdf").write_bytes(_text_pdf(pages))
        pages_total += len(pages)
    return pages_total


def _text_pdf(pages: list[list[str]]) -> bytes:
    pdf = pdfium.PdfDocument.new()
    font = raw.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
    for lines in pages:
        page = pdf.new_page(595, 842)
        y = 780
        for line in lines:
            obj = raw.FPDFPageObj_CreateTextObj(pdf.raw, font, 11.0)
            encoded = (line + "\x00").encode("utf-16-le")
            buffer = ctypes.create_string_buffer(encoded, len(encoded))
            raw.FPDFText_SetText(obj, ctypes.cast(buffer, raw.FPDF_WIDESTRING))
            raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, 50, y)
            raw.FPDFPage_InsertObject(page.raw, obj)
            y -= 20
        page.gen_content()
        page.close()
    out = io.BytesIO()
    pdf.save(out)
    pdf.close()
    raw.FPDFFont_Close(font)
    return out.getvalue()


def baseline(root: Path) -> float:
    files = sorted(root.rglob("*.pdf"))
    began = time.perf_counter()
    chars = 0
    for path in files:
        doc = pdfium.PdfDocument(path.read_bytes())
        for page in doc:
            chars += len(page.get_textpage().get_text_range())
    assert chars > 0
    return len(files) / (time.perf_counter() - began)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "clientfolio"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTFOLIO_")}
    return subprocess.run([str(exe), "--home", str(home), *args], capture_output=True, text=True, env=env, check=True)


def run(docs: int, workdir: Path | None = None) -> dict:
    base = Path(tempfile.mkdtemp(prefix="cf-bench-ingest-", dir=workdir))
    try:
        pages = make_pdfs(base / "in", docs, "C000001")
        floor = baseline(base / "in")
        result = {"docs": docs, "pages": pages, "baseline_docs_per_s": round(floor, 1), "runs": []}
        for workers in (1, 2):
            home = base / f"home-{workers}"
            cli(home, "init")
            cli(home, "customer", "add", "--name", "Bench Ltd", "--kind", "organization")
            began = time.perf_counter()
            cli(home, "--json", "ingest", str(base / "in"), "--workers", str(workers))
            seconds = time.perf_counter() - began
            rate = docs / seconds
            result["runs"].append({"workers": workers, "seconds": round(seconds, 1), "docs_per_s": round(rate, 1),
                                   "pages_per_s": round(pages / seconds, 1), "ratio_vs_baseline": round(rate / floor, 4)})
        return result
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000, help="text PDFs to ingest (default 10,000)")
    parser.add_argument("--dir", type=Path, help="parent of the temporary folders")
    args = parser.parse_args(argv)
    r = run(args.docs, args.dir)
    print(f"{r['docs']:,} text PDFs, {r['pages']:,} pages; baseline (pypdfium2 text layer, one process): "
          f"{r['baseline_docs_per_s']:,.1f} docs/s")
    print(f"{'workers':>7} {'seconds':>8} {'docs/s':>8} {'pages/s':>8} {'ratio':>7}")
    for run_ in r["runs"]:
        print(f"{run_['workers']:>7} {run_['seconds']:>8} {run_['docs_per_s']:>8} {run_['pages_per_s']:>8} "
              f"{run_['ratio_vs_baseline']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
