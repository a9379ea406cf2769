"""Streaming multipart uploads: generated names, size limit, sniffing, form fields."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from deepfake_analyzer.errors import UnsupportedMediaError
from deepfake_analyzer.service.sniff import sniff_media
from deepfake_analyzer.service.uploads import (
    BadUploadError,
    UploadStorageError,
    UploadTooLargeError,
    check_content_length,
    display_name,
    receive_upload,
)

BOUNDARY = "xyzBOUNDARY"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def _body(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    chunks = []
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        chunks.append(f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode())
        chunks.append(data + b"\r\n")
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _receive(
    tmp_path: Path, body: bytes, max_bytes: int = 1 << 20, chunk: int = 1000, ctype=CONTENT_TYPE
):
    return asyncio.run(receive_upload(ctype, _chunks(body, chunk), tmp_path / "jobid", max_bytes))


@pytest.mark.parametrize("chunk", [1, 7, 1000, 1 << 20])
def test_a_jpeg_is_stored_under_the_generated_name(tmp_path: Path, chunk: int) -> None:
    body = _body(
        [("fps", None, b"2"), ("file", "../../x/holiday.JPG", JPEG), ("explain", None, b"")]
    )
    stored = _receive(tmp_path, body, chunk=chunk)
    assert stored.path == tmp_path / "jobid.jpg"
    assert stored.path.read_bytes() == JPEG
    assert (stored.filename, stored.kind, stored.size_bytes) == ("holiday.JPG", "image", len(JPEG))
    assert stored.fields == {"fps": "2", "explain": ""}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobid.jpg"]


def test_a_video_is_recognised_by_content_not_name(tmp_path: Path, short_video: Path) -> None:
    stored = _receive(tmp_path, _body([("file", "photo.png", short_video.read_bytes())]))
    assert (stored.path.name, stored.kind) == ("jobid.mp4", "video")


def test_past_the_limit_nothing_is_left(tmp_path: Path) -> None:
    with pytest.raises(UploadTooLargeError, match="larger than this server's limit"):
        _receive(tmp_path, _body([("file", "big.png", PNG_HEAD + bytes(20_000))]), 10_485)
    assert not list(tmp_path.iterdir())


def test_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    data = PNG_HEAD + bytes(992)
    assert _receive(tmp_path, _body([("file", "a.png", data)]), len(data)).size_bytes == len(data)


@pytest.mark.parametrize(
    "data",
    [
        b"just some notes\n" * 100,
        b"\x00\x01\x02\x03" * 100,
        b"\x00\x00\x00\x18ftypheic" + bytes(64),
    ],
    ids=["text", "binary", "heic"],
)
def test_non_media_content_is_refused(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(UnsupportedMediaError, match="not a video or image"):
        _receive(tmp_path, _body([("file", "clip.mp4", data)]))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (_body([("fps", None, b"2")]), CONTENT_TYPE, "no file"),
        (_body([("file", "a.jpg", b"")]), CONTENT_TYPE, "empty"),
        (_body([("file", "a.jpg", JPEG), ("file", "b.jpg", JPEG)]), CONTENT_TYPE, "one file"),
        (_body([("video", "a.jpg", JPEG)]), CONTENT_TYPE, "named 'file'"),
        (_body([("fps", None, b"9" * 5000)]), CONTENT_TYPE, "too long"),
        (b"file=abc", "application/x-www-form-urlencoded", "multipart/form-data"),
        (b"garbage without boundary", CONTENT_TYPE, "malformed"),
    ],
)
def test_bad_bodies_get_a_clear_message(
    tmp_path: Path, body: bytes, ctype: str, message: str
) -> None:
    with pytest.raises(BadUploadError, match=message):
        _receive(tmp_path, body, ctype=ctype)
    assert not list(tmp_path.iterdir())


def test_declared_length_is_checked_before_reading() -> None:
    check_content_length(None, 100)
    check_content_length("1000", 100)  # within the multipart overhead allowance
    with pytest.raises(UploadTooLargeError):
        check_content_length(str(10 * 1024 * 1024), 100)
    with pytest.raises(BadUploadError):
        check_content_length("lots", 100)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("clip.mp4", "clip.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\video.mov", "video.mov"),
        ("bad\x00name\n.mp4", "badname.mp4"),
        ("", "upload"),
        ("x" * 300, "x" * 200),
    ],
)
def test_display_names_are_base_names_only(raw: str, shown: str) -> None:
    assert display_name(raw) == shown


@pytest.mark.parametrize(
    ("head", "kind", "extension"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image", ".jpg"),
        (PNG_HEAD + bytes(8), "image", ".png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image", ".webp"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video", ".avi"),
        (b"\x00\x00\x00\x14ftypqt  ", "video", ".mov"),
        (b"\x00\x00\x00\x18ftypisom", "video", ".mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "video", ".webm"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", "video", ".mkv"),
        (b"\x00\x00\x01\xba\x44\x00", "video", ".mpg"),
    ],
)
def test_sniffing_gives_kind_and_extension(head: bytes, kind: str, extension: str) -> None:
    sniffed = sniff_media(head)
    assert (sniffed.kind, sniffed.extension) == (kind, extension)


def test_a_storage_failure_is_reported_not_raised_raw(tmp_path: Path) -> None:
    blocker = tmp_path / "uploads"
    blocker.write_text("a file where the uploads folder should be")
    body = _body([("file", "a.jpg", JPEG)])
    with pytest.raises(UploadStorageError, match="could not store the upload"):
        asyncio.run(receive_upload(CONTENT_TYPE, _chunks(body, 100), blocker / "jobid", 1 << 20))


def test_an_upload_stops_before_the_disk_fills(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from deepfake_analyzer.service import uploads

    free = {"bytes": 3 * uploads.DISK_CHECK_EVERY_BYTES}
    usage = shutil.disk_usage(tmp_path)

    def fake_usage(path: object) -> object:
        free["bytes"] -= uploads.DISK_CHECK_EVERY_BYTES  # as concurrent uploads fill the disk
        return usage._replace(free=free["bytes"])

    monkeypatch.setattr(uploads.shutil, "disk_usage", fake_usage)
    body = _body([("file", "big.png", PNG_HEAD + bytes(4 * uploads.DISK_CHECK_EVERY_BYTES))])
    with pytest.raises(UploadStorageError, match="low on disk space"):
        asyncio.run(
            receive_upload(
                CONTENT_TYPE,
                _chunks(body, 1 << 20),
                tmp_path / "jobid",
                1 << 30,
                min_free_bytes=uploads.DISK_CHECK_EVERY_BYTES,
            )
        )
    assert not list(tmp_path.iterdir())  # the partial file is gone
