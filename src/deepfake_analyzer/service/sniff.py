"""Recognise uploaded media by its first bytes, never by the client's file name.

Whether bytes are media is decided by `deepfake_analyzer.media.open` (the same check the CLI
applies); this module adds the extension the stored copy gets.
"""

from __future__ import annotations

from dataclasses import dataclass

from deepfake_analyzer.media.open import iso_image_brand, looks_like_text, sniff_kind
from deepfake_analyzer.media.types import MediaKind

SNIFF_BYTES = 4096
"""How many leading bytes `sniff_media` wants to see (fewer is fine for short files)."""

SUPPORTED_FORMATS = "MP4, MOV, MKV, WebM, AVI, MPEG, JPEG, PNG, WebP, BMP or TIFF"

_QUICKTIME_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


@dataclass(frozen=True)
class SniffedMedia:
    """What the leading bytes say: the kind and the extension the stored file gets."""

    kind: MediaKind
    extension: str

    def __post_init__(self) -> None:
        if self.kind not in ("video", "image") or not self.extension.startswith("."):
            raise ValueError(f"bad sniff result {self.kind!r} {self.extension!r}")


def sniff_media(head: bytes) -> SniffedMedia | None:
    """The media `head` (a file's first bytes) starts, or None when it is no media we read."""
    if iso_image_brand(head) is not None or looks_like_text(head):
        return None
    kind = sniff_kind(head)
    if kind is None:
        return None
    return SniffedMedia(kind, _extension(head, kind))


def _extension(head: bytes, kind: MediaKind) -> str:
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head.startswith(b"\x89PNG"):
        return ".png"
    if head[:4] == b"RIFF":
        return ".webp" if head[8:12] == b"WEBP" else ".avi"
    if head[:2] == b"BM":
        return ".bmp"
    if head[:2] in (b"II", b"MM"):
        return ".tif"
    if head[4:8] == b"ftyp":
        return ".mov" if head[8:12] == b"qt  " else ".mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return ".mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm" if b"webm" in head[:64] else ".mkv"
    if head[:3] == b"\x00\x00\x01":
        return ".mpg"
    if head[:1] == b"\x47":
        return ".ts"
    if head[:3] == b"FLV":
        return ".flv"
    if head[:4] == b"OggS":
        return ".ogv"
    if head[:4] == b"\x30\x26\xb2\x75":
        return ".wmv"
    return ".video" if kind == "video" else ".image"
