"""Locate the ffmpeg binary (system first, else imageio-ffmpeg's) and ffprobe when present."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

from deepfake_analyzer.errors import DecodeError

_VERSION_RE = re.compile(r"ffmpeg version n?(\d+)\.(\d+)")


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: `ffmpeg` on PATH if present, else imageio-ffmpeg's bundled one."""
    system = shutil.which("ffmpeg")
    if system:
        return system
    try:
        import imageio_ffmpeg
    except ImportError:
        raise DecodeError(
            "ffmpeg not found: install ffmpeg on the PATH or `pip install imageio-ffmpeg`"
        ) from None
    try:
        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise DecodeError(f"ffmpeg not found ({exc}): install ffmpeg on the PATH") from None


@functools.cache
def ffprobe_exe() -> str | None:
    """Path of `ffprobe` on PATH, or None (imageio-ffmpeg ships no ffprobe)."""
    return shutil.which("ffprobe")


@functools.cache
def ffmpeg_version() -> tuple[int, int] | None:
    """(major, minor) of the ffmpeg binary, or None for git builds without a release number."""
    try:
        out = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_ffmpeg_version(out)


def parse_ffmpeg_version(text: str) -> tuple[int, int] | None:
    """Parse `ffmpeg -version` output, e.g. "ffmpeg version n9.0.2-17-g..." -> (9, 0)."""
    match = _VERSION_RE.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def passthrough_timing_args() -> list[str]:
    """Output options that keep every filtered frame with its own timestamp (no dup/drop).

    `-fps_mode` exists since ffmpeg 5.1 and `-vsync` is gone in ffmpeg 8+.
    Unknown versions (git builds) are assumed recent.
    """
    version = ffmpeg_version()
    if version is not None and version < (5, 1):
        return ["-vsync", "passthrough"]
    return ["-fps_mode", "passthrough"]


def showinfo_has_checksum_option() -> bool:
    """Whether `showinfo=checksum=0` is accepted (ffmpeg 6+), which skips a per-frame hash."""
    version = ffmpeg_version()
    return version is None or version >= (6, 0)
