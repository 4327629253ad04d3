"""Web pages with 100,000 documents in the vault: issue 5's "Fast" quality (a page of 50 customers or search
results within 200 ms server time), measured against the JSON API and the services in the same run.

    python -m bench.web_pages [--docs 100000] [--customers 1000] [--rounds 30] [--warmup 3]
                              [--workdir D | --dir D] [--rebuild] [--quick] [--output FILE]
    python -m bench --only web [--docs N]

Setup (untimed, kept and reused: building 100,000 documents takes minutes). A SQLite vault in --workdir
(default <temp>/clientfolio-bench-web-<docs>), reused when its state file says it was built with the same
sizes by this version of the builder:
  * 1,000 customers through services.customers.add_customer (persons with a resident ID, organizations with a
    credit code, most with a phone or an e-mail, tiers key/standard/prospect 10/60/30), a clerk user with a
    password (the pages are driven as that clerk: no second factor, no sensitive documents);
  * 300 real documents through services.documents.add_document (UTF-8 text of 0.3-12 kB in Chinese and
    English, a quarter of them text PDFs), text extracted in this process with services.textjobs.extract_text
    and indexed with services.search.catch_up, as the worker would;
  * the rest cloned at the database level with SQLAlchemy Core (documents, versions and tag rows, new ids,
    customers, titles, dates and tags; the same blobs, extracted text and sealed values, whose contexts name
    the blob and the version number only, so they still open), two chained audit events per clone
    (document.create and version.text, with the vault's audit key) so the customer timeline, the dashboard
    and the document trail query a trail of realistic length, and each clone added to the keyed search index
    with the index's own to_tantivy (the segmentation and keyed hashing of a text shared by many clones is
    memoized; the index writer is the product's). `audit verify` must pass and the index must hold every
    document before the state file is written.

Measured: the server is the product's ASGI app (`clientfolio.entrypoints.api.asgi:make_app`, what `clientfolio
serve` runs) under uvicorn in a subprocess with the same options as `serve` (no worker), wrapped by a
bench-only ASGI shim that adds a `Server-Timing: app;dur=<ms>, cpu;dur=<ms>` header: the time from the request
entering the app to the response starting (the pages render before they start), and the server's CPU time
over that span (the better guide when the machine is busy). One httpx client, one keep-alive
connection, signed in as the clerk through the sign-in form. For each case, --warmup untimed requests, then
--rounds rounds in which every case runs in turn: the page, the same data through the JSON API (same session,
so the same sign-in cost), then the service calls the page handler makes, in this process. Printed: p50/p95
of the page as the client sees it over loopback (an upper bound of server time), of the app time and CPU, of
the API and of the services, page/API and page/service ratios of the medians (wall and CPU), and the target
line "50-row page p95 X ms vs 200 ms target". See bench/README.md, section 4.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

# A benchmark must never touch a real vault: settings read these variables before config.toml.
for _name in [n for n in os.environ if n.startswith("CLIENTFOLIO_")]:
    os.environ.pop(_name, None)

import httpx  # noqa: E402  (after the environment is cleaned)

from bench.runinfo import cpu_model, git, loadavg, shown  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "web_pages.json"
BUILDER = 1  # bump when the generated vault changes: an older work folder is rebuilt
MARKER = "clientfolio-bench-web"  # the file that says a work folder is ours (and may be removed)
DEFAULT_DOCS, DEFAULT_CUSTOMERS, REAL_DOCS = 100_000, 1000, 300
QUICK = {"docs": 2000, "customers": 200, "rounds": 10}
TARGET_MS = 200.0
PER_PAGE = 50
CLERK, PASSWORD = "bench.clerk", "Bench-Pages-Passphrase-2026"
BATCH = 5000

COMMON, RARE = "合同", "琥珀"  # in about half of all texts / in the titles of about 1 in 4,000 documents
SURNAMES = "王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 萧".split()
GIVEN = ("伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 霞 平 刚 桂英 建华 志强 春梅 海燕 晓东 文杰 "
         "丹 玲 鹏 辉 宇 浩 欣怡 子轩 雨涵 思远 佳琪 俊杰").split()
CITIES = "上海 北京 深圳 广州 杭州 南京 成都 武汉 苏州 天津 重庆 西安 青岛 厦门 宁波".split()
FIRMS = ("星河 华瑞 恒通 鼎盛 远航 金石 博雅 中和 嘉禾 天成 瑞丰 汇通 宏达 新元 永信 广源 蓝海 明德 "
         "同创 信达").split()
TRADES = "贸易 科技 实业 投资 物流 建设 咨询 医药 食品 电子".split()
EN_NAMES = ("Lin Mei", "Chen Wei", "Anna Schmidt", "David Wong", "Maria Rossi", "Kenji Sato", "Olivia Brown",
            "Lucas Martin", "Sofia Garcia", "Noah Kim")
CN_FILLER = ("今天 明天 会议 项目 进度 安排 讨论 通知 部门 同事 电话 邮件 时间 地点 问题 计划 目标 结果 情况 工作 "
             "办理 确认 提交 材料 文件 说明 根据 双方 约定 相关 规定 执行 负责 完成 期间 费用 标准 方式 内容").split()
EN_FILLER = ("the of and to in for on with meeting project schedule note team phone email time place question "
             "plan goal result status work terms agreed period amount office within before after").split()
TOPICS = {  # category: (subtypes, Chinese words, English words)
    "contract": (["initial", "formal", "renewal", "amendment"], "甲方 乙方 违约 续约 条款 签署 期限 服务 保密 争议".split(),
                 "contract party clause term renewal signed service confidential dispute".split()),
    "finance": (["invoice", "receipt", "statement"], "发票 收据 付款 金额 账户 余额 税务 转账 结算 对账".split(),
                "invoice receipt payment amount account balance tax transfer settlement statement".split()),
    "id_document": (["resident_id", "passport", "business_licence"], "身份证 护照 姓名 性别 民族 出生 住址 签发机关 有效期限".split(),
                    "passport name nationality birth issued expiry authority".split()),
    "signed_form": ([None], "申请表 签名 日期 声明 授权 同意 本人".split(),
                    "form signature date declaration authorization consent".split()),
    "communication": ([None], "来信 回复 邮件 通知 咨询 跟进 拜访".split(),
                      "letter reply email notice inquiry follow-up visit".split()),
    "other": ([None], "备忘 记录 附件 清单 照片".split(), "memo record attachment list photo".split()),
}
CATEGORY_WEIGHTS = {"contract": 30, "finance": 30, "id_document": 12, "signed_form": 10, "communication": 13,
                    "other": 5}
TITLES = {"contract": ["服务合同", "租赁合同", "Service agreement", "保密协议", "Consulting contract"],
          "finance": ["发票", "收据", "Bank statement", "对账单", "Payment receipt"],
          "id_document": ["身份证", "护照", "营业执照", "ID card scan"],
          "signed_form": ["开户申请表", "授权书", "Consent form"],
          "communication": ["客户来信", "回复函", "Email follow-up", "拜访记录"],
          "other": ["备忘录", "Misc. notes", "照片"]}
TAGS = ["原件", "复印件", "urgent", "signed", "scan", "2024", "2025", "审核中", "归档"]


# ------------------------------------------------------------------------------------------------ content


def make_text(rng: random.Random, category: str, size: int, *, chinese: bool = True) -> str:
    """About `size` bytes of lines in the category's words and filler; COMMON in about half of the texts."""
    _, cn, en = TOPICS[category]
    with_common = rng.random() < 0.5
    lines, length = [], 0
    while length < size:
        if chinese and rng.random() < 0.6:
            words = [rng.choice(cn if rng.random() < 0.35 else CN_FILLER) for _ in range(rng.randint(6, 14))]
            if with_common and rng.random() < 0.3:
                words.insert(rng.randrange(len(words)), COMMON)
            line = "".join(words) + "。"
        else:
            words = [rng.choice(en if rng.random() < 0.35 else EN_FILLER) for _ in range(rng.randint(8, 14))]
            line = " ".join(words).capitalize() + "."
        lines.append(line)
        length += len(line.encode()) + 1
    if with_common and COMMON not in "".join(lines):
        lines.append(f"{COMMON}编号 {rng.randint(1000, 9999)}。")
    return "\n".join(lines) + "\n"


def text_size(rng: random.Random, category: str) -> int:
    lo, hi = {"contract": (4000, 12000), "finance": (1000, 4000), "id_document": (300, 800),
              "communication": (1000, 5000)}.get(category, (800, 3000))
    return rng.randint(lo, hi)


def make_pdf(rng: random.Random, category: str) -> bytes:
    """A text PDF of 1-3 pages (Helvetica: English words only), made as bench/ingest.py makes its PDFs."""
    from bench.ingest import _text_pdf

    _, _, en = TOPICS[category]
    pages = [[" ".join(rng.choice(en if rng.random() < 0.35 else EN_FILLER) for _ in range(11))
              for _ in range(rng.randint(20, 36))] for _ in range(rng.randint(1, 3))]
    return _text_pdf(pages)


def customer_names(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(name, kind): unique names, about two persons to one organization, a few Latin names."""
    out, seen = [], set()
    while len(out) < count:
        r = rng.random()
        if r < 0.62:
            name, kind = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.3 else ""), "person"
        elif r < 0.66:
            name, kind = f"{rng.choice(EN_NAMES)} {len(out)}", "person"
        else:
            name, kind = f"{rng.choice(CITIES)}{rng.choice(FIRMS)}{rng.choice(TRADES)}有限公司", "organization"
        if name not in seen:
            seen.add(name)
            out.append((name, kind))
    return out


def resident_id(rng: random.Random, n: int) -> str:
    from stdnum.cn import ric

    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
    stem = f"{rng.choice(['110105', '310104', '440305', '330106', '510107'])}{birth:%Y%m%d}{n % 1000:03d}"
    return stem + ric.calc_check_digit(stem + "0")  # stdnum drops the last character


def credit_code(n: int) -> str:
    from stdnum.cn import uscc

    stem = f"91{rng_digits(n, 6)}{n:09d}"
    return stem + uscc.calc_check_digit(stem)


def rng_digits(n: int, width: int) -> str:
    return f"{(n * 7919) % 10 ** width:0{width}d}"


def dates_for(rng: random.Random, category: str, today: date) -> tuple[date | None, date | None]:
    """(issued_on, expires_on): ID documents and most contracts expire, spread so the dashboard has work."""
    if category == "id_document":
        expires = today + timedelta(days=rng.randint(-700, 3650))
        return expires - timedelta(days=3650), expires
    if category == "contract" and rng.random() < 0.8:
        issued = today - timedelta(days=rng.randint(0, 1100))
        return issued, issued + timedelta(days=rng.choice([365, 730, 1095]))
    if category == "finance":
        return today - timedelta(days=rng.randint(0, 1100)), None
    return None, None


def title_for(rng: random.Random, category: str, n: int) -> str:
    return f"{rng.choice(TITLES[category])} {2020 + n % 6}-{n % 997:03d}"


# ------------------------------------------------------------------------------------------------ building


def build(home: Path, docs: int, customer_count: int, log) -> dict:
    """The vault described in the module's docstring; returns what the measurements need."""
    from sqlalchemy import func, select

    from clientfolio import bootstrap
    from clientfolio.adapters import orm
    from clientfolio.services import audit, auth, customers, documents, search, textjobs, users

    timings = {}
    began = time.perf_counter()
    vault = bootstrap.init_vault(home)
    vault.jobs = None  # no queue: extraction and indexing run here, as `worker --once` would run them
    try:
        users.add_user(vault=vault, actor="admin", name=CLERK, role="clerk")
        auth.set_password(vault=vault, actor="admin", name=CLERK, new_password=PASSWORD)
        rng = random.Random(20261201)
        log(f"  {customer_count:,} customers through services.customers.add_customer ...")
        codes = []
        for n, (name, kind) in enumerate(customer_names(customer_count, rng)):
            tier = rng.choices(["key", "standard", "prospect"], [10, 60, 30])[0]
            identifiers = ({"resident_id": resident_id(rng, n)} if kind == "person" else {"credit_code": credit_code(n)})
            phone = f"13{rng.randint(5, 9)}{rng.randrange(10 ** 8):08d}" if rng.random() < 0.7 else None
            email = f"c{n}@example.com" if rng.random() < 0.5 else None
            codes.append(customers.add_customer(vault=vault, actor="admin", name=name, kind=kind, tier=tier,
                                                phone=phone, email=email, identifiers=identifiers).code)
        timings["customers_s"] = round(time.perf_counter() - began, 1)

        real = min(REAL_DOCS, docs)
        t0 = time.perf_counter()
        log(f"  {real} real documents through services.documents.add_document ...")
        today = date.today()
        categories, weights = zip(*CATEGORY_WEIGHTS.items())
        for n in range(real):
            category = rng.choices(categories, weights)[0]
            subtype = rng.choice(TOPICS[category][0])
            pdf = category != "id_document" and rng.random() < 0.25
            data = make_pdf(rng, category) if pdf else make_text(rng, category, text_size(rng, category)).encode()
            issued, expires = dates_for(rng, category, today)
            documents.add_document(vault=vault, actor="admin", customer_code=codes[n * len(codes) // real],
                                   content=[data], original_name=f"scan-{n:05d}.{'pdf' if pdf else 'txt'}",
                                   category=category, subtype=subtype, title=title_for(rng, category, n),
                                   tags=rng.sample(TAGS, rng.randint(0, 2)), issued_on=issued, expires_on=expires)
        with vault.uow(read_only=True) as uow:
            pending = uow.documents.version_ids_with_text_status("pending")
        log(f"  extracting text of {len(pending)} versions (services.textjobs.extract_text) and indexing "
            "(services.search.catch_up) ...")
        statuses = [textjobs.extract_text(vault=vault, version_id=v) for v in pending]
        if statuses.count("done") != len(pending):
            raise RuntimeError(f"text extraction: {sorted(set(statuses))} for {len(pending)} versions")
        search.catch_up(vault)
        timings["real_documents_s"] = round(time.perf_counter() - t0, 1)

        with vault.uow(read_only=True) as uow:
            engine = uow.session.get_bind()
        if docs > real:
            t0 = time.perf_counter()
            clones = clone_documents(vault, engine, docs - real, rng, log)
            timings["clone_rows_s"] = round(time.perf_counter() - t0, 1)
            t0 = time.perf_counter()
            index_clones(vault, clones, log)
            timings["index_clones_s"] = round(time.perf_counter() - t0, 1)

        log("  checking: audit verify, the index, a clone's sealed values ...")
        t0 = time.perf_counter()
        report = audit.audit_verify(vault=vault, actor="admin")
        if not report.ok:
            raise RuntimeError(f"audit verify failed at seq {report.first_broken_seq}: {report.reason}")
        indexed = vault.search.num_docs()
        with engine.connect() as conn:
            counted = conn.scalar(select(func.count()).select_from(orm.documents))
        if indexed != docs or counted != docs:
            raise RuntimeError(f"{counted:,} documents in the database, {indexed:,} in the index; wanted {docs:,}")
        probes = choose_probes(vault, engine)
        with vault.uow(read_only=True) as uow:  # a clone's sealed name opens in its new row
            latest = uow.documents.get(probes["document_pdf"]).latest
            if not (documents.open_original_name(vault, latest) or "").startswith("scan-"):
                raise RuntimeError("a clone's sealed original name did not open")
        timings["check_s"] = round(time.perf_counter() - t0, 1)
        timings["total_s"] = round(time.perf_counter() - began, 1)
        return {"builder": BUILDER, "docs": docs, "customers": customer_count, "real_documents": real,
                "audit_events": report.events, "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "timings": timings, "probes": probes}
    finally:
        if vault.search is not None:
            vault.search.close()
        bootstrap.dispose_engines()


def clone_documents(vault, engine, count: int, rng: random.Random, log) -> list:
    """Insert `count` documents cloned from the real ones (rows, tags, two audit events each) in batches."""
    from sqlalchemy import insert, select

    from clientfolio.adapters import orm
    from clientfolio.domain.audit import canonical_event, canonical_json, chain_hash

    d, v, t, a, c = orm.documents, orm.versions, orm.document_tags, orm.audit_events, orm.customers
    with engine.connect() as conn:
        templates = [dict(r._mapping) for r in conn.execute(select(d).order_by(d.c.id))]
        versions = {r.document_id: dict(r._mapping) for r in conn.execute(select(v).where(v.c.number == 1))}
        people = [r for r in conn.execute(select(c.c.id, c.c.code, c.c.name, c.c.owner_id).order_by(c.c.id))]
        admin_id = conn.scalar(select(orm.users.c.id).where(orm.users.c.name == "admin"))
        next_doc = conn.scalar(select(d.c.id).order_by(d.c.id.desc()).limit(1)) + 1
        next_ver = conn.scalar(select(v.c.id).order_by(v.c.id.desc()).limit(1)) + 1
        head = conn.execute(select(a.c.seq, a.c.hash).order_by(a.c.seq.desc()).limit(1)).first()
    seq, prev = head.seq, head.hash
    key = vault.audit_key
    today = date.today()
    start = datetime.now(timezone.utc) - timedelta(days=3 * 365)
    step = timedelta(days=3 * 365) / count
    rare_every = max(1, min(4000, count // 3))
    log(f"  cloning {count:,} documents at the database level (batches of {BATCH:,}, 2 audit events each) ...")
    made = []
    for first in range(0, count, BATCH):
        doc_rows, ver_rows, tag_rows, events = [], [], [], []
        for k in range(first, min(count, first + BATCH)):
            tpl = templates[rng.randrange(len(templates))]
            ver = versions[tpl["id"]]
            who = people[rng.randrange(len(people))]
            doc_id, ver_id = next_doc + k, next_ver + k
            created = start + step * k
            issued, expires = dates_for(rng, tpl["category"], today)
            title = title_for(rng, tpl["category"], k) + (f" {RARE}" if k % rare_every == 7 else "")
            r = rng.random()
            status = "deleted" if r < 0.01 else "archived" if r < 0.03 else "active"
            tags = sorted(set(rng.sample(TAGS, rng.choice([0, 0, 1, 1, 2]))))
            doc_rows.append({**tpl, "id": doc_id, "customer_id": who.id, "title": title, "issued_on": issued,
                             "expires_on": expires, "status": status, "created_by": admin_id, "created_at": created,
                             "updated_at": created, "indexed_at": created, "suggestion": None,
                             "paper_location": f"柜 {rng.choice('ABCD')}-{rng.randint(1, 40)}" if r < 0.3 else None})
            ver_rows.append({**ver, "id": ver_id, "document_id": doc_id, "uploaded_by": admin_id,
                             "uploaded_at": created, "near_duplicate_of": None})
            tag_rows += [{"document_id": doc_id, "tag": tag} for tag in tags]
            for actor, action, details in (
                    ("admin", "document.create", {"category": tpl["category"], "subtype": tpl["subtype"],
                                                  "version": 1, "sha256": ver["sha256"], "size": ver["size"],
                                                  "media_type": ver["media_type"], "sensitivity": tpl["sensitivity"],
                                                  "duplicate_allowed": False}),
                    ("system", "version.text", {"version": 1, "status": "done", "pages": ver["text_pages"],
                                                "confidence": None, "near_duplicate_of": None})):
                seq += 1
                event = SimpleNamespace(seq=seq, at=created, actor=actor, action=action, object_type="document",
                                        object_id=str(doc_id), customer_code=who.code, outcome="ok",
                                        details=canonical_json(details), prev_hash=prev)
                prev = event.hash = chain_hash(key, prev, canonical_event(event))
                events.append(vars(event))
            made.append(SimpleNamespace(id=doc_id, customer=who, title=title, tags=tuple(tags), category=tpl["category"],
                                        subtype=tpl["subtype"], sensitivity=tpl["sensitivity"], status=status,
                                        issued_on=issued, expires_on=expires, template=tpl["id"],
                                        number=1, media_type=ver["media_type"], uploaded_at=created))
        with engine.begin() as conn:  # one SQLite transaction per batch, SQLAlchemy Core executemany
            conn.execute(insert(d), doc_rows)
            conn.execute(insert(v), ver_rows)
            if tag_rows:
                conn.execute(insert(t), tag_rows)
            conn.execute(insert(a), events)
        log(f"    {first + len(doc_rows):,} cloned")
    return made


def index_clones(vault, clones: list, log) -> None:
    """Each clone into the keyed index through KeyedSearchIndex.to_tantivy, as services.search._index_one
    builds it. Clones of one template share its text: its segmentation and keyed hashing are memoized (a
    bench-only shortcut; the tokens and hashes are the index's own). Fresh ids, so no delete before the add."""
    from sqlalchemy import select

    from clientfolio.adapters import orm
    from clientfolio.domain.search import IndexedDocument
    from clientfolio.services.documents import canonical_name

    index = vault.search
    index._open()
    with vault.uow(read_only=True) as uow:
        engine = uow.session.get_bind()
    texts = {}
    with engine.connect() as conn:
        for doc_id, blob in conn.execute(select(orm.versions.c.document_id, orm.versions.c.text_blob_id)
                                         .where(orm.versions.c.document_id.in_({c.template for c in clones}))):
            texts[doc_id] = vault.blobs.read(blob).decode("utf-8", errors="replace") if blob else ""
    shared = {id(text) for text in texts.values()}
    streams, keyed = {}, {}
    kept_ids = set()
    original_streams, original_keyed = index._streams, index._keyed_text

    def memo_streams(text):
        if id(text) not in shared:
            return original_streams(text)
        if id(text) not in streams:
            streams[id(text)] = original_streams(text)
            kept_ids.update(id(x) for x in streams[id(text)])
        return streams[id(text)]

    def memo_keyed(tokens, purpose):
        if id(tokens) not in kept_ids:
            return original_keyed(tokens, purpose)
        if (id(tokens), purpose) not in keyed:
            keyed[(id(tokens), purpose)] = original_keyed(tokens, purpose)
        return keyed[(id(tokens), purpose)]

    index._streams, index._keyed_text = memo_streams, memo_keyed
    log(f"  adding {len(clones):,} clones to the keyed search index ...")
    try:
        writer = index._get_writer()
        for n, c in enumerate(clones, 1):
            doc = SimpleNamespace(id=c.id, issued_on=c.issued_on, category=c.category, subtype=c.subtype, title=c.title)
            name = canonical_name(vault, doc, c.customer, SimpleNamespace(uploaded_at=c.uploaded_at, number=1,
                                                                          media_type=c.media_type))
            writer.add_document(index.to_tantivy(IndexedDocument(
                doc_id=c.id, customer_id=c.customer.id, text=texts[c.template], title=c.title, tags=c.tags,
                canonical_name=name, customer_name=c.customer.name, customer_code=c.customer.code,
                owner_id=c.customer.owner_id, category=c.category, subtype=c.subtype, sensitivity=c.sensitivity,
                status=c.status, issued_on=c.issued_on, expires_on=c.expires_on)))
            if n % 20_000 == 0:
                index.commit()
                log(f"    {n:,} indexed")
        index.close()  # commit, wait for merges, collect old segment files
    finally:
        index._streams, index._keyed_text = original_streams, original_keyed


def choose_probes(vault, engine) -> dict:
    """What each page is asked for: a customer with a typical number of documents (its page and its name as
    a query), the middle page of the list, a cloned PDF and a cloned text document the clerk may read."""
    from sqlalchemy import func, select

    from clientfolio.adapters import orm

    d, c, v = orm.documents.c, orm.customers.c, orm.versions.c
    visible = (d.sensitivity == "normal") & d.status.in_(("active", "archived"))
    with engine.connect() as conn:
        counts = list(conn.execute(select(c.code, c.name, func.count(d.id).label("n")).join(orm.documents, d.customer_id == c.id)
                                   .where(visible).group_by(c.id).order_by("n", c.id)))
        code, name, shown = counts[len(counts) // 2]
        active = conn.scalar(select(func.count()).select_from(orm.customers).where(c.status == "active"))
        real = conn.scalar(select(func.count()).select_from(orm.audit_events)
                           .where(orm.audit_events.c.action == "document.create", orm.audit_events.c.actor == "admin"))

        def document(media: str) -> int:
            return conn.scalar(select(d.id).join(orm.versions, v.document_id == d.id)
                               .where(visible, d.status == "active", v.media_type == media, d.id > REAL_DOCS)
                               .order_by(d.id).limit(1)) or conn.scalar(
                select(d.id).join(orm.versions, v.document_id == d.id)
                .where(visible, d.status == "active", v.media_type == media).order_by(d.id).limit(1))
        return {"customer_code": code, "customer_name": name, "customer_documents": shown,
                "middle_offset": (active // 2) // PER_PAGE * PER_PAGE, "active_customers": active,
                "document_pdf": document("application/pdf"), "document_text": document("text/plain"),
                "common_word": COMMON, "rare_word": RARE, "tier": "key", "created_events": real}


def prepare(workdir: Path, docs: int, customer_count: int, rebuild: bool, log) -> tuple[Path, dict, bool]:
    """The work folder's vault and state: reused when built for the same sizes, else (re)built."""
    home, state_path = workdir / "home", workdir / "state.json"
    if state_path.exists() and not rebuild:
        state = json.loads(state_path.read_text())
        if (state.get("builder"), state.get("docs"), state.get("customers")) == (BUILDER, docs, customer_count):
            return home, state, True
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            raise SystemExit(f"{workdir} is not empty and not a folder this benchmark made: choose another --workdir")
        log(f"  removing the previous vault in {workdir} ...")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by bench/web_pages.py: a benchmark vault, safe to delete\n")
    log(f"  building a vault of {docs:,} documents over {customer_count:,} customers in {workdir} ...")
    state = build(home, docs, customer_count, log)
    state_path.write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n")
    return home, state, False


# ------------------------------------------------------------------------------------------------ server


class ServerTiming:
    """Bench-only ASGI shim: `Server-Timing: app;dur=<ms>, cpu;dur=<ms>`: wall time from the request entering
    the app to the response starting (a page is rendered, and a JSON body serialized, before the response
    starts), and the server process's CPU time (all threads) over the same span. One request at a time is
    sent, so that CPU time is this request's."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began, cpu = time.perf_counter(), time.process_time()

        async def timed(message):
            if message["type"] == "http.response.start":
                ms, cpu_ms = (time.perf_counter() - began) * 1000, (time.process_time() - cpu) * 1000
                timing = f"app;dur={ms:.3f}, cpu;dur={cpu_ms:.3f}".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"server-timing", timing)]}
            await send(message)

        await self.app(scope, receive, timed)


def timed_app():
    """The uvicorn factory the server subprocess runs: the product's app, as `clientfolio serve` builds it."""
    from clientfolio.entrypoints.api.asgi import make_app

    # Importing this module cleared CLIENTFOLIO_*: the vault comes from the bench's own variable.
    os.environ.update(CLIENTFOLIO_HOME=os.environ["BENCH_WEB_HOME"], CLIENTFOLIO_TLS="0")
    return ServerTiming(make_app())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """uvicorn with `clientfolio serve`'s options (one process, no worker, warning log level, no server
    header, no proxy headers), in its own session; stop() sends SIGTERM, then SIGKILL to its group."""

    def __init__(self, home: Path, log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTFOLIO_")}
        env["BENCH_WEB_HOME"] = str(home)
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.web_pages:timed_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-server-header", "--no-proxy-headers"],
            cwd=REPO, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def wait_ready(self, timeout: float = 120.0) -> float:
        began, deadline = time.perf_counter(), time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/sign-in", timeout=5).status_code == 200:
                    return time.perf_counter() - began
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self._log.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# ------------------------------------------------------------------------------------------------ measuring

_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


@dataclass
class Case:
    name: str
    rows: str  # what the page shows, for the table
    target: bool  # a page of 50 customers or search results: issue 5's 200 ms applies
    page: object  # client -> response
    api: object | None  # client -> list of responses
    api_note: str
    service: object | None  # () -> anything
    check: object = None  # (page response, total from the API) -> str | None (an error)
    samples: dict = field(default_factory=lambda: {k: [] for k in ("page", "app", "cpu", "api", "api_app", "api_cpu",
                                                                    "service", "service_cpu")})
    errors: list = field(default_factory=list)
    info: dict = field(default_factory=dict)


def _timing(response: httpx.Response, name: str) -> float | None:
    found = re.search(name + r";dur=([\d.]+)", response.headers.get("server-timing", ""))
    return float(found.group(1)) if found else None


def sign_in(client: httpx.Client) -> str:
    r = client.post("/sign-in", data={"name": CLERK, "password": PASSWORD, "next": "/"})
    if r.status_code != 303 or r.headers.get("location") != "/":
        raise RuntimeError(f"sign-in as {CLERK}: HTTP {r.status_code} -> {r.headers.get('location')}\n{r.text[:500]}")
    r = client.get("/")
    found = _CSRF.search(r.text)
    if r.status_code != 200 or not found:
        raise RuntimeError(f"the dashboard after sign-in: HTTP {r.status_code}, no CSRF field")
    return found.group(1)


def _rows_check(pattern: str):
    """A page of customers or documents links each row: as many distinct links as the page should hold."""
    def check(response: httpx.Response, total: int | None) -> str | None:
        shown = len(set(re.findall(pattern, response.text)))
        wanted = min(PER_PAGE, total) if total is not None else 1
        return None if shown >= wanted else f"{shown} rows on the page, expected {wanted}"
    return check


def make_cases(client: httpx.Client, csrf: str, vault, probes: dict) -> list[Case]:
    from clientfolio.domain.errors import NoPreview
    from clientfolio.services import customers, dashboard, documents, history, previews, search, summary, versions

    me = CLERK
    api_h = {"X-CSRF-Token": csrf}
    code, mid, tier = probes["customer_code"], probes["middle_offset"], probes["tier"]

    def customers_case(name, params):
        return Case(name, "50", True, lambda: client.get("/customers", params=params),
                    lambda: [client.get("/api/v1/customers", params={"limit": PER_PAGE, **params})], "GET /customers",
                    lambda: customers.list_customers(vault=vault, actor=me, tier=params.get("tier"), sort="code",
                                                     limit=PER_PAGE, offset=params.get("offset", 0)),
                    check=_rows_check(r'href="/customers/(C\d+)"'))

    def search_case(name, query):
        def service():
            found = search.search(vault=vault, actor=me, query=query, limit=PER_PAGE)
            if not found.customers:  # the page lists customers whose name or code contains the query
                customers.list_customers(vault=vault, actor=me, query=query[:200], limit=10)
            return found
        return Case(name, "50", True,
                    lambda: client.post("/search", data={"csrf": csrf, "q": query, "offset": "0"}),
                    lambda: [client.post("/api/v1/search", json={"query": query, "limit": PER_PAGE}, headers=api_h)],
                    "POST /search", service, check=_rows_check(r'href="/documents/(\d+)"'))

    def customer_page():
        customers.show_customer(vault=vault, actor=me, code=code)
        documents.list_documents(vault=vault, actor=me, customer_code=code, sort="title", limit=500)
        history.customer_timeline(vault=vault, actor=me, code=code, limit=20)

    def document_case(name, document_id):
        def service():
            documents.show_document(vault=vault, actor=me, document_id=document_id)
            versions.list_versions(vault=vault, actor=me, document_id=document_id)
            try:
                previews.page_count(vault=vault, actor=me, document_id=document_id)
            except NoPreview:
                b"".join(versions.read_version(vault=vault, actor=me, document_id=document_id).chunks)
            history.document_history(vault=vault, actor=me, document_id=document_id, limit=300)
        return Case(name, "1+trail", False, lambda: client.get(f"/documents/{document_id}"),
                    lambda: [client.get(f"/api/v1/documents/{document_id}"),
                             client.get(f"/api/v1/documents/{document_id}/versions")],
                    "GET /documents/{id} + /versions", service)

    return [
        customers_case("customers, page 1", {}),
        customers_case(f"customers, page {mid // PER_PAGE + 1} (middle)", {"offset": mid}),
        customers_case(f"customers, tier={tier}", {"tier": tier}),
        search_case("search: common word", probes["common_word"]),
        search_case("search: rare word", probes["rare_word"]),
        search_case("search: customer name", probes["customer_name"]),
        Case(f"customer page ({probes['customer_documents']} docs)", f"{probes['customer_documents']}+20",
             False, lambda: client.get(f"/customers/{code}"),
             lambda: [client.get(f"/api/v1/customers/{code}"),
                      client.get("/api/v1/documents", params={"customer": code, "sort": "title", "limit": 500})],
             "GET /customers/{code} + /documents?customer (no timeline)", customer_page),
        Case("dashboard", "4x20+20", False, lambda: client.get("/"), None, "no API counterpart",
             lambda: (dashboard.dashboard(vault=vault, actor=me), summary.vault_summary(vault=vault, actor=me))),
    ] + [document_case(f"document page ({kind})", probes[key])
         for kind, key in (("PDF", "document_pdf"), ("text", "document_text")) if probes.get(key)]


def run_case(case: Case, *, record: bool) -> None:
    t0 = time.perf_counter()
    r = case.page()
    page_ms = (time.perf_counter() - t0) * 1000
    problem = None if r.status_code == 200 else f"HTTP {r.status_code}: {r.text[:200]!r}"
    api_ms = api_app = api_cpu = None
    if case.api is not None:
        t0 = time.perf_counter()
        responses = case.api()
        api_ms = (time.perf_counter() - t0) * 1000
        bad = [x for x in responses if x.status_code != 200]
        if bad:
            problem = problem or f"API HTTP {bad[0].status_code}: {bad[0].text[:200]!r}"
        api_app = sum(_timing(x, "app") or 0 for x in responses)
        api_cpu = sum(_timing(x, "cpu") or 0 for x in responses)
        body = responses[0].json() if not bad else {}
        if isinstance(body, dict) and "total" in body:
            case.info["total"] = body["total"]
    if problem is None and case.check is not None:
        problem = case.check(r, case.info.get("total"))
    svc_ms = svc_cpu = None
    if case.service is not None:
        t0, c0 = time.perf_counter(), time.process_time()
        case.service()
        svc_ms, svc_cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    if problem:
        case.errors.append(problem)
    if record:
        s = case.samples
        s["page"].append(page_ms)
        s["app"].append(_timing(r, "app"))
        s["cpu"].append(_timing(r, "cpu"))
        if api_ms is not None:
            s["api"].append(api_ms)
            s["api_app"].append(api_app)
            s["api_cpu"].append(api_cpu)
        if svc_ms is not None:
            s["service"].append(svc_ms)
            s["service_cpu"].append(svc_cpu)


def pct(values: list, q: float) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    k = (len(values) - 1) * q  # linear interpolation between closest ranks
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def measure(home: Path, state: dict, rounds: int, warmup: int, log) -> dict:
    from clientfolio import bootstrap

    server = Server(home, home.parent / "server.log")
    vault = None
    try:
        ready = server.wait_ready()
        vault = bootstrap.open_vault(home)  # the services' baseline runs in this process, on the same vault
        with httpx.Client(base_url=server.url, timeout=120, follow_redirects=False,
                          headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as client:
            csrf = sign_in(client)
            cases = make_cases(client, csrf, vault, state["probes"])
            log(f"  server ready in {ready:.1f} s; warm-up ({warmup} of each) ...")
            for case in cases:
                for _ in range(warmup):
                    run_case(case, record=False)
            load_start = loadavg()
            log(f"  {rounds} rounds of {len(cases)} cases (page, API, services in turn) ...")
            began = time.perf_counter()
            for n in range(rounds):
                for case in cases:
                    run_case(case, record=True)
                if (n + 1) % 10 == 0:
                    log(f"    round {n + 1}/{rounds}")
            seconds = time.perf_counter() - began
            load_end = loadavg()
    finally:
        server.stop()
        if vault is not None:
            if vault.search is not None:
                vault.search.close()
            bootstrap.dispose_engines()
    out = []
    for case in cases:
        row = {"name": case.name, "rows": case.rows, "target": case.target, "api": case.api_note,
               "errors": case.errors[:5], "error_count": len(case.errors), **case.info}
        for key, values in case.samples.items():
            row[f"{key}_p50_ms"] = _round(pct(values, 0.5))
            row[f"{key}_p95_ms"] = _round(pct(values, 0.95))
        row["samples_ms"] = {k: [_round(x) for x in v] for k, v in case.samples.items() if v}
        row["page_over_api"] = _ratio(row["page_p50_ms"], row["api_p50_ms"])
        row["page_over_service"] = _ratio(row["page_p50_ms"], row["service_p50_ms"])
        row["page_over_api_cpu"] = _ratio(row["cpu_p50_ms"], row["api_cpu_p50_ms"])
        row["page_over_service_cpu"] = _ratio(row["cpu_p50_ms"], row["service_cpu_p50_ms"])
        out.append(row)
    return {"cases": out, "rounds": rounds, "warmup": warmup, "seconds": round(seconds, 1),
            "server_ready_s": round(ready, 1), "loadavg_start": load_start, "loadavg_end": load_end}


def _round(x):
    return None if x is None else round(x, 2)


def _ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


# ------------------------------------------------------------------------------------------------ report


def print_report(result: dict) -> None:
    state, m = result["vault"], result["measured"]
    p = state["probes"]
    t = state["timings"]
    print(f"vault: {state['docs']:,} documents ({state['real_documents']} added through the services, the rest "
          f"cloned), {state['customers']:,} customers, {state['audit_events']:,} audit events when built; "
          f"{'reused' if result['reused'] else 'built'} ({state['built_at']}, build {t['total_s']:.0f} s: "
          + ", ".join(f"{k[:-2].replace('_', ' ')} {v:.0f} s" for k, v in t.items() if k != "total_s") + ")")
    print(f"signed in as {CLERK} (clerk: sensitive documents hidden); queries: common word {p['common_word']}, rare "
          f"word {p['rare_word']}, customer name {p['customer_name']} ({p['customer_code']}, also the customer page: "
          f"{p['customer_documents']} visible documents);\n{m['rounds']} rounds after {m['warmup']} warm-up requests "
          f"of each case, one keep-alive connection over loopback")
    def f(x, w, d=1):
        return f"{x:>{w},.{d}f}" if x is not None else f"{'—':>{w}}"

    print("\nServer time of each page (ms; p50 and p95 of the timed requests)")
    header = (f"{'case':<36} {'rows':>7} {'page p50':>9} {'p95':>8} {'app p50':>8} {'p95':>8} {'CPU p50':>8} {'p95':>8} "
              f"{'hits':>7}")
    print(header)
    print("-" * len(header))
    for c in m["cases"]:
        print(f"{c['name'][:36]:<36} {c['rows'][:7]:>7} {f(c['page_p50_ms'], 9)} {f(c['page_p95_ms'], 8)} "
              f"{f(c['app_p50_ms'], 8)} {f(c['app_p95_ms'], 8)} {f(c['cpu_p50_ms'], 8)} {f(c['cpu_p95_ms'], 8)} "
              f"{(str(c['total']) if 'total' in c else ''):>7}")
    print("page = as the client sees it over loopback (an upper bound of server time); app = inside the server, from\n"
          "the request entering the app to the response starting (Server-Timing of a bench-only ASGI shim); CPU = the\n"
          "server process's CPU time over that span; hits = the total the API reports")
    print("\nAgainst the baselines of the same run (p50, ms): the JSON API (same session) and the services in-process")
    header = (f"{'case':<36} {'page':>8} {'API':>8} {'page/API':>9} {'svc':>8} {'page/svc':>9} {'| CPU: page':>11} "
              f"{'API':>7} {'page/API':>9} {'svc':>7} {'page/svc':>9}")
    print(header)
    print("-" * len(header))
    for c in m["cases"]:
        print(f"{c['name'][:36]:<36} {f(c['page_p50_ms'], 8)} {f(c['api_p50_ms'], 8)} {f(c['page_over_api'], 9, 2)} "
              f"{f(c['service_p50_ms'], 8)} {f(c['page_over_service'], 9, 2)} {f(c['cpu_p50_ms'], 11)} "
              f"{f(c['api_cpu_p50_ms'], 7)} {f(c['page_over_api_cpu'], 9, 2)} {f(c['service_cpu_p50_ms'], 7)} "
              f"{f(c['page_over_service_cpu'], 9, 2)}")
    apis = {f"{c['name'].split(',')[0].split(':')[0].split(' (')[0]}: {c['api']}": None for c in m["cases"]}
    print(textwrap.fill("API = " + "; ".join(apis), width=115, subsequent_indent="  "))
    print("svc = the service calls the page handler makes, timed in the benchmark's process (wall and CPU); the\n"
          "CPU columns compare server CPU of the page and the API with the benchmark process's CPU for the services")
    errors = [(c["name"], c["error_count"], c["errors"]) for c in m["cases"] if c["error_count"]]
    for name, count, sample in errors:
        print(f"ERRORS in {name}: {count} request(s) failed, e.g. {sample[0]}")
    target = [c for c in m["cases"] if c["target"]]
    worst = max(target, key=lambda c: c["page_p95_ms"] or 0)
    worst_app = max(target, key=lambda c: c["app_p95_ms"] or 0)
    worst_cpu = max(target, key=lambda c: c["cpu_p95_ms"] or 0)
    print(f"\n50-row page p95 {worst['page_p95_ms']:,.0f} ms vs {TARGET_MS:.0f} ms target (worst: {worst['name']}; "
          f"inside the server p95 {worst_app['app_p95_ms']:,.0f} ms, of which CPU p95 {worst_cpu['cpu_p95_ms']:,.0f} ms)")
    over = [c["name"] for c in m["cases"] if (c["page_p95_ms"] or 0) > TARGET_MS]
    over_cpu = [c["name"] for c in m["cases"] if (c["cpu_p95_ms"] or 0) > TARGET_MS]
    print("over 200 ms at p95 as the client sees it: " + (", ".join(over) if over else "none"))
    print("over 200 ms of server CPU at p95 (slow even on an idle machine): " + (", ".join(over_cpu) if over_cpu else "none"))
    print(f"load average (1 min): {result['meta']['loadavg_start']} at start, {m['loadavg_start']} -> "
          f"{m['loadavg_end']} during the measurement, on {os.cpu_count()} CPUs; measured in {m['seconds']:.0f} s")
    busiest = max(x for x in (m["loadavg_start"], m["loadavg_end"], result["meta"]["loadavg_start"]) if x is not None)
    if busiest >= (os.cpu_count() or 1):
        print(f"note: the machine was busy (load average up to {busiest} on {os.cpu_count()} CPUs): wall times include "
              "waiting for a CPU;\nthe CPU columns are what the requests cost, a better guide to an idle machine's "
              "server time (which adds I/O waits, e.g. the fsync of an audited read or search)")


# ------------------------------------------------------------------------------------------------ main


def _positive(text: str) -> int:
    value = int(text.replace(",", "").replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _sigterm(signum, frame):
    raise KeyboardInterrupt  # so the finally blocks stop the server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.web_pages", description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=_positive, help=f"documents in the vault (default {DEFAULT_DOCS:,})")
    parser.add_argument("--customers", type=_positive, help=f"customers (default {DEFAULT_CUSTOMERS:,})")
    parser.add_argument("--rounds", type=_positive, help="timed requests of each case (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests of each case first (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['docs']:,} documents, {QUICK['customers']} customers, {QUICK['rounds']} rounds")
    parser.add_argument("--workdir", type=Path, help="where the vault is kept and reused "
                        "(default <--dir or temp>/clientfolio-bench-web-<docs>)")
    parser.add_argument("--dir", type=Path, help="parent of the default work folder (default: the system temp dir)")
    parser.add_argument("--rebuild", action="store_true", help="build the vault again even if one is there")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else {"docs": DEFAULT_DOCS, "customers": DEFAULT_CUSTOMERS, "rounds": 30}
    docs, customer_count = args.docs or sizes["docs"], args.customers or sizes["customers"]
    rounds = args.rounds or sizes["rounds"]
    workdir = (args.workdir or (args.dir or Path(tempfile.gettempdir())) / f"clientfolio-bench-web-{docs}").resolve()
    signal.signal(signal.SIGTERM, _sigterm)
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    meta = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv[1:],
            "cpus": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
            "platform": platform.platform(), "httpx": httpx.__version__, "workdir": str(workdir),
            "git_commit": git("rev-parse", "--short", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")), "loadavg_start": loadavg()}
    print(f"clientfolio web pages  ({meta['started_at']}, {meta['cpus']} CPUs, Python {meta['python']}, "
          f"commit {meta['git_commit']}; load average {meta['loadavg_start']})")
    try:
        home, state, reused = prepare(workdir, docs, customer_count, args.rebuild, log)
        measured = measure(home, state, rounds, args.warmup, log)
    except KeyboardInterrupt:
        print("interrupted: server stopped", file=sys.stderr)
        return 130
    meta["loadavg_end"] = loadavg()
    result = {"meta": meta, "vault": state, "reused": reused, "measured": measured}
    print_report(result)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nload average (1 min) {meta['loadavg_start']} at start, {meta['loadavg_end']} at end. "
          f"Vault kept in {workdir} (reused next time; --rebuild to build it again). "
          f"Results written to {shown(args.output)}")
    return 1 if any(c["error_count"] for c in measured["cases"]) else 0


if __name__ == "__main__":
    sys.exit(main())
