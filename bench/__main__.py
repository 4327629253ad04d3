"""python -m bench [--quick] [--docs N] [--events N] [--only store|audit|ocr|ingest|search|api|web] [--dir D] [--pg-url URL | --no-postgres]

Prints each result next to its same-run baseline and writes everything to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

# A benchmark must never touch a real vault: settings read these variables before config.toml.
for _name in ("CLIENTFOLIO_DATABASE_URL", "CLIENTFOLIO_MASTER_KEY", "CLIENTFOLIO_HOME"):
    os.environ.pop(_name, None)

from bench import audit_verify, store  # noqa: E402  (after the environment is cleaned)
from bench.runinfo import cpu_model, git, loadavg, shown  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
QUICK = {"docs": 200, "events": 50_000}
DEFAULT = {"docs": 2000, "events": 1_000_000}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="clientfolio benchmarks: store throughput and audit verify (see bench/README.md)")
    parser.add_argument("--quick", action="store_true",
                        help=f"small sizes for a fast check ({QUICK['docs']} docs, {QUICK['events']:,} events)")
    parser.add_argument("--docs", type=_positive, help=f"documents to add and read back (default {DEFAULT['docs']}; "
                        "for --only web: documents in its vault, default 100,000)")
    parser.add_argument("--size-kb", type=_positive, default=200, help="document size in kB of 1000 bytes (default 200)")
    parser.add_argument("--customers", type=_positive, default=20, help="customers the documents are spread over")
    parser.add_argument("--events", type=_positive, help=f"audit events to verify (default {DEFAULT['events']:,})")
    parser.add_argument("--only", choices=("store", "audit", "ocr", "ingest", "search", "api", "web"),
                        help="run one benchmark")
    parser.add_argument("--ingest-docs", type=_positive, help="text PDFs for the ingest benchmark (default 2,000)")
    parser.add_argument("--dir", type=Path, help="parent folder for temporary vaults (default: the system temp dir)")
    parser.add_argument("--pg-url", default=audit_verify.PG_ADMIN_URL,
                        help="PostgreSQL server to create a throw-away cf_bench_* database on")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL audit run")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else DEFAULT
    docs, events = args.docs or sizes["docs"], args.events or sizes["events"]
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)

    results: dict = {"meta": _meta(args, docs, events)}
    began = time.perf_counter()
    print(f"clientfolio benchmarks  ({results['meta']['started_at']}, {results['meta']['cpus']} CPUs, "
          f"Python {platform.python_version()}, commit {results['meta']['git_commit']})")
    if args.only in (None, "store"):
        print(f"\n== Store throughput: {docs:,} documents of {args.size_kb * 1000:,} bytes ==")
        results["store"] = store.run(docs, args.size_kb * 1000, args.dir, log=_log, customer_count=args.customers)
        print_store(results["store"])
    if args.only in (None, "audit"):
        print(f"\n== audit verify: {events:,} events ==")
        runs = [audit_verify.run_sqlite(events, args.dir, log=_log)]
        if args.no_postgres:
            runs.append({"backend": "postgresql", "skipped": "--no-postgres"})
        else:
            runs.append(audit_verify.run_postgres(events, args.dir, admin_url=args.pg_url, log=_log))
        results["audit"] = runs
        print_audit(runs)
    for name, module, extra in (("ocr", "bench.ocr_accuracy", ["--quick"] if args.quick else []),
                                ("ingest", "bench.ingest",
                                 ["--docs", str(args.ingest_docs or (200 if args.quick else 2000))]),
                                ("search", "bench.search_engines", ["--quick"] if args.quick else []),
                                ("api", "bench.api_load",
                                 (["--quick"] if args.quick else []) + (["--dir", str(args.dir)] if args.dir else [])),
                                # web pages: 100,000 documents unless --docs is given (its vault is kept and reused)
                                ("web", "bench.web_pages",
                                 (["--quick"] if args.quick else []) + (["--docs", str(args.docs)] if args.docs else [])
                                 + (["--dir", str(args.dir)] if args.dir else []))):
        if args.only in (None, name):  # each in its own process: they measure memory and load engines
            print(f"\n== {name} ==", flush=True)
            subprocess.run([sys.executable, "-m", module, *extra], check=False)
    results["meta"]["total_seconds"] = round(time.perf_counter() - began, 1)
    results["meta"]["loadavg_end"] = loadavg()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nTotal {results['meta']['total_seconds']:.0f} s; load average (1 min) {results['meta']['loadavg_start']} at "
          f"start, {results['meta']['loadavg_end']} at end. Results written to {shown(args.output)}")
    return 0


def print_store(r: dict) -> None:
    floor = r["floor"]
    mb = r["docs"] * r["doc_bytes"] / 1e6
    print(f"\n{r['docs']:,} documents x {r['doc_bytes']:,} bytes = {mb:,.1f} MB of random content per level;"
          " MB = 10^6 bytes; reads are warm (page cache)")
    header = f"{'level':<40} {'docs/s':>8} {'MB/s write':>11} {'MB/s read':>10} {'write/floor':>12} {'read/floor':>11}"
    print(header)
    print("-" * len(header))
    print(f"{'floor: AES-256-GCM + SHA-256 in memory':<40} {floor['docs_per_s']:>8,.0f} {floor['write_MBps']:>11,.1f} "
          f"{floor['read_MBps']:>10,.1f} {'1.000':>12} {'1.000':>11}")
    names = {"blobstore (durable=True)": "blob store, durable=True (fsync)",
             "blobstore (durable=False)": "blob store, durable=False",
             "service (add_document / read_version)": "service: add_document + read_version"}
    for level in r["levels"]:
        print(f"{names.get(level['level'], level['level']):<40} {level['docs_per_s']:>8,.1f} {level['write_MBps']:>11,.1f} "
              f"{level['read_MBps']:>10,.1f} {level['write_ratio_vs_floor']:>12.3f} {level['read_ratio_vs_floor']:>11.3f}")
    print("docs/s = documents added and read back per second (round trip); floor row: encrypt+hash / decrypt+hash")
    runs = ", ".join(f"{f['write_MBps']:,.0f}/{f['read_MBps']:,.0f}" for f in floor.get("runs", []))
    if runs:
        print(f"floor measured before and after the store levels (write/read MB/s): {runs}; the faster is used")
    print(f"fsync share of the blob store's write time: {r['fsync_share_of_blobstore_write']:.0%} "
          f"(one write+fsync of 4 KiB on this disk: median {r['fsync_median_ms']:.2f} ms, p90 {r['fsync_p90_ms']:.2f} ms)")
    print(f"service path over the durable blob store: +{r['service_overhead_ms_per_add']:.2f} ms per add, "
          f"+{r['service_overhead_ms_per_read']:.2f} ms per read (transactions, audit event, authorization)")
    service = r["levels"][-1]
    if service.get("background_jobs"):
        print(f"note: the vault had a job queue ({service['background_jobs']}): add_document enqueued text extraction")


def print_audit(runs: list[dict]) -> None:
    print()
    header = (f"{'backend':<11} {'events':>10} {'ok':>3} {'verify s':>9} {'events/s':>9} "
              f"{'sha256 floor ev/s':>18} {'ratio':>6} {'in-memory ev/s':>15} {'ratio':>6} {'DB share':>9} {'build s':>8}")
    print(header)
    print("-" * len(header))
    for r in runs:
        if "skipped" in r:
            print(f"{r['backend']:<11} skipped: {r['skipped']}")
            continue
        print(f"{r['backend']:<11} {r['events_verified']:>10,} {('yes' if r['ok'] else 'NO'):>3} {r['verify_seconds']:>9.2f} "
              f"{r['verify_events_per_s']:>9,} {r['floor_sha256_events_per_s']:>18,} {r['ratio_vs_sha256_floor']:>6.3f} "
              f"{r['in_memory_verify_events_per_s']:>15,} {r['ratio_vs_in_memory_verify']:>6.3f} "
              f"{r['db_share_of_verify']:>9.0%} {r['build_seconds']:>8.1f}")
        if not r["ok"]:
            print(f"  chain reported broken at seq {r['first_broken_seq']}: {r['reason']}")
    print("events = every event in the trail (inserted + those init wrote); sha256 floor = plain SHA-256 chained over the\n"
          "same canonical bytes in a Python loop; in-memory = domain verify_chain (canonical JSON + HMAC) on rows held\n"
          "in memory; DB share = 1 - in-memory time / verify time; build s = untimed setup (chain + insert)")


def _meta(args, docs: int, events: int) -> dict:
    import cryptography
    import sqlalchemy

    return {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "argv": sys.argv[1:], "quick": args.quick, "docs": docs, "doc_bytes": args.size_kb * 1000,
            "customers": args.customers, "events": events, "dir": str(args.dir) if args.dir else None,
            "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "cpu": cpu_model(), "sqlalchemy": sqlalchemy.__version__, "cryptography": cryptography.__version__,
            "loadavg_start": loadavg(),
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def _positive(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
