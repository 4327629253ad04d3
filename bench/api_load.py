"""API under load: `clientfolio serve` with 1 and N worker processes, many keep-alive clients, a read mix.

    python -m bench.api_load [--duration 60] [--clients 50] [--docs 500] [--workers 1,4] [--quick] [--dir D]
                             [--mix list=30,search=25,metadata=25,download=20] [--output FILE]

Setup (untimed): a fresh SQLite vault in a temp folder, --docs text documents of 200,000 bytes (Chinese and
English words from a small vocabulary, so searches hit) spread over 50 customers with services.documents,
then `clientfolio worker --once` (text extraction + indexing), then an API token from `clientfolio token create`.

Baseline, same run, same vault: services.versions.read_version over every document in-process, chunks
consumed, one caller, best of 2 passes (MB/s): what the vault reads without HTTP in front of it.

For each worker count: `clientfolio serve --port P --workers N` as a subprocess; a load generator in another
process (httpx.AsyncClient per client, HTTP/1.1 keep-alive) runs --clients clients for --duration seconds,
each looping over 30% list (customers or documents page), 25% search (POST /search, one vocabulary word),
25% metadata (GET /documents/{id}), 20% download (GET /documents/{id}/content, whole body read) (--mix
changes the weights). Before the load, each kind is timed alone on the idle server. Every request's latency
(send to last body byte) and status is kept; an error is any non-2xx or exception.
Server memory: VmRSS summed over the server's process tree every 0.5 s (peak of the sum), and the sum of
each process's VmHWM. The load generator shares the machine's cores with the server: its own CPU seconds
are measured and printed so its share can be judged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

# A benchmark must never touch a real vault: settings read these variables before config.toml.
for _name in [n for n in os.environ if n.startswith("CLIENTFOLIO_")]:
    os.environ.pop(_name, None)

import httpx  # noqa: E402  (after the environment is cleaned)

from bench.runinfo import cpu_model, git, loadavg, shown  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "api_load.json"
DOC_BYTES = 200_000
CUSTOMERS = 50
PAGE = 50
MIX = {"list": 30, "search": 25, "metadata": 25, "download": 20}  # percent; --mix changes it
KINDS = tuple(MIX)
QUICK = {"duration": 10.0, "clients": 20, "docs": 100}
CHINESE = ("合同 发票 收据 账户 余额 付款 签名 保险 贷款 租赁 证书 护照 银行 转账 税务 报告 审核 公司 客户 地址 "
           "期限 续约 担保 信托 股份 存款 资本 合规 风险 档案").split()
ENGLISH = ("contract invoice receipt account balance payment signature insurance loan lease certificate passport "
           "bank transfer tax report review company customer address period renewal guarantee trust share deposit "
           "capital compliance risk archive").split()
VOCABULARY = CHINESE + ENGLISH  # what the clients search for
WORDS_PER_DOC = 16  # each document holds its own 16 of the 60 words: one search word hits about a quarter of them
# The rest of every line: words no search word is part of, so a word occurs ~200 times per document, not 2,000.
FILLER = ("今天 明天 会议 项目 进度 安排 讨论 通知 部门 同事 电话 邮件 时间 地点 问题 计划 目标 结果 情况 工作 "
          "天气 午饭 楼层 窗户 桌子 椅子 打印 复印 材料 文件夹 "
          "the of and to in for on with meeting project schedule note team phone email time place question plan "
          "goal result status work weather lunch floor window desk chair printer folder").split()
assert not any(w in f for w in CHINESE for f in FILLER) and not set(ENGLISH) & set(FILLER)
API = "/api/v1"


# ------------------------------------------------------------------------------------------------ setup


def make_text(i: int, size: int = DOC_BYTES) -> bytes:
    """Exactly `size` bytes of UTF-8: lines of 11 filler words and one of this document's 16 search words."""
    rng = random.Random(i)
    words = rng.sample(VOCABULARY, WORDS_PER_DOC)
    lines, length = [f"Clientfolio benchmark document {i}\n"], 0
    length = len(lines[0].encode())
    while length < size - 200:
        line = " ".join([*(rng.choice(FILLER) for _ in range(11)), rng.choice(words)]) + "。\n"
        lines.append(line)
        length += len(line.encode())
    data = "".join(lines).encode()
    return data + b"." * (size - len(data))


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "clientfolio"
    return subprocess.run([str(exe), "--home", str(home), *args], capture_output=True, text=True, env=_clean_env(),
                          check=True)


def _clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith("CLIENTFOLIO_")}


def build_vault(home: Path, docs: int, log, *, index: bool = True) -> dict:
    from clientfolio import bootstrap
    from clientfolio.services import customers, documents

    began = time.perf_counter()
    vault = bootstrap.init_vault(home)
    try:
        codes = [customers.add_customer(vault=vault, actor="admin", name=f"Load Customer {i:02d}",
                                        kind="person" if i % 3 else "organization", tier="standard").code
                 for i in range(CUSTOMERS)]
        ids = []
        for i in range(docs):
            view = documents.add_document(vault=vault, actor="admin", customer_code=codes[i % len(codes)],
                                          content=[make_text(i)], original_name=f"note-{i:05d}.txt",
                                          category="communication")
            ids.append(view.id)
            if (i + 1) % 100 == 0:
                log(f"    {i + 1:,} documents added")
    finally:
        bootstrap.dispose_engines()
    added = time.perf_counter() - began
    began = time.perf_counter()
    if index:  # without it the queued jobs stay queued: nothing in the mix needs the text
        log("  extracting text and indexing (clientfolio worker --once) ...")
        cli(home, "worker", "--once")
    indexed = time.perf_counter() - began if index else None
    token = json.loads(cli(home, "--json", "token", "create", "api-load").stdout)["token"]
    return {"ids": ids, "token": token, "add_seconds": round(added, 1),
            "index_seconds": indexed and round(indexed, 1)}


def measure_baseline(home: Path, ids: list[int], passes: int = 2) -> dict:
    """services.versions.read_version over every document, chunks consumed, in this process; best of `passes`."""
    from clientfolio import bootstrap
    from clientfolio.services import versions

    vault = bootstrap.open_vault(home)
    best = float("inf")
    try:
        for _ in range(passes):
            nbytes = 0
            began = time.perf_counter()
            for document_id in ids:
                for chunk in versions.read_version(vault=vault, actor="admin", document_id=document_id).chunks:
                    nbytes += len(chunk)
            best = min(best, time.perf_counter() - began)
            if nbytes != len(ids) * DOC_BYTES:
                raise RuntimeError(f"read_version returned {nbytes:,} bytes, expected {len(ids) * DOC_BYTES:,}")
    finally:
        bootstrap.dispose_engines()
    return {"docs": len(ids), "passes": passes, "seconds": round(best, 3), "MBps": round(nbytes / 1e6 / best, 1),
            "ms_per_read": round(best / len(ids) * 1e3, 2)}


# ------------------------------------------------------------------------------------------------ server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tree(root: int) -> list[int]:
    """root and its descendants, from /proc/*/stat."""
    children = defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _status_kb(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class MemorySampler(threading.Thread):
    """VmRSS summed over the server's process tree every `interval` s; keeps the peak sum and each VmHWM."""

    def __init__(self, pid: int, interval: float = 0.5):
        super().__init__(daemon=True)
        self.pid, self.interval, self.stop = pid, interval, threading.Event()
        self.peak_rss_kb, self.hwm_kb, self.processes, self.samples = 0, {}, 0, 0

    def run(self) -> None:
        while True:
            self.sample()
            if self.stop.wait(self.interval):
                return

    def sample(self) -> None:
        pids = _tree(self.pid)
        total = 0
        for pid in pids:
            status = _status_kb(pid)
            total += status.get("VmRSS", 0)
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), status.get("VmHWM", 0))
        self.peak_rss_kb = max(self.peak_rss_kb, total)
        self.processes = max(self.processes, len(pids))
        self.samples += 1


class Server:
    """`clientfolio serve` in its own session; stop() sends SIGTERM, then SIGKILL to its group after a timeout."""

    def __init__(self, home: Path, workers: int, log_path: Path):
        self.port, self.workers, self.log_path = _free_port(), workers, log_path
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).parent / "clientfolio"
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen([str(exe), "--home", str(home), "serve", "--port", str(self.port),
                                      "--workers", str(workers)], env=_clean_env(), stdout=self._log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.memory = MemorySampler(self.proc.pid)
        self.memory.start()
        self.exit: dict = {}

    def wait_ready(self, timeout: float = 90.0) -> float:
        began = time.perf_counter()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}{API}/openapi.json", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)
        # With several workers the first answer comes from one of them: wait until all are up.
        while self.workers > 1 and len(_tree(self.proc.pid)) < self.workers + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        return time.perf_counter() - began

    def cpu_seconds(self) -> float:
        return _cpu_seconds(_tree(self.proc.pid))

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc.poll() is None:
            began = time.perf_counter()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
                self.exit = {"signal": "SIGTERM", "returncode": self.proc.returncode,
                             "seconds": round(time.perf_counter() - began, 2)}
            except subprocess.TimeoutExpired:
                self.exit = {"signal": "SIGKILL", "after_seconds": timeout}
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # anything of its group still there (a stuck worker)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.memory.stop.set()
        self.memory.join()
        self._log.close()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_summary(self) -> dict:
        """What the server printed besides its start-up line (uvicorn logs at warning level): how many lines and
        tracebacks, the most frequent exception lines, and the last lines."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("Clientfolio API on")]
        exceptions = Counter(line.strip()[:200] for line in lines
                             if re.match(r"^[\w.]+(Error|Exception)\b", line.strip()))
        return {"lines": len(lines), "tracebacks": sum(1 for line in lines if line.startswith("Traceback")),
                "exceptions": exceptions.most_common(10), "last_lines": lines[-100:]}


# ------------------------------------------------------------------------------------------------ load


def _load_process(conn, plan: dict) -> None:
    """The load generator (its own process): reports 'start', then the records, its CPU and wall seconds."""
    try:
        conn.send(asyncio.run(_load(conn, plan)))
    except BaseException as exc:  # noqa: BLE001  (the parent prints it)
        conn.send({"failed": f"{type(exc).__name__}: {exc}"})
    finally:
        conn.close()


async def _load(conn, plan: dict) -> dict:
    records: list[tuple] = []  # (kind, detail, started_s, latency_s, status, bytes)
    errors: list[str] = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    deadline = t0 + plan["duration"]
    conn.send("start")
    await asyncio.gather(*(_client(plan, random.Random(plan["seed"] + n), t0, deadline, records, errors)
                           for n in range(plan["clients"])))
    return {"records": records, "mix": plan["mix"], "errors": Counter(errors).most_common(20),
            "error_count": len(errors),
            "cpu_seconds": time.process_time() - cpu0, "wall_seconds": time.perf_counter() - t0}


async def _client(plan: dict, rng: random.Random, t0: float, deadline: float, records: list, errors: list) -> None:
    kinds, weights = zip(*plan["mix"].items())
    ids = plan["ids"]
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    headers = {"Authorization": f"Bearer {plan['token']}"}
    async with httpx.AsyncClient(base_url=plan["url"] + API, headers=headers, http2=False, limits=limits,
                                 timeout=httpx.Timeout(300.0)) as client:
        while time.perf_counter() < deadline:
            kind = rng.choices(kinds, weights)[0]
            detail, began, nbytes = kind, time.perf_counter(), 0
            try:
                if kind == "list":
                    detail = "list customers" if rng.random() < 0.5 else "list documents"
                    if detail == "list customers":
                        response = await client.get("/customers", params={"limit": PAGE, "offset": 0})
                    else:
                        offset = rng.randrange(max(1, len(ids) - PAGE + 1))
                        response = await client.get("/documents", params={"limit": PAGE, "offset": offset})
                    nbytes = len(response.content)
                elif kind == "search":
                    response = await client.post("/search", json={"query": rng.choice(VOCABULARY)})
                    nbytes = len(response.content)
                elif kind == "metadata":
                    response = await client.get(f"/documents/{rng.choice(ids)}")
                    nbytes = len(response.content)
                else:
                    head = b""
                    async with client.stream("GET", f"/documents/{rng.choice(ids)}/content") as response:
                        async for chunk in response.aiter_raw():
                            nbytes += len(chunk)
                            head = head or chunk[:300]
                status = response.status_code
                if not 200 <= status < 300:
                    body = response.content if kind != "download" else head
                    errors.append(f"{detail}: HTTP {status} {body[:300]!r}")
                elif kind == "download" and nbytes != DOC_BYTES:
                    status = "short body"
                    errors.append(f"download: {nbytes:,} bytes, expected {DOC_BYTES:,}")
            except Exception as exc:  # noqa: BLE001  (counted and reported as an error)
                status = type(exc).__name__
                errors.append(f"{detail}: {type(exc).__name__}: {str(exc) or 'the server closed the connection'}"[:400])
            end = time.perf_counter()
            records.append((kind, detail, began - t0, end - began, status, nbytes))


def run_load(plan: dict, server: Server) -> dict:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_load_process, args=(child, plan), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(120):
            raise RuntimeError("the load generator did not start")
        first = parent.recv()
        if first != "start":
            raise RuntimeError(f"load generator: {first.get('failed', first)}")
        load_start, cpu_start = loadavg(), server.cpu_seconds()
        if not parent.poll(plan["duration"] + 600):
            raise RuntimeError("the load generator did not finish")
        result = parent.recv()
        cpu_end, load_end = server.cpu_seconds(), loadavg()
        proc.join(30)
    finally:
        if proc.is_alive():
            proc.terminate()
            proc.join(10)
    if "failed" in result:
        raise RuntimeError(f"load generator: {result['failed']}")
    result.update(loadavg_start=load_start, loadavg_end=load_end, server_cpu_seconds=round(cpu_end - cpu_start, 1))
    return result


def warm_up(url: str, token: str, ids: list[int], workers: int, mix: dict) -> dict:
    """Rounds of one request of each kind on a fresh connection, one at a time, untimed for the load figures:
    every worker opens the vault and the index. The median of the rounds after the first is each kind's latency
    with nothing else running (in ms), to tell a request's own cost from queueing under load."""
    headers, alone = {"Authorization": f"Bearer {token}"}, defaultdict(list)
    for i in range(2 * workers + 1):
        word, document_id = VOCABULARY[i % len(VOCABULARY)], ids[i % len(ids)]
        with httpx.Client(base_url=url + API, headers=headers, timeout=300) as client:
            for name, call in (("list customers", lambda: client.get("/customers", params={"limit": PAGE})),
                               ("list documents", lambda: client.get("/documents", params={"limit": PAGE})),
                               ("search", lambda: client.post("/search", json={"query": word})),
                               ("metadata", lambda: client.get(f"/documents/{document_id}")),
                               ("download", lambda: client.get(f"/documents/{document_id}/content"))):
                if name.split()[0] not in mix:
                    continue
                began = time.perf_counter()
                call().raise_for_status()
                if i:
                    alone[name].append((time.perf_counter() - began) * 1e3)
    return {name: round(statistics.median(values), 1) for name, values in alone.items()}


# ------------------------------------------------------------------------------------------------ figures


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest rank, in ms; `ordered` sorted ascending and not empty."""
    return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))] * 1e3, 1)


def _stats(rows: list[tuple], seconds: float) -> dict:
    latencies = sorted(r[3] for r in rows)
    errors = sum(1 for r in rows if not (isinstance(r[4], int) and 200 <= r[4] < 300))
    stats = {"requests": len(rows), "per_s": round(len(rows) / seconds, 1), "errors": errors,
             "bytes": sum(r[5] for r in rows)}
    if latencies:
        stats.update(p50_ms=_percentile(latencies, 0.50), p95_ms=_percentile(latencies, 0.95),
                     p99_ms=_percentile(latencies, 0.99), max_ms=round(latencies[-1] * 1e3, 1))
    return stats


def summarize(load: dict, workers: int, clients: int, duration: float, baseline: dict, server: Server,
              ready_seconds: float) -> dict:
    records, seconds = load["records"], load["wall_seconds"]
    kinds = {"all": _stats(records, seconds)}
    for kind in KINDS:
        kinds[kind] = _stats([r for r in records if r[0] == kind], seconds)
    for detail in ("list customers", "list documents"):
        kinds[detail] = _stats([r for r in records if r[1] == detail], seconds)
    downloads = [r for r in records if r[0] == "download" and r[4] == 200]
    download_mbps = sum(r[5] for r in downloads) / 1e6 / seconds
    hwm = sum(server.memory.hwm_kb.values())
    return {"workers": workers, "clients": clients, "duration_s": duration, "mix": load["mix"],
            "wall_seconds": round(seconds, 2),
            "ready_seconds": round(ready_seconds, 1), "kinds": kinds, "errors": load["errors"],
            "error_count": kinds["all"]["errors"],
            "download_MBps": round(download_mbps, 2),
            "download_ratio_vs_baseline": round(download_mbps / baseline["MBps"], 3),
            "server_rss_peak_MB": round(server.memory.peak_rss_kb / 1024, 1),
            "server_vmhwm_sum_MB": round(hwm / 1024, 1), "server_processes": server.memory.processes,
            "memory_samples": server.memory.samples,
            "server_cpu_seconds": load["server_cpu_seconds"],
            "loadgen_cpu_seconds": round(load["cpu_seconds"], 1),
            "loadavg_start": load["loadavg_start"], "loadavg_end": load["loadavg_end"]}


def print_run(r: dict, baseline: dict) -> None:
    print(f"\n== {r['workers']} worker process{'es' if r['workers'] > 1 else ''}: {r['clients']} clients for "
          f"{r['duration_s']:g} s (measured {r['wall_seconds']:.1f} s) ==")
    header = (f"{'kind':<18} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'errors':>7} {'alone ms':>9}")
    print(header)
    print("-" * len(header))
    for name in (*KINDS[:1], "list customers", "list documents", *KINDS[1:], "all"):
        k = r["kinds"][name]
        label = f"  {name[5:]} page" if name.startswith("list ") else name
        if not k["requests"]:
            print(f"{label:<18} {0:>9} {'-':>8} {'-':>8} {'-':>8} {'-':>8} {'-':>8} {'-':>7} {_alone(r, name):>9}")
            continue
        print(f"{label:<18} {k['requests']:>9,} {k['per_s']:>8,.1f} {k['p50_ms']:>8,.1f} {k['p95_ms']:>8,.1f} "
              f"{k['p99_ms']:>8,.1f} {k['max_ms']:>8,.0f} {k['errors']:>7,} {_alone(r, name):>9}")
    print("alone ms = median latency of the same request sent on its own before the load (no queueing)")
    print(f"download: {r['download_MBps']:,.2f} MB/s = {r['download_ratio_vs_baseline']:.3f} of the vault's own "
          f"read_version ({baseline['MBps']:,.1f} MB/s, one caller in-process)")
    print(f"server: RSS peak {r['server_rss_peak_MB']:,.0f} MB summed over {r['server_processes']} process(es) "
          f"(sum of VmHWM {r['server_vmhwm_sum_MB']:,.0f} MB); CPU {r['server_cpu_seconds']:,.1f} s "
          f"= {r['server_cpu_seconds'] / r['wall_seconds']:.2f} cores; "
          f"ready in {r['ready_seconds']:.1f} s")
    cores = os.cpu_count() or 1
    print(f"load generator: CPU {r['loadgen_cpu_seconds']:,.1f} s = {r['loadgen_cpu_seconds'] / r['wall_seconds']:.0%} "
          f"of one core, on the same {cores} cores as the server (it competes with it)")
    print(f"load average (1 min): {r['loadavg_start']} at start, {r['loadavg_end']} at end")
    if r["error_count"]:
        print(f"ERRORS: {r['error_count']:,} requests failed:")
        for message, count in r["errors"]:
            print(f"  {count:>6,} x {message}")
    log = r["server_log"]
    if log["lines"]:
        print(f"server printed {log['lines']:,} line(s), {log['tracebacks']:,} traceback(s)"
              + (":" if log["exceptions"] else ""))
        for line, count in log["exceptions"][:5]:
            print(f"  {count:>6,} x {line[:160]}")
    if r.get("server_exit", {}).get("signal") == "SIGKILL":
        print(f"note: the server did not stop within {r['server_exit']['after_seconds']:.0f} s of SIGTERM: killed")


def _alone(r: dict, name: str) -> str:
    value = r.get("alone_ms", {}).get(name)
    if value is None and name == "list":
        parts = [r.get("alone_ms", {}).get(n) for n in ("list customers", "list documents")]
        value = statistics.mean(parts) if None not in parts else None
    return "" if value is None or name == "all" else f"{value:,.1f}"


def print_summary(runs: list[dict], baseline: dict) -> None:
    print("\n== summary ==")
    header = (f"{'workers':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} "
              f"{'dl MB/s':>8} {'dl/base':>8} {'RSS peak MB':>12} {'srv CPU s':>10} {'gen CPU s':>10} {'load':>11}")
    print(header)
    print("-" * len(header))
    for r in runs:
        a = r["kinds"]["all"]
        print(f"{r['workers']:>7} {a['per_s']:>8,.1f} {a['p50_ms']:>8,.1f} {a['p95_ms']:>8,.1f} {a['p99_ms']:>8,.1f} "
              f"{a['errors']:>7,} {r['download_MBps']:>8,.2f} {r['download_ratio_vs_baseline']:>8.3f} "
              f"{r['server_rss_peak_MB']:>12,.0f} {r['server_cpu_seconds']:>10,.1f} {r['loadgen_cpu_seconds']:>10,.1f} "
              f"{r['loadavg_start']:>5}->{r['loadavg_end']:<5}")
    share = runs[0]["mix"].get("download", 0) / sum(runs[0]["mix"].values()) if runs else 0
    print(f"baseline: services.versions.read_version in-process, one caller: {baseline['MBps']:,.1f} MB/s "
          f"({baseline['ms_per_read']:.2f} ms per 200 kB document, best of {baseline['passes']})\n"
          f"dl/base = download MB/s under the mix (downloads are {share:.0%} of requests) / baseline MB/s;\n"
          "RSS peak = VmRSS summed over the server's process tree, sampled every 0.5 s;\n"
          "CPU s = user+sys seconds during the run (server: its process tree; gen: the load generator);\n"
          "load = 1-minute load average at start -> end of the run")


# ------------------------------------------------------------------------------------------------ main


def run(*, duration: float, clients: int, docs: int, workers: list[int], mix: dict[str, float],
        base_dir: Path | None, log) -> dict:
    meta = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv[1:],
            "duration_s": duration, "clients": clients, "docs": docs, "doc_bytes": DOC_BYTES,
            "customers": CUSTOMERS, "workers": workers, "mix": mix, "cpus": os.cpu_count(),
            "cpu": cpu_model(), "python": platform.python_version(), "platform": platform.platform(),
            "httpx": httpx.__version__,
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")), "loadavg_start": loadavg()}
    base = Path(tempfile.mkdtemp(prefix="cf-bench-api-", dir=base_dir))
    server = None
    try:
        home = base / "home"
        log(f"  building a vault: {docs:,} text documents of {DOC_BYTES:,} bytes over {CUSTOMERS} customers ...")
        vault = build_vault(home, docs, log, index="search" in mix)
        log("  baseline: read_version in-process (best of 2) ...")
        baseline = measure_baseline(home, vault["ids"])
        runs = []
        for n in workers:
            log(f"  serve --workers {n}: starting ...")
            server = Server(home, n, base / f"serve-{n}.log")
            ready = server.wait_ready()
            alone = warm_up(server.url, vault["token"], vault["ids"], n, mix)
            log(f"  serve --workers {n}: {clients} clients for {duration:g} s ...")
            plan = {"url": server.url, "token": vault["token"], "ids": vault["ids"], "clients": clients,
                    "duration": duration, "mix": mix, "seed": 7}
            load = run_load(plan, server)
            server.stop()
            result = summarize(load, n, clients, duration, baseline, server, ready)
            result.update(alone_ms=alone, server_exit=server.exit, server_log=server.log_summary())
            server = None
            runs.append(result)
        meta["loadavg_end"] = loadavg()
        return {"meta": meta, "setup": {k: vault[k] for k in ("add_seconds", "index_seconds")},
                "baseline": baseline, "runs": runs}
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(base, ignore_errors=True)


def _workers(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("a comma-separated list of worker counts, e.g. 1,4") from None
    if not values or any(v < 1 or v > 64 for v in values):
        raise argparse.ArgumentTypeError("worker counts between 1 and 64, e.g. 1,4")
    return values


def _mix(text: str) -> dict[str, float]:
    mix = dict.fromkeys(KINDS, 0.0)
    try:
        for item in text.split(","):
            kind, _, weight = item.partition("=")
            if kind.strip() not in mix:
                raise ValueError
            mix[kind.strip()] = float(weight)
    except ValueError:
        raise argparse.ArgumentTypeError(f"kind=weight pairs of {', '.join(KINDS)}, e.g. list=30,download=70") from None
    if any(w < 0 for w in mix.values()) or not sum(mix.values()):
        raise argparse.ArgumentTypeError("weights must be positive or 0, not all 0")
    return {k: w for k, w in mix.items() if w}


def _sigterm(signum, frame):
    raise KeyboardInterrupt  # so the finally blocks stop the server and remove the temp folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, help="seconds of load per worker count (default 60)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 50)")
    parser.add_argument("--docs", type=int, help="documents of 200 kB in the vault (default 500)")
    parser.add_argument("--workers", type=_workers, default=[1, 4], help="worker counts to measure (default 1,4)")
    parser.add_argument("--mix", type=_mix, default=dict(MIX),
                        help="weights of the request kinds (default list=30,search=25,metadata=25,download=20)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['duration']:g} s, {QUICK['clients']} clients, {QUICK['docs']} documents")
    parser.add_argument("--dir", type=Path, help="parent of the temporary vault (default: the system temp dir)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else {"duration": 60.0, "clients": 50, "docs": 500}
    duration, clients, docs = (args.duration or sizes["duration"], args.clients or sizes["clients"],
                               args.docs or sizes["docs"])
    if duration <= 0 or clients < 1 or docs < 1:
        parser.error("--duration, --clients and --docs must be positive")
    signal.signal(signal.SIGTERM, _sigterm)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    print(f"clientfolio API under load  ({datetime.now(timezone.utc).isoformat(timespec='seconds')}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, commit {git('rev-parse', '--short', 'HEAD')})")
    print(f"{docs:,} text documents of {DOC_BYTES:,} bytes over {CUSTOMERS} customers; {clients} clients "
          f"(httpx.AsyncClient each, HTTP/1.1 keep-alive) in one load-generator process on the same machine;\n"
          f"mix: " + ", ".join(f"{p / sum(args.mix.values()):.0%} {k}" for k, p in args.mix.items())
          + f"; worker counts {','.join(map(str, args.workers))}")
    try:
        results = run(duration=duration, clients=clients, docs=docs, workers=args.workers, mix=args.mix,
                      base_dir=args.dir, log=log)
    except KeyboardInterrupt:
        print("interrupted: server stopped, temporary vault removed", file=sys.stderr)
        return 130
    baseline = results["baseline"]
    indexed = results["setup"]["index_seconds"]
    print(f"setup (untimed): documents added in {results['setup']['add_seconds']:.0f} s, "
          + (f"text extracted and indexed in {indexed:.0f} s" if indexed is not None else
             "no text extraction or index (no search in the mix)"))
    for r in results["runs"]:
        print_run(r, baseline)
    print_summary(results["runs"], baseline)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nload average (1 min) {results['meta']['loadavg_start']} at start, {results['meta']['loadavg_end']} at "
          f"end. Results written to {shown(args.output)}")
    return 1 if any(r["error_count"] for r in results["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
