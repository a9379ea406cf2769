"""Multipart uploads streamed to disk under a generated name, with a size limit and sniffing."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from deepfake_analyzer.errors import AnalyzerError, UnsupportedMediaError, UsageError
from deepfake_analyzer.service.sniff import SNIFF_BYTES, SUPPORTED_FORMATS, sniff_media

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
MAX_FIELDS = 32
MAX_FIELD_BYTES = 4096
MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""Room for the form's other fields and part headers when checking Content-Length."""
MIN_FREE_DISK_BYTES = 1 << 30
"""An upload stops (HTTP 507) when its disk would have less free space than this: a chunked
upload has no Content-Length, so concurrent ones could otherwise fill the disk before their
413. Each checks the real free space, so together they stop at this reserve."""
DISK_CHECK_EVERY_BYTES = 8 << 20


class UploadTooLargeError(AnalyzerError):
    """The upload is larger than the server's limit (HTTP 413)."""


class UploadStorageError(AnalyzerError):
    """The server could not write the upload to its disk (HTTP 507)."""


class BadUploadError(UsageError):
    """The request is not a usable multipart upload (HTTP 400)."""


@dataclass(frozen=True)
class StoredUpload:
    """An upload saved to disk: the generated path, the client's name for display, the form."""

    path: Path
    filename: str
    kind: str
    size_bytes: int
    fields: dict[str, str] = field(default_factory=dict)


def display_name(raw: str) -> str:
    """The client's file name made safe for display: base name only, printable, <= 200 chars."""
    name = re.split(r"[\\/]", raw)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if c.isprintable())
    return name.strip()[:200] or "upload"


def check_content_length(header: str | None, max_bytes: int) -> None:
    """Refuse early when the declared request size is past the limit."""
    if header is None:
        return
    try:
        declared = int(header)
    except ValueError:
        raise BadUploadError("the Content-Length header is not a number") from None
    if declared > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise UploadTooLargeError(_too_large_message(max_bytes))


async def receive_upload(
    content_type: str | None,
    body: AsyncIterator[bytes],
    stem: Path,
    max_bytes: int,
    min_free_bytes: int = MIN_FREE_DISK_BYTES,
) -> StoredUpload:
    """Stream a multipart body to `stem` + sniffed extension; returns what was stored.

    The file part must be named `file`; other parts are short text fields. Data is written
    as it arrives (never held whole in memory); past `max_bytes` the partial file is removed
    and `UploadTooLargeError` raised; content that is no media raises
    `UnsupportedMediaError` after its first few KB; when the disk's free space would drop below
    `min_free_bytes` the partial file is removed and `UploadStorageError` raised.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    mime, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise BadUploadError(
            "send the file as multipart/form-data with a part named 'file' "
            "(curl -F file=@clip.mp4 ...)"
        )
    sink = _UploadSink(stem, max_bytes, min_free_bytes)
    parser = MultipartParser(boundary, sink.callbacks())
    try:
        async for chunk in body:
            parser.write(chunk)
            sink.raise_pending()
        parser.finalize()
        sink.raise_pending()
        return sink.result()
    except AnalyzerError:
        sink.discard()
        raise
    except OSError as exc:
        sink.discard()
        raise UploadStorageError(
            f"the server could not store the upload ({exc.strerror or exc}); "
            "try again later or ask the operator to free disk space"
        ) from None
    except Exception as exc:
        sink.discard()
        if type(exc).__module__.startswith("python_multipart"):
            raise BadUploadError(f"the multipart body is malformed ({exc})") from None
        raise
    except BaseException:
        sink.discard()
        raise


class _UploadSink:
    """Receives the multipart parser's callbacks and writes the file part to disk."""

    def __init__(self, stem: Path, max_bytes: int, min_free_bytes: int = 0) -> None:
        self.stem = stem
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self._next_disk_check = 0
        self.part_path = stem.with_name(stem.name + ".part")
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.kind = ""
        self.extension = ""
        self.size = 0
        self.error: AnalyzerError | None = None
        self._file: BinaryIO | None = None
        self._head = bytearray()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part_name = ""
        self._part_is_file = False
        self._field_data = bytearray()
        self._file_done = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._on_part_begin,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
        }

    def raise_pending(self) -> None:
        if self.error is not None:
            raise self.error

    def result(self) -> StoredUpload:
        if not self._file_done:
            raise BadUploadError("the upload has no file: send it in a part named 'file'")
        final = self.stem.with_name(self.stem.name + self.extension)
        os.replace(self.part_path, final)
        return StoredUpload(
            path=final,
            filename=display_name(self.filename or "upload"),
            kind=self.kind,
            size_bytes=self.size,
            fields=dict(self.fields),
        )

    def discard(self) -> None:
        self._close()
        with contextlib.suppress(OSError):
            self.part_path.unlink(missing_ok=True)

    # parser callbacks: they must not raise through the C-less parser state, so they record
    # the first error and ignore further data; `raise_pending` raises it between chunks.

    def _fail(self, error: AnalyzerError) -> None:
        if self.error is None:
            self.error = error

    def _on_part_begin(self) -> None:
        self._disposition = b""
        self._part_name = ""
        self._part_is_file = False
        self._field_data = bytearray()

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._disposition)
        self._part_name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in options or self._part_name == FILE_FIELD:
            if self._part_name != FILE_FIELD:
                self._fail(
                    BadUploadError(f"send the file in a part named 'file', not {self._part_name!r}")
                )
                return
            if self._file_done or self._file is not None:
                self._fail(BadUploadError("send one file per upload"))
                return
            self._part_is_file = True
            self.filename = options.get(b"filename", b"upload").decode("utf-8", "replace")
            self.part_path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.part_path, "wb")  # noqa: SIM115 - closed in _close
        elif len(self.fields) >= MAX_FIELDS:
            self._fail(BadUploadError(f"too many form fields (at most {MAX_FIELDS})"))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        chunk = data[start:end]
        if not self._part_is_file:
            self._field_data += chunk
            if len(self._field_data) > MAX_FIELD_BYTES:
                self._fail(BadUploadError(f"form field {self._part_name!r} is too long"))
            return
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self._fail(UploadTooLargeError(_too_large_message(self.max_bytes)))
            return
        if self.size >= self._next_disk_check:
            self._check_disk_space()
            if self.error is not None:
                return
        if not self.kind:
            self._head += chunk
            if len(self._head) >= SNIFF_BYTES:
                self._sniff()
            return
        self._write(chunk)

    def _check_disk_space(self) -> None:
        self._next_disk_check = self.size + DISK_CHECK_EVERY_BYTES
        if self.min_free_bytes <= 0:
            return
        free = shutil.disk_usage(self.part_path.parent).free
        if free - DISK_CHECK_EVERY_BYTES < self.min_free_bytes:
            self._fail(
                UploadStorageError(
                    "the server is low on disk space and cannot take this upload now; try again "
                    "later or ask the operator to free disk space"
                )
            )

    def _on_part_end(self) -> None:
        if self.error is not None:
            return
        if not self._part_is_file:
            if self._part_name:
                self.fields[self._part_name] = self._field_data.decode("utf-8", "replace")
            return
        if not self.kind:
            if not self._head:
                self._fail(BadUploadError("the uploaded file is empty"))
                return
            self._sniff()
            if self.error is not None:
                return
        self._close()
        self._file_done = True

    def _sniff(self) -> None:
        sniffed = sniff_media(bytes(self._head))
        if sniffed is None:
            self._fail(
                UnsupportedMediaError(
                    f"the upload is not a video or image we can analyze (judged by its content, "
                    f"not its name); send {SUPPORTED_FORMATS}"
                )
            )
            return
        self.kind = sniffed.kind
        self.extension = sniffed.extension
        self._write(self._head)
        self._head = bytearray()

    def _write(self, data: bytes | bytearray) -> None:
        if self._file is None:  # never: the file part's headers opened it
            raise RuntimeError("upload data before its file was opened")
        self._file.write(data)

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _too_large_message(max_bytes: int) -> str:
    return (
        f"the upload is larger than this server's limit of {max_bytes / (1024 * 1024):g} MB; "
        "trim the clip or ask the operator to raise the server's max_upload_mb"
    )
