"""Reading a multipart form as it streams in: short fields as (name, value), each file part as FileStart, its
chunks and END_OF_FILE, in arrival order.

It builds on the API's upload parser (python-multipart's push parser): Starlette's own form parsing would spool
large files to a temporary file in plaintext. The route runs in a worker thread and pulls the body from the
event loop chunk by chunk, so a file is stored as it arrives and memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import anyio.from_thread
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from clientfolio.domain.errors import ClientfolioError, InvalidInput, PermissionDenied, TooLarge
from clientfolio.entrypoints.api import uploads

MAX_FIELDS, FIELD_BYTES = 40, 4096  # the short fields around the files
FRAMING = 64 * 1024  # multipart headers and boundaries around each file

END_OF_FILE = object()  # the end of a file part


@dataclass
class FileStart:
    name: str | None  # the file's name as the browser sent it (made safe), None when there was none


class _FormParts(uploads._FilePart):
    """The API parser's part handling, for a whole form: each short field as (name, value), and each `file`
    part as FileStart, its bytes, END_OF_FILE, in the order they arrive (in `pending`)."""

    def __init__(self):
        super().__init__()
        self.field_name, self.field_value, self.field_count = "", bytearray(), 0

    def _headers_done(self):
        self.seen = False  # the API takes one file per request; a form may send many
        super()._headers_done()
        if self.in_file:
            self.pending.append(FileStart(self.filename))
            return
        _, params = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.field_name, self.field_value = params.get(b"name", b"").decode("utf-8", "replace"), bytearray()

    def _data(self, data, start, end):
        if self.in_file:
            super()._data(data, start, end)
            return
        self.field_value += data[start:end]
        if len(self.field_value) > FIELD_BYTES:
            raise InvalidInput(f"the form field {self.field_name[:40]!r} is too long")

    def _end(self):
        if self.in_file:
            super()._end()
            self.pending.append(END_OF_FILE)
            return
        self.field_count += 1
        if self.field_count > MAX_FIELDS:
            raise InvalidInput("the form has too many fields")
        self.pending.append((self.field_name, self.field_value.decode("utf-8", "replace")))


def _body(request: Request, cap: int) -> Iterator[bytes]:
    """The request body as it arrives, pulled from the event loop by the worker thread running the route."""
    stream, total = request.stream(), 0

    async def pull() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while True:
        try:
            chunk = anyio.from_thread.run(pull)
        except ClientDisconnect:
            return
        if chunk is None:
            return
        total += len(chunk)
        if total > cap:
            raise TooLarge(f"refused: more than {cap:,} bytes in one upload")
        yield chunk


def form_events(request: Request, cap: int) -> Iterator:
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise InvalidInput("send the form as multipart/form-data")
    parts = _FormParts()
    parser = MultipartParser(params[b"boundary"], parts.callbacks())
    try:
        for chunk in _body(request, cap):
            parser.write(chunk)
            while parts.pending:
                yield parts.pending.popleft()
        parser.finalize()
    except (InvalidInput, PermissionDenied):
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed body: what was not complete is not stored
        raise InvalidInput("the form could not be read; nothing more was stored") from exc
    yield from parts.pending


class FilePart:
    """One file's bytes, pulled from the form only as the service reads them."""

    def __init__(self, events: Iterator):
        self.events, self.head, self.touched, self.done = events, None, False, False

    def empty(self) -> bool:
        """No bytes at all (a file input left empty still sends a part)."""
        self.head = next(self, None)
        self.touched = False
        return self.head is None

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        self.touched = True
        if self.head is not None:
            head, self.head = self.head, None
            return head
        if self.done:
            raise StopIteration
        for event in self.events:
            if event is END_OF_FILE:
                break
            return event
        else:
            self.done = True
            raise InvalidInput("the upload was cut off before the file was complete; nothing was stored")
        self.done = True
        raise StopIteration

    def skip(self) -> None:
        """Read past what the service did not take (a refused or too large file)."""
        try:
            for _ in self:
                pass
        except InvalidInput:
            pass


def drain(events: Iterator) -> None:
    """Read the rest of the body (bounded) so the browser gets the answer rather than a broken connection."""
    try:
        for _ in events:
            pass
    except ClientfolioError:
        pass
