"""Store throughput: add and read back N documents of S bytes, against an in-memory crypto floor.

Levels, all over the same random (incompressible) payloads:
  floor      AESGCM(key).encrypt + hashlib.sha256 of each buffer in memory (write floor), and
             AESGCM(key).decrypt + hashlib.sha256 of the sealed buffers (read floor). Best of 3 passes,
             measured before and after the other levels; the faster measurement is the floor.
  blobstore  LocalBlobStore.put([payload]) then LocalBlobStore.read(blob_id, expected_sha256=...),
             once with durable=True (fsync file + directories) and once with durable=False.
  service    bootstrap.init_vault in a temp home (SQLite), ~20 customers, then
             services.documents.add_document per payload and services.versions.read_version with its
             chunks consumed: authorization, two transactions per add (authorize, then record), the
             audit event in the same transaction, the blob fsyncs and the SQLite commit (WAL,
             synchronous=FULL) all count.

MB here is 10**6 bytes. Reads follow the writes in the same process, so they are served from the page
cache (warm): they measure decrypt + hash + the store's own bookkeeping, not the disk.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from clientfolio import bootstrap
from clientfolio.adapters.blobstore import LocalBlobStore
from clientfolio.adapters.crypto import Keyring, generate_master_key
from clientfolio.services import customers, documents, versions

# Every payload starts like a PDF so media sniffing is deterministic: purely random bytes begin with a
# known magic number now and then (b"MZ", a Windows program, is refused), which would fail the run.
_PREFIX = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
_CATEGORIES = [("contract", "formal"), ("finance", "invoice"), ("signed_form", None),
               ("id_document", "resident_id"), ("communication", None), ("finance", "statement")]


def make_payloads(count: int, size: int) -> list[bytes]:
    return [_PREFIX + os.urandom(max(0, size - len(_PREFIX))) for _ in range(count)]


def _mb(nbytes: int) -> float:
    return nbytes / 1e6


def measure_floor(payloads: list[bytes], passes: int = 3) -> dict:
    """Best of `passes`: seal + hash every payload, then open + hash every sealed payload, in memory."""
    total = sum(len(p) for p in payloads)
    best_enc = best_dec = float("inf")
    for _ in range(passes):
        key, nonce, aad = AESGCM.generate_key(256), os.urandom(12), b"bench"
        began = time.perf_counter()
        sealed = []
        for payload in payloads:
            sealed.append(AESGCM(key).encrypt(nonce, payload, aad))
            hashlib.sha256(payload).hexdigest()
        best_enc = min(best_enc, time.perf_counter() - began)
        began = time.perf_counter()
        for blob in sealed:
            hashlib.sha256(AESGCM(key).decrypt(nonce, blob, aad)).hexdigest()
        best_dec = min(best_dec, time.perf_counter() - began)
        del sealed
    return {"level": "floor (AES-256-GCM + SHA-256, in memory)", "docs": len(payloads), "bytes": total,
            "write_seconds": round(best_enc, 4), "read_seconds": round(best_dec, 4),
            "write_MBps": round(_mb(total) / best_enc, 1), "read_MBps": round(_mb(total) / best_dec, 1),
            "docs_per_s": round(len(payloads) / (best_enc + best_dec), 1)}


def measure_blobstore(payloads: list[bytes], base_dir: Path | None, *, durable: bool) -> dict:
    total = sum(len(p) for p in payloads)
    with tempfile.TemporaryDirectory(prefix="cf-bench-blobs-", dir=base_dir) as tmp:
        store = LocalBlobStore(Path(tmp) / "blobs", Keyring(generate_master_key()), durable=durable)
        os.sync()  # start from clean page cache writeback: earlier phases must not bill this one
        began = time.perf_counter()
        stored = [store.put([payload]) for payload in payloads]
        write_s = time.perf_counter() - began
        os.sync()  # (untimed) flush what durable=False left dirty, so the reads do not pay for it
        read_bytes = 0
        began = time.perf_counter()
        for blob in stored:
            read_bytes += len(store.read(blob.blob_id, expected_sha256=blob.sha256))
        read_s = time.perf_counter() - began
    if read_bytes != total:
        raise RuntimeError(f"blob store returned {read_bytes} bytes, expected {total}")
    return _level(f"blobstore (durable={durable})", payloads, total, write_s, read_s, durable=durable)


def measure_service(payloads: list[bytes], base_dir: Path | None, *, customer_count: int = 20) -> dict:
    total = sum(len(p) for p in payloads)
    with tempfile.TemporaryDirectory(prefix="cf-bench-vault-", dir=base_dir) as tmp:
        vault = bootstrap.init_vault(Path(tmp) / "home")
        try:
            codes = [customers.add_customer(vault=vault, actor="admin", name=f"Bench Customer {i:02d}",
                                            kind="person" if i % 3 else "organization", tier="standard").code
                     for i in range(customer_count)]
            jobs = type(vault.jobs).__name__ if vault.jobs is not None else None
            os.sync()
            ids = []
            began = time.perf_counter()
            for i, payload in enumerate(payloads):
                category, subtype = _CATEGORIES[i % len(_CATEGORIES)]
                view = documents.add_document(vault=vault, actor="admin", customer_code=codes[i % len(codes)],
                                              content=[payload], original_name=f"scan-{i:05d}.pdf",
                                              category=category, subtype=subtype)
                ids.append(view.id)
            write_s = time.perf_counter() - began
            os.sync()
            read_bytes = 0
            began = time.perf_counter()
            for document_id in ids:
                download = versions.read_version(vault=vault, actor="admin", document_id=document_id)
                for chunk in download.chunks:
                    read_bytes += len(chunk)
            read_s = time.perf_counter() - began
        finally:
            bootstrap.dispose_engines()
    if read_bytes != total:
        raise RuntimeError(f"service returned {read_bytes} bytes, expected {total}")
    result = _level("service (add_document / read_version)", payloads, total, write_s, read_s, durable=True)
    result.update(customers=customer_count, background_jobs=jobs)
    return result


def _level(name: str, payloads: list[bytes], total: int, write_s: float, read_s: float, **extra) -> dict:
    n = len(payloads)
    return {"level": name, "docs": n, "bytes": total, **extra,
            "write_seconds": round(write_s, 3), "read_seconds": round(read_s, 3),
            "write_MBps": round(_mb(total) / write_s, 1), "read_MBps": round(_mb(total) / read_s, 1),
            "write_docs_per_s": round(n / write_s, 1), "read_docs_per_s": round(n / read_s, 1),
            "docs_per_s": round(n / (write_s + read_s), 1)}


def fsync_probe(base_dir: Path | None, count: int = 100) -> dict:
    """Median and 90th percentile of (write 4 KiB + fsync) on the file system the benchmark writes to."""
    samples = []
    with tempfile.TemporaryDirectory(prefix="cf-bench-fsync-", dir=base_dir) as tmp:
        fd = os.open(Path(tmp) / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            block = os.urandom(4096)
            for _ in range(count):
                os.write(fd, block)
                began = time.perf_counter()
                os.fsync(fd)
                samples.append(time.perf_counter() - began)
        finally:
            os.close(fd)
    samples.sort()
    return {"fsync_median_ms": round(samples[len(samples) // 2] * 1e3, 3),
            "fsync_p90_ms": round(samples[int(len(samples) * 0.9)] * 1e3, 3)}


def run(docs: int, size: int, base_dir: Path | None, log=print, customer_count: int = 20) -> dict:
    log(f"  generating {docs:,} random payloads of {size:,} bytes ...")
    payloads = make_payloads(docs, size)
    log("  floor: AES-256-GCM + SHA-256 in memory (best of 3) ...")
    floors = [measure_floor(payloads)]
    levels = []
    for durable in (True, False):
        log(f"  blob store alone, durable={durable} ...")
        levels.append(measure_blobstore(payloads, base_dir, durable=durable))
    log("  full service path (init_vault, add_document, read_version) ...")
    levels.append(measure_service(payloads, base_dir, customer_count=customer_count))
    log("  floor again (the machine may be shared: the faster of the two is used) ...")
    floors.append(measure_floor(payloads))
    floor = dict(max(floors, key=lambda f: f["write_MBps"]))
    floor["write_MBps"] = max(f["write_MBps"] for f in floors)
    floor["read_MBps"] = max(f["read_MBps"] for f in floors)
    floor["write_seconds"] = min(f["write_seconds"] for f in floors)
    floor["read_seconds"] = min(f["read_seconds"] for f in floors)
    floor["docs_per_s"] = round(docs / (floor["write_seconds"] + floor["read_seconds"]), 1)
    floor["runs"] = [{k: f[k] for k in ("write_MBps", "read_MBps")} for f in floors]
    for level in levels:
        level["write_ratio_vs_floor"] = round(level["write_MBps"] / floor["write_MBps"], 3)
        level["read_ratio_vs_floor"] = round(level["read_MBps"] / floor["read_MBps"], 3)
    durable, loose, service = levels
    derived = {
        # Share of the blob store's write time that goes to fsync (file, directory, new fan-out folders).
        "fsync_share_of_blobstore_write": round(1 - loose["write_seconds"] / durable["write_seconds"], 3),
        # What the service adds per document on top of the durable blob store: two transactions with the
        # audit event, authorization, sniffing, sealing the original name, the SQLite commit.
        "service_overhead_ms_per_add": round((service["write_seconds"] - durable["write_seconds"]) / docs * 1e3, 2),
        "service_overhead_ms_per_read": round((service["read_seconds"] - durable["read_seconds"]) / docs * 1e3, 2),
    }
    return {"docs": docs, "doc_bytes": size, "floor": floor, "levels": levels, **derived,
            **fsync_probe(base_dir)}
