"""Recognise uploaded media by its first bytes, never by the client's file name.

Whether bytes are media, and which extension the stored copy gets, is read from
`deepfake_analyzer.media.open.MEDIA_SIGNATURES` (the same table the CLI's check reads).
"""

from __future__ import annotations

from dataclasses import dataclass

from deepfake_analyzer.media.open import iso_image_brand, looks_like_text, sniff_signature
from deepfake_analyzer.media.types import MediaKind

SNIFF_BYTES = 4096
"""How many leading bytes `sniff_media` wants to see (fewer is fine for short files)."""

SUPPORTED_FORMATS = "MP4, MOV, MKV, WebM, AVI, MPEG, JPEG, PNG, WebP, BMP or TIFF"


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
    signature = sniff_signature(head)
    if signature is None:
        return None
    return SniffedMedia(signature.kind, signature.extension or f".{signature.kind}")
