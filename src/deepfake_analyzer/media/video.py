"""Video frames decoded and sampled by ffmpeg, streamed as RGB with decoder timestamps."""

from __future__ import annotations

import math
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO

import numpy as np

from deepfake_analyzer.errors import DecodeError
from deepfake_analyzer.media.ffmpeg_exe import (
    ffmpeg_exe,
    passthrough_timing_args,
    showinfo_has_checksum_option,
)
from deepfake_analyzer.media.probe import (
    VideoProbe,
    clean_ffmpeg_line,
    ffmpeg_url,
    probe_video,
    summarize_ffmpeg_errors,
)
from deepfake_analyzer.media.types import Frame, MediaInfo, SamplingOptions

_SHOWINFO_RE = re.compile(
    r"Parsed_showinfo.*?\bn:\s*(\d+)\s+pts:\s*(\S+)\s+pts_time:\s*(\S+).*?\bs:(\d+)x(\d+)"
)
_TIME_BASE_RE = re.compile(r"Parsed_showinfo.*config in time_base:\s*(\d+)/(\d+)")
_LEVEL_RE = re.compile(r"\[(panic|fatal|error|warning)\]")
_SUSPECT_WORDS = ("error", "invalid", "corrupt", "partial file", "missing", "truncat")
_BENIGN_FRAGMENTS = (
    "non monotonically increasing dts",  # our output muxer's timestamps, not the input's data
    "non monotonous dts",
    "past duration",
    "deprecated pixel format",
)
"""Lines ffmpeg prints about its own output side or style, never about damaged input."""

SHORTFALL_TOLERANCE = 0.05
"""A decode is reported as lossy when it yields over 1 frame and 5 % fewer frames than
expected and its frames stop well before the end of the requested range."""


@dataclass(frozen=True)
class _FrameRecord:
    """One showinfo line: the frame's decoder time (relative to the seek point) and size."""

    time_s: float | None
    width: int
    height: int


def sample_filter_expr(
    fps: float, dense_fps: float | None = None, dense_seconds: float = 0.0
) -> str:
    """A `select` expression keeping the first frame in each 1/fps interval; with
    `dense_fps`, also the first in each 1/dense_fps interval of the first `dense_seconds`.

    Unlike the `fps` filter, `select` keeps each chosen frame's own presentation time and
    never duplicates frames across gaps, so variable-frame-rate video keeps its true times.
    The frames the `fps` rule keeps are the same with or without the dense window: each is
    the first decoded frame of its interval (`is_sampled` tells them apart afterwards).
    """

    def first_in_interval(rate: float) -> str:
        r = f"{rate:.10g}"
        return f"gte(floor(t*{r})-floor(prev_selected_t*{r}),1)"

    expr = f"isnan(prev_selected_t)+{first_in_interval(fps)}"
    if dense_fps is not None and dense_seconds > 0:
        expr += f"+lt(t,{dense_seconds:.10g})*{first_in_interval(dense_fps)}"
    return expr


def is_sampled(time_s: float, previous_sampled_s: float | None, fps: float) -> bool:
    """Whether a frame at `time_s` (from the seek point) is the first of its 1/fps interval
    after the last sampled frame: the `fps` rule of `sample_filter_expr`, in Python."""
    if previous_sampled_s is None:
        return True
    return math.floor(time_s * fps) - math.floor(previous_sampled_s * fps) >= 1


SKIP_NONREF_FACTOR = 3.0
"""Decode only referenced frames when the stream rate is at least this times the sampling rate
(`VideoSource.skips_unreferenced_frames`)."""


class VideoSource:
    """A video opened for sampling; `frames()` runs one ffmpeg process and streams its output.

    Frames are sampled by ffmpeg (`select` for `sampling.fps`, `-ss`/`-t` for the time range,
    `-frames:v` for `max_frames`), rotated upright by ffmpeg's autorotation, corrected to square
    pixels, and downscaled so that neither side exceeds `max_side` (None: never). Each frame's
    `timestamp_s` is its decoder PTS in seconds from the start of the video; timestamps
    strictly increase (see `_timestamp` for broken files).
    """

    def __init__(
        self,
        path: Path | str,
        sampling: SamplingOptions | None = None,
        *,
        max_side: int | None = None,
        probe: VideoProbe | None = None,
    ) -> None:
        if max_side is not None and max_side < 16:
            raise ValueError("max_side must be at least 16 pixels (or None)")
        self.path = Path(path)
        self.sampling = sampling or SamplingOptions()
        self.max_side = max_side
        self.probe = probe if probe is not None else probe_video(self.path)
        self.info: MediaInfo = self.probe.info
        self._warnings: list[str] = []
        self._repaired_times = 0
        self._process: subprocess.Popen[bytes] | None = None

    # -- the MediaSource protocol -------------------------------------------------------

    def frames(self) -> Iterator[Frame]:
        """Yield sampled frames in order; stops early (with a warning) on corrupt data."""
        self._warnings = []
        self._repaired_times = 0
        limit = self.sampling.max_frames
        try:
            proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as exc:
            raise DecodeError(f"cannot run ffmpeg ({exc})", self.path) from None
        self._process = proc
        assert proc.stdout is not None and proc.stderr is not None
        reader = _StderrReader(proc.stderr)
        reader.start()
        count = 0
        extra = 0  # landmark-only frames of the dense window
        last_time = 0.0
        last_sampled: float | None = None
        decoded = False
        complete = False
        try:
            while limit is None or count < limit:
                record = reader.records.get()
                if record is None:
                    break
                image = _read_frame(proc.stdout, record.width, record.height)
                if image is None:
                    break
                timestamp = self._timestamp(record, last_time if decoded else None)
                last_time, decoded = timestamp, True
                relative = timestamp - self.sampling.start_s
                if self.sampling.dense and self.sampling.fps is not None:
                    if not is_sampled(relative, last_sampled, self.sampling.fps):
                        yield Frame(extra, timestamp, image, landmarks_only=True)
                        extra += 1
                        continue
                    last_sampled = relative
                yield Frame(index=count, timestamp_s=timestamp, image=image)
                count += 1
            complete = True
        finally:
            returncode = _stop(proc, wait=complete)
            reader.join(timeout=10)
            self._process = None
        self._finish(count, last_time, returncode, reader)

    def warnings(self) -> list[str]:
        """What was lost while decoding (valid after `frames()` is exhausted)."""
        return list(self._warnings)

    # -- helpers ------------------------------------------------------------------------

    def close(self) -> None:
        """Stop a decode still running (e.g. when the consumer abandoned `frames()`)."""
        if self._process is not None:
            _stop(self._process, wait=False)
            self._process = None

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def output_size(self) -> tuple[int, int]:
        """(width, height) of the frames yielded: displayed size, capped at `max_side`."""
        width, height = self.info.width, self.info.height
        if self.max_side is not None and max(width, height) > self.max_side:
            scale = self.max_side / max(width, height)
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
        return width, height

    def expected_frames(self) -> int | None:
        """About how many frames a clean file yields with these options (None: unknown)."""
        duration = self.info.duration_s
        if duration <= 0:
            return None
        end = duration if self.sampling.end_s is None else min(self.sampling.end_s, duration)
        window = end - self.sampling.start_s
        if window <= 0:
            return 0
        counts = []
        if self.info.fps:
            counts.append(round(window * self.info.fps))
        if self.sampling.fps is not None:
            counts.append(math.ceil(window * self.sampling.fps - 1e-6))
        if not counts:
            return None
        expected = min(counts)
        if self.sampling.max_frames is not None:
            expected = min(expected, self.sampling.max_frames)
        return max(expected, 0)

    def skips_unreferenced_frames(self) -> bool:
        """Whether the decoder skips frames no other frame refers to (`-skip_frame noref`).

        Sampling a few frames per second out of many, the select filter keeps the first
        decoded frame of each interval whichever frames were decoded, so the frames nothing
        refers to (most B-frames) need not be decoded at all: about a third less decoding
        of a typical H.264 clip. Only when the stream has at least `SKIP_NONREF_FACTOR`
        frames per sampled one (densest rate, including the dense window), so every interval
        still holds decoded frames. Codecs without such frames decode as before."""
        sampling = self.sampling
        if sampling.fps is None or not self.info.fps:
            return False
        rate = sampling.fps
        if sampling.dense and sampling.dense_fps is not None:
            rate = max(rate, sampling.dense_fps)
        return self.info.fps >= SKIP_NONREF_FACTOR * rate

    def command(self) -> list[str]:
        """The ffmpeg command line (built with ffmpeg-python) that `frames()` runs."""
        import ffmpeg  # ffmpeg-python: small, but only needed when decoding

        sampling = self.sampling
        input_args: dict[str, object] = {}
        if sampling.start_s > 0:
            input_args["ss"] = f"{sampling.start_s:.6f}"
        if sampling.end_s is not None:
            input_args["t"] = f"{sampling.end_s - sampling.start_s:.6f}"
        if self.skips_unreferenced_frames():
            input_args["skip_frame"] = "noref"
        stream = ffmpeg.input(ffmpeg_url(self.path), **input_args)[f"v:{self.probe.video_index}"]
        if sampling.fps is not None:
            dense = (sampling.dense_fps, sampling.dense_seconds) if sampling.dense else (None, 0)
            stream = stream.filter("select", sample_filter_expr(sampling.fps, *dense))
        width, height = self.output_size()
        if (width, height) != (self.info.width, self.info.height) or self.probe.sample_aspect != 1:
            stream = stream.filter("scale", width, height).filter("setsar", 1)
        stream = stream.filter("format", "rgb24")
        if showinfo_has_checksum_option():
            stream = stream.filter("showinfo", checksum=0)
        else:
            stream = stream.filter("showinfo")
        # Unique increasing timestamps after showinfo: the muxer then never drops a frame
        # (which would shift pixels against the showinfo lines we read times from).
        # In a 1 s time base, so the rawvideo muxer's coarser clock never merges two of them
        # (which it would report as "non monotonically increasing dts" at high frame rates).
        stream = stream.filter("settb", "1").filter("setpts", "N")
        output_args: dict[str, object] = {
            "format": "rawvideo",
            "pix_fmt": "rgb24",
            "an": None,
            "sn": None,
            "dn": None,
        }
        if sampling.max_frames is not None:
            output_args["frames:v"] = sampling.max_frames + sampling.dense_frame_budget()
        args = stream.output("pipe:", **output_args).get_args()
        # Global options first (ffmpeg 5+ ignores options after the last output).
        head = ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info"]
        pipe_at = len(args) - 1
        return [ffmpeg_exe(), *head, *args[:pipe_at], *passthrough_timing_args(), *args[pipe_at:]]

    def _range_end(self) -> float:
        end = self.info.duration_s
        if self.sampling.end_s is not None:
            end = min(end, self.sampling.end_s) if end > 0 else self.sampling.end_s
        return end

    def _sample_interval(self) -> float:
        rates = [r for r in (self.sampling.fps, self.info.fps) if r]
        return 1.0 / min(rates) if rates else 1.0

    def _cut_by_max_frames(self, count: int, last_time: float) -> float | None:
        """The end of the requested range when `max_frames` stopped the decode well before it."""
        limit = self.sampling.max_frames
        if limit is None or count < limit:
            return None
        end = self._range_end()
        if end <= 0 or last_time + max(0.25, 1.5 * self._sample_interval()) >= end:
            return None
        return end

    def _stopped_early(self, count: int, last_time: float) -> bool:
        """Fewer frames than expected AND the last one well before the end of the range.

        Both are required: variable-frame-rate video legitimately leaves sampling intervals
        empty, but its frames still reach the end.
        """
        expected = self.expected_frames()
        limit = self.sampling.max_frames
        if expected is None or (limit is not None and count >= limit):
            return False
        if expected - count <= max(1.0, SHORTFALL_TOLERANCE * expected):
            return False
        return last_time + max(0.25, 1.5 * self._sample_interval()) < self._range_end()

    def _timestamp(self, record: _FrameRecord, previous: float | None) -> float:
        """The frame's time from the start of the video, strictly after `previous`.

        Broken files can carry missing (NOPTS) or out-of-order times; such a frame is placed
        one nominal frame (or 1 ms) after the previous one and counted in `warnings()`.
        """
        if record.time_s is not None:
            timestamp = max(0.0, self.sampling.start_s + record.time_s)
            if previous is None or timestamp > previous:
                return timestamp
        if previous is None:
            return self.sampling.start_s
        self._repaired_times += 1
        step = 1.0 / self.info.fps if self.info.fps and record.time_s is None else 0.001
        return previous + step

    def _finish(
        self, count: int, last_time: float, returncode: int | None, reader: _StderrReader
    ) -> None:
        errors = summarize_ffmpeg_errors(reader.errors)
        if count == 0:
            duration = self.info.duration_s
            if duration > 0 and self.sampling.start_s >= duration:
                raise DecodeError(
                    f"no frames after start {self.sampling.start_s:g} s: the video is only "
                    f"{duration:.2f} s long",
                    self.path,
                )
            detail = f" ({errors})" if errors else ""
            raise DecodeError(
                f"no decodable video frames{detail}: the file is corrupt or truncated", self.path
            )
        warnings: list[str] = []
        failed = bool(errors) or returncode not in (0, None)
        if self._stopped_early(count, last_time):
            cause = ": the file is truncated or corrupt" if failed else ""
            warnings.append(
                f"decoded {count} of ~{self.expected_frames()} expected frames; frames stop at "
                f"{last_time:.2f} s of a {self.info.duration_s:.2f} s video{cause}"
            )
        cut_at = self._cut_by_max_frames(count, last_time)
        if cut_at is not None:
            warnings.append(
                f"stopped at max_frames {count}, {last_time:.2f} s into the {cut_at:.2f} s to "
                "analyze: raise max_frames or lower fps to cover all of it"
            )
        if self._repaired_times:
            warnings.append(
                f"{self._repaired_times} frame(s) had missing or out-of-order timestamps; "
                "they were placed just after the previous frame"
            )
        width, height = self.output_size()
        if (width, height) != (self.info.width, self.info.height):
            warnings.append(
                f"the {self.info.width}x{self.info.height} video was analyzed at {width}x{height} "
                "(large frames are scaled down to bound memory)"
            )
        if errors:
            warnings.append(f"ffmpeg reported {len(reader.errors)} decode problem(s): {errors}")
        elif returncode not in (0, None):
            warnings.append(f"ffmpeg exited with status {returncode} before the end of the video")
        self._warnings = warnings


class _StderrReader(threading.Thread):
    """Drains ffmpeg's stderr: showinfo lines become frame records, problems are kept."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__(daemon=True, name="ffmpeg-stderr")
        self._stream = stream
        self.records: queue.Queue[_FrameRecord | None] = queue.Queue()
        self.errors: list[str] = []
        self._time_base: Fraction | None = None

    def run(self) -> None:
        try:
            for raw in self._stream:
                self._parse(raw.decode("utf-8", errors="replace").rstrip())
        finally:
            self.records.put(None)

    def _parse(self, line: str) -> None:
        match = _SHOWINFO_RE.search(line)
        if match:
            pts, pts_time, width, height = match.group(2, 3, 4, 5)
            self.records.put(_FrameRecord(self._seconds(pts, pts_time), int(width), int(height)))
            return
        base = _TIME_BASE_RE.search(line)
        if base:
            num, den = int(base.group(1)), int(base.group(2))
            self._time_base = Fraction(num, den) if num > 0 and den > 0 else None
            return
        if _is_problem(line) and len(self.errors) < 1000:
            self.errors.append(clean_ffmpeg_line(line))

    def _seconds(self, pts: str, pts_time: str) -> float | None:
        try:
            if self._time_base is not None:
                return float(int(pts) * self._time_base)
            return float(pts_time)
        except ValueError:  # NOPTS
            return None


def _is_problem(line: str) -> bool:
    """Whether an ffmpeg log line reports damaged or undecodable input."""
    lowered = line.lower()
    if any(fragment in lowered for fragment in _BENIGN_FRAGMENTS):
        return False
    level = _LEVEL_RE.search(line)
    if level:
        if level.group(1) == "warning":
            return "corrupt" in line.lower()
        return True
    if "[info]" in line:
        return False
    return any(word in lowered for word in _SUSPECT_WORDS)


def _read_frame(stream: IO[bytes], width: int, height: int) -> np.ndarray | None:
    """Read exactly one RGB24 frame from the pipe, or None at the end of the stream."""
    size = width * height * 3
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            return None
        got += n
    return np.frombuffer(buffer, dtype=np.uint8).reshape(height, width, 3)


def _stop(proc: subprocess.Popen[bytes], *, wait: bool) -> int | None:
    """End ffmpeg: wait for a finished decode, kill an abandoned one; returns its status."""
    if not wait and proc.poll() is None:
        proc.kill()
    if proc.stdout is not None:
        if wait:
            proc.stdout.read()  # drain what is left so ffmpeg can exit
        proc.stdout.close()
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
