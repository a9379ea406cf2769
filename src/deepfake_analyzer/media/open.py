"""Open any input as a MediaSource after checking it exists, is readable and is media."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from deepfake_analyzer.errors import (
    ImageTooLargeError,
    InputNotFoundError,
    UnreadableInputError,
    UnsupportedMediaError,
)
from deepfake_analyzer.media.base import MediaSource
from deepfake_analyzer.media.types import (
    IMAGE_EXTENSIONS,
    MEDIA_EXTENSIONS,
    VIDEO_EXTENSIONS,
    MediaKind,
    SamplingOptions,
)
from deepfake_analyzer.options import DECODE_MAX_SIDE, DEFAULT_MAX_IMAGE_PIXELS

SNIFF_BYTES = 512

_BMP_HEADER_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)
_ISO_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif")
_QUICKTIME_ATOMS = (b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot")


def _supported_list(extensions: frozenset[str]) -> str:
    return " ".join(sorted(extensions))


@dataclass(frozen=True)
class MagicSignature:
    """A format recognised by its first bytes: the kind to decode it as, and the extension a
    stored copy gets (None: the generic `.video` / `.image`)."""

    name: str
    kind: MediaKind
    extension: str | None
    matches: Callable[[bytes], bool]


MEDIA_SIGNATURES: tuple[MagicSignature, ...] = (
    MagicSignature("JPEG", "image", ".jpg", lambda h: h.startswith(b"\xff\xd8\xff")),
    MagicSignature("PNG", "image", ".png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    MagicSignature("WebP", "image", ".webp", lambda h: h[:4] == b"RIFF" and h[8:12] == b"WEBP"),
    MagicSignature(
        "BMP",
        "image",
        ".bmp",
        lambda h: h[:2] == b"BM" and int.from_bytes(h[14:18], "little") in _BMP_HEADER_SIZES,
    ),
    MagicSignature(
        "TIFF", "image", ".tif", lambda h: h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    ),
    # ISO base media (MP4, MOV, M4V; M4A audio too, which the probe reports as audio only)
    MagicSignature(
        "QuickTime", "video", ".mov", lambda h: h[4:8] == b"ftyp" and h[8:12] == b"qt  "
    ),
    MagicSignature("MP4", "video", ".mp4", lambda h: h[4:8] == b"ftyp"),
    MagicSignature("QuickTime", "video", ".mov", lambda h: h[4:8] in _QUICKTIME_ATOMS),
    MagicSignature("ISO media", "video", None, lambda h: h[4:8] == b"uuid"),
    MagicSignature(
        "WebM",
        "video",
        ".webm",
        lambda h: h.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in h[:64],
    ),
    MagicSignature("Matroska", "video", ".mkv", lambda h: h.startswith(b"\x1a\x45\xdf\xa3")),
    MagicSignature("AVI", "video", ".avi", lambda h: h[:4] == b"RIFF" and h[8:11] == b"AVI"),
    MagicSignature(
        "MPEG", "video", ".mpg", lambda h: h[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")
    ),
    MagicSignature(
        "MPEG-TS", "video", ".ts", lambda h: len(h) > 188 and h[0] == 0x47 and h[188] == 0x47
    ),
    MagicSignature("FLV", "video", ".flv", lambda h: h[:3] == b"FLV"),
    MagicSignature("Ogg", "video", ".ogv", lambda h: h[:4] == b"OggS"),
    MagicSignature("ASF", "video", ".wmv", lambda h: h[:4] == b"\x30\x26\xb2\x75"),
    # animated or not: ffmpeg decodes it, whatever the extension says
    MagicSignature("GIF", "video", ".gif", lambda h: h[:6] in (b"GIF87a", b"GIF89a")),
)
"""Every format we read, first match wins: the one table the CLI's check and the service's
upload sniffing both read."""


def sniff_signature(head: bytes) -> MagicSignature | None:
    """The first of `MEDIA_SIGNATURES` a file's first bytes match, None when unknown."""
    return next((sig for sig in MEDIA_SIGNATURES if sig.matches(head)), None)


def sniff_kind(head: bytes) -> MediaKind | None:
    """'video' or 'image' from a file's first bytes (magic numbers), None when unknown."""
    signature = sniff_signature(head)
    return None if signature is None else signature.kind


def looks_like_audio(head: bytes) -> bool:
    """True for audio-only containers: MP3 (ID3 or frame sync), AAC (ADTS), FLAC, WAV."""
    if head[:3] == b"ID3" or head[:4] == b"fLaC":
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return True
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def kind_from_extension(path: Path) -> MediaKind | None:
    """'video' or 'image' from the file name's extension (case-insensitive), else None."""
    extension = path.suffix.lower()
    if extension in VIDEO_EXTENSIONS:
        return "video"
    return "image" if extension in IMAGE_EXTENSIONS else None


def iso_image_brand(head: bytes) -> str | None:
    """The brand of an ISO-BMFF still image (HEIC, AVIF), which we do not decode."""
    if head[4:8] == b"ftyp" and head[8:12] in _ISO_IMAGE_BRANDS:
        return head[8:12].decode("ascii").strip()
    return None


def looks_like_text(head: bytes) -> bool:
    """True when the bytes read like text (no NUL bytes, valid UTF-8 or mostly printable)."""
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data":  # a character cut by the sniff window
            return True
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return printable / len(head) > 0.95


def read_head(path: Path, size: int = SNIFF_BYTES) -> bytes:
    """The first bytes of a file, translating OS failures into one-line errors."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except PermissionError:
        raise UnreadableInputError(
            "permission denied: make the file readable (e.g. chmod +r)", path
        ) from None
    except OSError as exc:
        raise UnreadableInputError(f"cannot be read ({exc.strerror or exc})", path) from None


def check_input_file(path: Path) -> MediaKind:
    """Check a file exists, is readable, non-empty media; returns the kind to decode it as."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputNotFoundError("does not exist: check the path", path) from None
    except PermissionError:
        raise UnreadableInputError("permission denied: cannot access the file", path) from None
    except OSError as exc:
        raise UnreadableInputError(f"cannot be accessed ({exc.strerror or exc})", path) from None
    if stat.S_ISDIR(st.st_mode):
        raise UnsupportedMediaError("is a folder: analyze it as a batch instead", path)
    if not stat.S_ISREG(st.st_mode):
        raise UnsupportedMediaError("is not a regular file", path)
    if st.st_size == 0:
        raise UnsupportedMediaError("is empty (0 bytes): the file has no media in it", path)
    head = read_head(path)
    extension = path.suffix.lower()
    by_extension = kind_from_extension(path)
    brand = iso_image_brand(head)
    if brand is not None:
        raise UnsupportedMediaError(
            f"is a {brand.upper()} image, which is not supported: convert it to JPEG or PNG", path
        )
    if looks_like_text(head):  # checked first: real media headers never read as text
        named = f" despite its {extension} extension" if by_extension else ""
        raise UnsupportedMediaError(f"is not a media file{named}: it contains text", path)
    by_content = sniff_kind(head)
    if by_content is not None:
        return by_content
    if looks_like_audio(head):
        raise UnsupportedMediaError(
            "has no video stream (audio only): give a video or an image", path
        )
    if by_extension is None:
        shown = extension or "no extension"
        raise UnsupportedMediaError(
            f"is not a supported media file ({shown}); supported: "
            f"{_supported_list(MEDIA_EXTENSIONS)}",
            path,
        )
    return by_extension  # unknown binary content: let the decoder judge it


def open_media(
    path: Path | str,
    sampling: SamplingOptions | None = None,
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    *,
    max_video_side: int | None = DECODE_MAX_SIDE,
) -> MediaSource:
    """Open a video or an image for decoding.

    The kind is decided by the file's content (magic bytes), then its extension. Raises
    InputNotFoundError, UnreadableInputError, UnsupportedMediaError (text, audio only, empty,
    HEIC, a shape over `MAX_ASPECT_RATIO`), DecodeError (corrupt) or ImageTooLargeError, each
    with a one-line message. Video frames are scaled down to `max_video_side` (memory bound).
    """
    path = Path(path)
    kind = check_input_file(path)
    if kind == "image":
        from deepfake_analyzer.media.image import ImageSource

        return ImageSource(path, max_image_pixels=max_image_pixels)
    from deepfake_analyzer.media.image import check_aspect_ratio
    from deepfake_analyzer.media.video import VideoSource

    video = VideoSource(path, sampling or SamplingOptions(), max_side=max_video_side)
    width, height = video.info.width, video.info.height
    if width * height > max_image_pixels:  # ffmpeg would hold such frames at full size
        raise ImageTooLargeError(
            f"video frames too large ({width}x{height} = {width * height:,} pixels, limit "
            f"{max_image_pixels:,}): downscale it first (the limit is the max_image_pixels "
            "option)",
            path,
        )
    check_aspect_ratio(width, height, path)
    return video


def discover_media(path: Path | str) -> list[Path]:
    """The inputs under `path`: the file itself, or a folder's media files, recursively.

    Folders are walked in sorted order; hidden files and folders (a leading dot) are skipped,
    and only media extensions (case-insensitive) are kept.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError("does not exist: check the path", path)
    if not path.is_dir():
        return [path]
    if not os.access(path, os.R_OK | os.X_OK):
        raise UnreadableInputError("permission denied: cannot list the folder", path)
    found: list[Path] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in files:
            if not name.startswith(".") and Path(name).suffix.lower() in MEDIA_EXTENSIONS:
                found.append(Path(root) / name)
    if not found:
        raise InputNotFoundError(
            f"no media files found in this folder (looked recursively for "
            f"{_supported_list(MEDIA_EXTENSIONS)})",
            path,
        )
    return sorted(found, key=lambda p: p.relative_to(path).parts)
