"""Probe a video's streams: ffprobe JSON when present, else the header `ffmpeg -i` prints."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from deepfake_analyzer.errors import (
    AnalyzerError,
    DecodeError,
    InputNotFoundError,
    UnreadableInputError,
    UnsupportedMediaError,
)
from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe, ffprobe_exe
from deepfake_analyzer.media.types import MediaInfo

PROBE_TIMEOUT_S = 60.0

_DURATION_RE = re.compile(r"Duration:\s*(?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)")
_START_RE = re.compile(r"start:\s*(-?\d+(?:\.\d+)?)")
_STREAM_RE = re.compile(
    r"^\s*Stream #(\d+):(\d+)\S*:\s*(Video|Audio|Subtitle|Data|Attachment):\s*(.*)$"
)
_SIZE_RE = re.compile(r",\s(\d+)x(\d+)(?=[\s,\[]|$)")
_SAR_RE = re.compile(r"\[SAR (\d+):(\d+) DAR \d+:\d+\]")
_FPS_RE = re.compile(r"(\d+(?:\.\d+)?)(k?) fps")
_TBR_RE = re.compile(r"(\d+(?:\.\d+)?)(k?) tbr")
_MATRIX_RE = re.compile(
    r"(?:displaymatrix|display matrix):\s*rotation of\s*(-?\d+(?:\.\d+)?)", re.I
)
_ROTATE_TAG_RE = re.compile(r"^\s*rotate\s*:\s*(-?\d+)", re.I)


@dataclass(frozen=True)
class VideoProbe:
    """A probed video: `info` (displayed size) plus what the decoder needs.

    `coded_width`/`coded_height` are the stored size before rotation and aspect correction;
    `video_index` counts video streams (cover art included) for `-map 0:v:N`.
    """

    info: MediaInfo
    coded_width: int
    coded_height: int
    sample_aspect: float = 1.0
    video_index: int = 0
    has_audio: bool = False
    start_s: float = 0.0
    frame_count: int | None = None

    def __post_init__(self) -> None:
        if self.coded_width <= 0 or self.coded_height <= 0:
            raise ValueError("coded size must be positive")
        if not self.sample_aspect > 0:
            raise ValueError("sample_aspect must be positive")


@dataclass(frozen=True)
class _Stream:
    kind: str
    text: str
    lines: tuple[str, ...]


def probe_media(path: Path | str) -> MediaInfo:
    """Describe a video (displayed size after rotation, duration, fps, codec)."""
    return probe_video(path).info


def probe_video(path: Path | str) -> VideoProbe:
    """Probe a video file; raises a one-line `AnalyzerError` naming the file and the problem."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise UnsupportedMediaError("is empty (0 bytes): the file has no media in it", path)
    except FileNotFoundError:
        raise InputNotFoundError("does not exist: check the path", path) from None
    except OSError:
        pass  # let ffmpeg report it
    if ffprobe_exe() is not None:
        data = _run_ffprobe(path)
        if data is not None:
            return parse_ffprobe_json(data, path)
    return parse_ffmpeg_header(_run_ffmpeg_header(path), path)


def ffmpeg_url(path: Path) -> str:
    """An ffmpeg input URL that cannot be mistaken for an option or a protocol."""
    return "file:" + os.fspath(path.resolve())


def _run_ffmpeg_header(path: Path) -> str:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_url(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise DecodeError(
            f"probing took over {PROBE_TIMEOUT_S:g} s: the file is corrupt", path
        ) from None
    except OSError as exc:
        raise DecodeError(f"cannot run ffmpeg ({exc})", path) from None
    return proc.stderr.decode("utf-8", errors="replace")


def _run_ffprobe(path: Path) -> dict[str, Any] | None:
    exe = ffprobe_exe()
    assert exe is not None
    cmd = [exe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams"]
    try:
        proc = subprocess.run(
            [*cmd, ffmpeg_url(path)], capture_output=True, timeout=PROBE_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise DecodeError(
            f"probing took over {PROBE_TIMEOUT_S:g} s: the file is corrupt", path
        ) from None
    except OSError:
        return None  # fall back to the ffmpeg header
    if proc.returncode != 0:
        # Let the ffmpeg header parser produce the diagnosis from its richer message.
        return None
    try:
        data = json.loads(proc.stdout.decode("utf-8", errors="replace"))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def parse_ffmpeg_header(text: str, path: Path | str) -> VideoProbe:
    """Parse the stream header `ffmpeg -hide_banner -i FILE` prints to stderr."""
    if "Input #0" not in text:
        raise _open_error(text, path)
    streams = _split_streams(text)
    videos = [s for s in streams if s.kind == "Video"]
    playable = [(i, s) for i, s in enumerate(videos) if "(attached pic)" not in s.text]
    has_audio = any(s.kind == "Audio" for s in streams)
    if not playable:
        raise _no_video_error(has_audio, path)
    index, stream = playable[0]
    size = _SIZE_RE.search(stream.text)
    if size is None:
        raise _no_frame_size_error(path)
    width, height = int(size.group(1)), int(size.group(2))
    sar_match = _SAR_RE.search(stream.text)
    sample_aspect = 1.0
    if sar_match and int(sar_match.group(1)) > 0 and int(sar_match.group(2)) > 0:
        sample_aspect = int(sar_match.group(1)) / int(sar_match.group(2))
    rotation = _rotation_from_lines(stream.lines)
    fps = _rate(_FPS_RE, stream.text) or _rate(_TBR_RE, stream.text)
    codec = stream.text.split(None, 1)[0].rstrip(",") if stream.text.strip() else None
    duration = _duration(text)
    start = _START_RE.search(text)
    return _build(
        path,
        width=width,
        height=height,
        sample_aspect=sample_aspect,
        rotation_ccw=rotation,
        fps=fps,
        codec=codec,
        duration_s=duration,
        video_index=index,
        has_audio=has_audio,
        start_s=float(start.group(1)) if start else 0.0,
        frame_count=None,
    )


def parse_ffprobe_json(data: dict[str, Any], path: Path | str) -> VideoProbe:
    """Parse `ffprobe -print_format json -show_format -show_streams` output."""
    streams = [s for s in data.get("streams", []) if isinstance(s, dict)]
    videos = [s for s in streams if s.get("codec_type") == "video"]
    playable = [
        (i, s) for i, s in enumerate(videos) if not s.get("disposition", {}).get("attached_pic")
    ]
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if not playable:
        raise _no_video_error(has_audio, path)
    index, stream = playable[0]
    width, height = int(stream.get("width") or 0), int(stream.get("height") or 0)
    if width <= 0 or height <= 0:
        raise _no_frame_size_error(path)
    sample_aspect = _ratio(stream.get("sample_aspect_ratio"), sep=":") or 1.0
    rotation = 0.0
    for side in stream.get("side_data_list", []) or []:
        if isinstance(side, dict) and "rotation" in side:
            rotation = float(side["rotation"])
            break
    else:
        tag = (stream.get("tags") or {}).get("rotate")
        if tag is not None:
            rotation = -float(tag)
    fps = _ratio(stream.get("avg_frame_rate")) or _ratio(stream.get("r_frame_rate"))
    fmt = data.get("format") or {}
    duration = _float(fmt.get("duration")) or _float(stream.get("duration")) or 0.0
    frames = str(stream.get("nb_frames") or "")
    return _build(
        path,
        width=width,
        height=height,
        sample_aspect=sample_aspect,
        rotation_ccw=rotation,
        fps=fps,
        codec=stream.get("codec_name"),
        duration_s=duration,
        video_index=index,
        has_audio=has_audio,
        start_s=_float(fmt.get("start_time")) or 0.0,
        frame_count=int(frames) if frames.isdigit() else None,
    )


def _no_video_error(has_audio: bool, path: Path | str) -> UnsupportedMediaError:
    detail = " (audio only)" if has_audio else ""
    return UnsupportedMediaError(f"has no video stream{detail}: give a video or an image", path)


def _no_frame_size_error(path: Path | str) -> DecodeError:
    return DecodeError(
        "the video stream has no frame size: the file is corrupt or incomplete", path
    )


def _build(
    path: Path | str,
    *,
    width: int,
    height: int,
    sample_aspect: float,
    rotation_ccw: float,
    fps: float | None,
    codec: str | None,
    duration_s: float,
    video_index: int,
    has_audio: bool,
    start_s: float,
    frame_count: int | None,
) -> VideoProbe:
    # The display matrix angle is counter-clockwise; MediaInfo (like the legacy `rotate` tag)
    # stores the clockwise rotation a player applies, in {0, 90, 180, 270}.
    rotation_cw = int(round(-rotation_ccw / 90.0)) * 90 % 360
    display_w = max(1, round(width * sample_aspect)) if sample_aspect != 1.0 else width
    display_h = height
    if rotation_cw in (90, 270):
        display_w, display_h = display_h, display_w
    info = MediaInfo(
        path=str(path),
        kind="video",
        width=display_w,
        height=display_h,
        duration_s=max(0.0, duration_s),
        fps=fps if fps and math.isfinite(fps) and fps > 0 else None,
        rotation_deg=rotation_cw,
        codec=codec,
    )
    return VideoProbe(
        info=info,
        coded_width=width,
        coded_height=height,
        sample_aspect=sample_aspect,
        video_index=video_index,
        has_audio=has_audio,
        start_s=start_s,
        frame_count=frame_count,
    )


def _split_streams(text: str) -> list[_Stream]:
    """The streams of input #0, each with the indented lines (metadata, side data) below it."""
    streams: list[_Stream] = []
    current: tuple[str, str, list[str]] | None = None
    in_first_input = False
    for line in text.splitlines():
        if line.startswith("Input #"):
            in_first_input = line.startswith("Input #0")
            continue
        if not in_first_input:
            continue
        match = _STREAM_RE.match(line)
        if match and match.group(1) == "0":
            if current:
                streams.append(_Stream(current[0], current[1], tuple(current[2])))
            current = (match.group(3), match.group(4), [])
        elif current is not None:
            if not line.startswith("    ") or line.lstrip().startswith("Stream #"):
                streams.append(_Stream(current[0], current[1], tuple(current[2])))
                current = None
            else:
                current[2].append(line)
    if current:
        streams.append(_Stream(current[0], current[1], tuple(current[2])))
    return streams


def _rotation_from_lines(lines: tuple[str, ...]) -> float:
    """Counter-clockwise display rotation from side data, else from a legacy `rotate` tag."""
    for line in lines:
        match = _MATRIX_RE.search(line)
        if match:
            return float(match.group(1))
    for line in lines:
        match = _ROTATE_TAG_RE.match(line)
        if match:
            return -float(match.group(1))
    return 0.0


def _rate(pattern: re.Pattern[str], text: str) -> float | None:
    match = pattern.search(text)
    if not match:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    return value if value > 0 else None


def _duration(text: str) -> float:
    match = _DURATION_RE.search(text)
    if not match or match.group(1) is None:
        return 0.0
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _ratio(value: object, sep: str = "/") -> float | None:
    if not isinstance(value, str) or sep not in value:
        return _float(value)
    num, _, den = value.partition(sep)
    try:
        fraction = Fraction(int(num), int(den))
    except (ValueError, ZeroDivisionError):
        return None
    return float(fraction) if fraction > 0 else None


def _float(value: object) -> float | None:
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _open_error(text: str, path: Path | str) -> AnalyzerError:
    """Translate ffmpeg's failure to open an input into one specific error."""
    lowered = text.lower()
    if "no such file or directory" in lowered:
        return InputNotFoundError("does not exist", path)
    if "permission denied" in lowered:
        return UnreadableInputError("permission denied: check the file's permissions", path)
    guessed = "misdetection possible" in lowered  # the format was only guessed from the name
    if "moov atom not found" in lowered and not guessed:
        return DecodeError(
            "no decodable video: the MP4/MOV index (moov atom) is missing, so the file is "
            "truncated or was not finished writing",
            path,
        )
    if "invalid data found" in lowered:
        return UnsupportedMediaError(
            "ffmpeg cannot read it (invalid data): not a supported video, or corrupt", path
        )
    reason = summarize_ffmpeg_errors(text.splitlines())
    return DecodeError(f"ffmpeg cannot open it: {reason or 'unknown error'}", path)


_ADDRESS_RE = re.compile(r"\[([\w:#/,.-]+) @ 0x[0-9a-f]+\]\s*")
_LEVEL_RE = re.compile(r"\[(panic|fatal|error|warning|info|verbose|debug|trace)\]\s*")


def clean_ffmpeg_line(line: str) -> str:
    """Strip ffmpeg's `[component @ 0x...]` and `[level]` prefixes from a log line."""
    return _LEVEL_RE.sub("", _ADDRESS_RE.sub("", line)).strip()


def summarize_ffmpeg_errors(lines: list[str]) -> str:
    """One line: the first distinct error messages and how many there were."""
    ignored = ("at least one output file", "error opening input file", "error opening input files")
    cleaned = [clean_ffmpeg_line(line).rstrip(".") for line in lines]
    cleaned = [c for c in cleaned if c and not c.lower().startswith(ignored)]
    distinct = list(dict.fromkeys(cleaned))
    if not distinct:
        return ""
    shown = "; ".join(distinct[:3])
    return shown if len(distinct) <= 3 else f"{shown}; and {len(distinct) - 3} more"
