"""Multipart uploads streamed straight into a service call: the file part's bytes are handed over chunk by
chunk as they arrive (python-multipart's push parser), so a 1 GB upload needs no 1 GB of memory and no
temporary file (Starlette's own form parsing spools large parts to disk in plaintext)."""

from __future__ import annotations

import queue
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath
from typing import TypeVar
from urllib.parse import unquote

import anyio
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from clientfolio.domain.errors import InvalidInput, TooLarge
from clientfolio.entrypoints.api.problems import ApiProblem

T = TypeVar("T")
FIELD = "file"
_END, _ABORT = object(), object()
_EXTENDED_NAME = re.compile(r"filename\*\s*=\s*UTF-8''([^;\s]+)", re.IGNORECASE)


def too_large(limit: int) -> TooLarge:
    return TooLarge(f"refused: the file is larger than the limit of {limit:,} bytes")


def safe_name(raw: str | None) -> str | None:
    """The last path component, without control characters, at most 255 characters (hostile names harmless)."""
    if not raw:
        return None
    name = PurePosixPath(raw.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:255]
    return name if name not in ("", ".", "..") else None


class _FilePart:
    """Parser callbacks: remember the file part's name, queue its data until the consumer takes it."""

    def __init__(self):
        self.headers: dict[bytes, bytes] = {}
        self._field, self._value = b"", b""
        self.in_file = self.seen = self.ended = False
        self.filename: str | None = None
        self.pending: deque[bytes] = deque()

    def callbacks(self) -> dict:
        return {"on_part_begin": self._begin, "on_header_field": self._hfield, "on_header_value": self._hvalue,
                "on_header_end": self._hend, "on_headers_finished": self._headers_done,
                "on_part_data": self._data, "on_part_end": self._end}

    def _begin(self):
        self.headers, self._field, self._value = {}, b"", b""

    def _hfield(self, data, start, end):
        self._field += data[start:end]

    def _hvalue(self, data, start, end):
        self._value += data[start:end]

    def _hend(self):
        self.headers[self._field.strip().lower()] = self._value.strip()
        self._field, self._value = b"", b""

    def _headers_done(self):
        disposition = self.headers.get(b"content-disposition", b"")
        _, params = parse_options_header(disposition)
        if params.get(b"name") == FIELD.encode() and not self.seen:
            self.in_file = self.seen = True
            extended = _EXTENDED_NAME.search(disposition.decode("latin-1"))
            raw = unquote(extended.group(1)) if extended else params.get(b"filename", b"").decode("utf-8", "replace")
            self.filename = safe_name(raw)

    def _data(self, data, start, end):
        if self.in_file and end > start:
            self.pending.append(bytes(data[start:end]))

    def _end(self):
        if self.in_file:
            self.in_file, self.ended = False, True


async def consume_upload(request: Request, consume: Callable[[Iterator[bytes], str | None], T], *,
                         limit: int) -> T:
    """Run `consume(chunks, file_name)` in a worker thread while the request body streams in."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise ApiProblem("unsupported-media-type",
                         f"send the file as multipart/form-data, in a part named {FIELD!r}", 415)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:  # multipart framing allowance
        raise too_large(limit)
    part = _FilePart()
    parser = MultipartParser(boundary, part.callbacks())
    chunks: queue.Queue = queue.Queue(maxsize=16)
    stop = threading.Event()
    file_seen = anyio.Event()
    outcome: dict = {}

    def put(item) -> None:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def drain() -> Iterator[bytes]:
        while True:
            item = chunks.get()
            if item is _END:
                return
            if item is _ABORT:
                raise InvalidInput("the upload was cut off before the file was complete; nothing was stored")
            yield item

    async def produce() -> None:
        ending = _ABORT
        try:
            async for body in request.stream():
                parser.write(body)
                if part.seen:
                    file_seen.set()
                while part.pending and not stop.is_set():
                    await anyio.to_thread.run_sync(put, part.pending.popleft())
                if part.ended or stop.is_set():
                    break
            else:
                parser.finalize()
            ending = _END if part.ended else _ABORT
        except ClientDisconnect:
            ending = _ABORT
        except Exception:  # noqa: BLE001 - a malformed body: the file counts as cut off, nothing is stored
            ending = _ABORT
        finally:
            file_seen.set()
            if part.seen:
                await anyio.to_thread.run_sync(put, ending)

    def run() -> None:
        try:
            outcome["value"] = consume(drain(), part.filename)
        except BaseException as exc:  # handed to the request, below
            outcome["error"] = exc
        finally:
            stop.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(produce)
        await file_seen.wait()
        if part.seen:
            await anyio.to_thread.run_sync(run)
        else:
            stop.set()
    if not part.seen:
        raise ApiProblem("invalid-request", f"no file: send it as a multipart part named {FIELD!r}", 422)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
