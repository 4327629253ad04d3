"""Uploads and downloads over HTTP: streamed (bounded memory), limits, sniffing, hostile names, Range."""

from __future__ import annotations

import os
import tracemalloc
from urllib.parse import quote

import httpx
import pytest

import fixtures_docs as docs  # tests/ is on sys.path (rootdir conftest)
from clientfolio.services import customers, documents, tokens
from .liveserver import live_server

BOUNDARY = "cf-test-boundary-7"


@pytest.fixture
def api(vault):
    code = customers.add_customer(vault=vault, actor="admin", name="王五", kind="person", tier="key").code
    token = tokens.create_token(vault=vault, actor="admin", name="files").token
    with live_server(vault) as base:
        with httpx.Client(base_url=base + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                          timeout=120) as client:
            yield vault, client, code


def _counts(v):
    page = documents.list_documents(vault=v, actor="admin", limit=1000)
    return page.total, sorted(v.blobs.ids()), list((v.home).rglob("*.part"))


def _multipart(chunks, filename="big.bin"):
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n").encode()
    yield from chunks
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def test_upload_streams_with_bounded_memory_and_downloads_with_range(api, tmp_path):
    v, client, code = api
    size = 48 * 1024 * 1024
    path = tmp_path / "big.pdf"
    with path.open("wb") as f:
        f.write(b"%PDF-1.7\n")
        for _ in range(size // (1 << 20)):
            f.write(os.urandom(1 << 20))
    tracemalloc.start()
    with path.open("rb") as f:
        r = client.post("/documents", params={"customer": code, "category": "contract"},
                        files={"file": ("大合同.pdf", f, "application/pdf")})
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.status_code == 201, r.text
    assert peak < 24 * 1024 * 1024, f"upload of {size:,} bytes peaked at {peak:,} bytes traced"
    doc = r.json()
    assert doc["size"] == path.stat().st_size and doc["media_type"] == "application/pdf"
    whole = client.get(f"/documents/{doc['id']}/content")
    assert whole.status_code == 200 and whole.content == path.read_bytes()
    assert whole.headers["content-disposition"].endswith("filename*=UTF-8''" + quote(doc["canonical_name"], safe=""))
    start = 5 * 1024 * 1024 + 17
    part = client.get(f"/documents/{doc['id']}/content", headers={"Range": f"bytes={start}-{start + 99}"})
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes {start}-{start + 99}/{doc['size']}"
    with path.open("rb") as f:
        f.seek(start)
        assert part.content == f.read(100)
    tail = client.get(f"/documents/{doc['id']}/content", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == path.read_bytes()[-10:]
    outside = client.get(f"/documents/{doc['id']}/content", headers={"Range": f"bytes={doc['size']}-"})
    assert outside.status_code == 416 and outside.headers["content-range"] == f"bytes */{doc['size']}"


def test_chinese_file_name_and_hostile_names_are_harmless(api):
    v, client, code = api
    for i, hostile in enumerate(["../../etc/passwd", "..\\..\\boot.ini", "a\x00b\x1f.txt", "x" * 300 + ".txt",
                                 "/abs/path/合同.txt"]):
        r = client.post("/documents", params={"customer": code, "category": "contract"},
                        files={"file": (hostile, f"content {i}".encode(), "text/plain")})
        assert r.status_code == 201, (hostile, r.text)
        name = r.json()["canonical_name"]
        assert "/" not in name and "\\" not in name and ".." not in name
        versions = client.get(f"/documents/{r.json()['id']}/versions").json()
        original = versions[0]["original_name"]
        assert original is None or ("/" not in original and "\\" not in original and len(original) <= 255
                                    and original.isprintable())
    assert not list(v.home.parent.glob("etc*")) and not list(v.home.parent.glob("boot*"))


def test_oversized_upload_is_refused_while_streaming_and_nothing_is_stored(api):
    v, client, code = api
    before = _counts(v)
    v.max_upload_bytes = 1024 * 1024
    declared = client.post("/documents", params={"customer": code, "category": "contract"},
                           files={"file": ("big.txt", b"A" * (3 * 1024 * 1024), "text/plain")})
    assert declared.status_code == 413 and declared.json()["type"].endswith(":too-large")
    chunked = client.post("/documents", params={"customer": code, "category": "contract"},
                          content=_multipart(b"B" * 65536 for _ in range(40)),
                          headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert chunked.status_code == 413, chunked.text
    assert _counts(v) == before


def test_bad_uploads_get_4xx_and_leave_nothing(api):
    v, client, code = api
    before = _counts(v)
    params = {"customer": code, "category": "contract"}
    exe = client.post("/documents", params=params, files={"file": ("report.pdf", docs.elf_binary(), "application/pdf")})
    assert exe.status_code == 422 and "executable" in exe.json()["detail"]
    assert client.post("/documents", params=params, json={"x": 1}).status_code == 415
    no_file = client.post("/documents", params=params, files={"other": ("a.txt", b"x", "text/plain")})
    assert no_file.status_code == 422
    empty = client.post("/documents", params=params, files={"file": ("a.txt", b"", "text/plain")})
    assert empty.status_code == 422
    cut = client.post("/documents", params=params, content=[b"--" + BOUNDARY.encode() + b"\r\nContent-Disposition: "
                                                             b"form-data; name=\"file\"; filename=\"a\"\r\n\r\nhalf"],
                      headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert cut.status_code == 422, cut.text
    unknown = client.post("/documents", params={"customer": "C999999", "category": "contract"},
                          files={"file": ("a.txt", b"abc", "text/plain")})
    assert unknown.status_code == 404
    assert client.post("/documents", params={"customer": code, "category": "nonsense"},
                       files={"file": ("a.txt", b"abc", "text/plain")}).status_code == 422
    assert _counts(v) == before


def test_id_card_fields_are_proposed_and_confirmed_over_http(api):
    v, client, code = api
    rid = "11010519491231002X"
    front = f"中华人民共和国居民身份证\n姓名 王五\n性别 女\n出生 1949年12月31日\n公民身份号码 {rid}"
    r = client.post("/documents", params={"customer": code, "category": "id_document", "subtype": "resident_id"},
                    files={"file": ("front.txt", front.encode(), "text/plain")})
    assert r.status_code == 201, r.text
    v.jobs.drain()  # the background text job proposes the fields
    doc_id = r.json()["id"]
    shown = client.get(f"/documents/{doc_id}/fields").json()
    assert shown["status"] == "proposed"
    assert {row["name"]: row["proposed"] for row in shown["rows"]}["resident_id"] == rid
    confirmed = client.post(f"/documents/{doc_id}/fields/confirm").json()
    assert confirmed["status"] == "confirmed"
    found = client.post("/customers/lookup", json={"kind": "resident_id", "value": rid}).json()
    assert [c["code"] for c in found] == [code]
    assert client.post(f"/documents/{doc_id}/fields/reject").status_code in (409, 422)  # already decided


def test_document_lists_sort_and_page(api):
    v, client, code = api
    for title, expires in (("乙 合同", "2031-01-01"), ("甲 合同", "2029-06-30"), ("丙 合同", None)):
        client.post("/documents", params={"customer": code, "category": "contract", "title": title,
                                          **({"expires_on": expires} if expires else {})},
                    files={"file": ("x.txt", title.encode(), "text/plain")})
    by_expiry = client.get("/documents", params={"sort": "expires"}).json()["items"]
    assert [d["expires_on"] for d in by_expiry] == ["2029-06-30", "2031-01-01", None]
    newest = client.get("/documents", params={"sort": "-id", "limit": 2}).json()
    assert newest["total"] == 3 and [d["title"] for d in newest["items"]] == ["丙 合同", "甲 合同"]
    second_page = client.get("/documents", params={"sort": "-id", "limit": 2, "offset": 2}).json()["items"]
    assert [d["title"] for d in second_page] == ["乙 合同"]
    assert client.get("/documents", params={"sort": "size"}).status_code == 422


def test_the_classifiers_filing_is_accepted_over_http(api, tmp_path):
    from clientfolio.services import ingest, users

    v, client, code = api
    users.add_user(vault=v, actor="admin", name="vera", role="viewer")
    viewer = tokens.create_token(vault=v, actor="vera", name="look").token
    (tmp_path / "in" / code).mkdir(parents=True)
    card = tmp_path / "in" / code / "card.txt"
    card.write_text("居民身份证 公民身份号码 签发机关 有效期限\n", encoding="utf-8")
    waiting = ingest.ingest_file(v, "admin", tmp_path / "in", card)
    assert waiting.category == "other"  # sure enough to suggest an ID document, not to file it
    queue = client.get("/documents", params={"filing": "waiting"}).json()
    assert [d["id"] for d in queue["items"]] == [waiting.document_id] and queue["total"] == 1
    assert client.get("/documents", params={"filing": "auto-filed"}).json()["total"] == 0
    assert client.get("/documents", params={"suggestion_pending": True},
                      headers={"Authorization": f"Bearer {viewer}"}).status_code == 403  # not theirs to settle
    assert client.get("/documents", params={"filing": "maybe"}).status_code == 422
    path = f"/documents/{waiting.document_id}/suggestion/accept"
    denied = client.post(path, headers={"Authorization": f"Bearer {viewer}"})
    assert denied.status_code == 403 and denied.headers["content-type"] == "application/problem+json"
    taken = client.post(path)
    assert taken.status_code == 200, taken.text
    assert (taken.json()["category"], taken.json()["suggestion"]) == ("id_document", None)
    again = client.post(path)
    assert again.status_code == 422 and "no suggestion" in again.json()["detail"]
    assert client.get("/documents", params={"suggestion_pending": True}).json()["total"] == 0
    assert client.post("/documents/999999/suggestion/accept").status_code == 404
