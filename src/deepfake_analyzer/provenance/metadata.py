"""Unsigned origin labels: EXIF camera and software, XMP/IPTC digital source type, container tags.

Images are read with Pillow (`getexif`, and `getxmp`, which parses XMP with defusedxml);
videos' global container tags come from ffmpeg's own description of the input (the
`Metadata:` block it prints for `ffmpeg -i`), so no extra tool is needed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deepfake_analyzer.provenance.types import MetadataEvidence

EXIF_MAKE, EXIF_MODEL, EXIF_SOFTWARE, EXIF_DATETIME = 271, 272, 305, 306
EXIF_IFD, EXIF_DATETIME_ORIGINAL = 0x8769, 36867
CONTAINER_TIMEOUT_S = 30
MAX_VALUE_CHARS = 200
CONTAINER_KEYS: dict[str, tuple[str, ...]] = {
    "camera_make": ("com.apple.quicktime.make", "make", "com.android.manufacturer"),
    "camera_model": ("com.apple.quicktime.model", "model", "com.android.model"),
    "software": ("com.apple.quicktime.software", "software", "com.android.version"),
    "encoder": ("encoder", "encoded_by", "com.apple.quicktime.encoder"),
    "created": ("com.apple.quicktime.creationdate", "creation_time", "date"),
}
"""Global container tags (ffmpeg's lower-cased names) for each field, first found wins."""


def read_image_metadata(path: Path) -> MetadataEvidence:
    """EXIF make/model/software/date and XMP digital source type / creator tool of an image."""
    from deepfake_analyzer.media.image import header_exif, open_image_header

    with open_image_header(path) as image:  # metadata only: never decodes the pixels
        exif = header_exif(image)
        taken = exif.get_ifd(EXIF_IFD).get(EXIF_DATETIME_ORIGINAL) or exif.get(EXIF_DATETIME)
        xmp = image.getxmp() if hasattr(image, "getxmp") else {}
    sources = tuple(dict.fromkeys(_text(v) for v in _find(xmp, "DigitalSourceType") if v))
    tools = [_text(v) for v in _find(xmp, "CreatorTool") if v]
    return MetadataEvidence(
        digital_source_types=sources,
        camera_make=_text(exif.get(EXIF_MAKE)),
        camera_model=_text(exif.get(EXIF_MODEL)),
        software=_text(exif.get(EXIF_SOFTWARE)),
        creator_tool=tools[0] if tools else "",
        created=_text(taken),
    )


def read_container_tags(path: Path) -> MetadataEvidence:
    """Camera, software, encoder and creation tags from a video container's global metadata."""
    tags = container_tags(path)

    def first(field: str) -> str:
        return next((tags[key] for key in CONTAINER_KEYS[field] if tags.get(key)), "")

    return MetadataEvidence(
        camera_make=first("camera_make"),
        camera_model=first("camera_model"),
        software=first("software"),
        encoder=first("encoder"),
        created=first("created"),
    )


def container_tags(path: Path) -> dict[str, str]:
    """The input's global `Metadata:` block as ffmpeg prints it (keys lower-cased)."""
    from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe
    from deepfake_analyzer.media.probe import ffmpeg_url

    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_url(path)]
    proc = subprocess.run(cmd, capture_output=True, timeout=CONTAINER_TIMEOUT_S, check=False)
    return parse_metadata_block(proc.stderr.decode("utf-8", errors="replace"))


def parse_metadata_block(text: str) -> dict[str, str]:
    """`key : value` lines of the first input's global `Metadata:` block (indented 4)."""
    tags: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("Input #0"):
            break
    for line in lines:
        if line.strip() == "Metadata:" and line.startswith("  ") and not line.startswith("   "):
            break
        if not line.startswith("  "):
            return tags
    else:
        return tags
    for line in lines:
        if not line.startswith("    "):
            break
        key, sep, value = line.strip().partition(":")
        if sep and key.strip():
            tags.setdefault(key.strip().lower(), _text(value.strip()))
    return tags


def _find(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under `key` anywhere in Pillow's nested XMP dict."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key:
                yield from value if isinstance(value, list) else [value]
            else:
                yield from _find(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find(item, key)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):  # an XMP element with attributes: its text, if any
        value = value.get("text", "")
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = " ".join(str(value).replace("\x00", " ").split())
    return text[:MAX_VALUE_CHARS]
