"""Turns pipeline events into a rich `Live` dashboard, plain log lines, or nothing.

The pipeline never imports rich; the CLI picks one of these hooks: `DashboardHook` on a
terminal, `LogHook` when output is not a TTY, `QuietHook` for `--quiet` (one line per input).
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from deepfake_analyzer.events import (
    Event,
    FileFinished,
    FileStarted,
    Message,
    StageProgress,
    TrackUpdate,
)

VERDICT_STYLES = {
    "real": "bold green",
    "suspicious": "bold yellow",
    "fake": "bold red",
    "no-face": "bold blue",
    "failed": "bold magenta",
}


STAGE_LABELS = {
    "open": "opening",
    "decode": "decode + detect",
    "classify": "classify",
    "explain": "explain (Grad-CAM)",
}
"""What the dashboard calls each pipeline stage. Frames are decoded ahead in a thread while
the previous ones are searched for faces, so "decode + detect" is one stage to the eye."""
RATE_WINDOW_S = 20.0
"""Frame rates are measured over the last 20 seconds, several classifier batches, so a burst
(the decode-ahead queue filling at start) or a pause (one batch) does not swing them."""
MIN_RATE_SPAN_S = 1.0
"""No rate (and no ETA) is shown before frames have flowed for this long."""


@dataclass
class _FileState:
    path: str
    index: int
    total: int
    started: float
    stage: str = "open"
    frames: int = 0
    expected_frames: int = 0
    faces_scored: int = 0
    explained: int = 0
    faces: int = 0
    track_scores: dict[int, float] = field(default_factory=dict)
    frame_times: deque[tuple[float, int]] = field(default_factory=deque)


@dataclass
class SummaryRow:
    """One finished file, for the end-of-run table."""

    path: str
    verdict: str
    score: float | None
    seconds: float
    error: str | None = None


class _Progress:
    """State shared by both hooks: the batch, the current file, finished rows."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.current: _FileState | None = None
        self.rows: list[SummaryRow] = []
        self.total_files = 0
        self.messages: list[str] = []

    def handle(self, event: Event) -> None:
        now = self.clock()
        if isinstance(event, FileStarted):
            self.total_files = event.total
            self.current = _FileState(event.path, event.index, event.total, now)
        elif self.current is None:
            return
        elif isinstance(event, StageProgress):
            state = self.current
            state.stage = event.stage
            if event.stage == "decode":
                state.frames, state.expected_frames = event.done, event.total
                times = state.frame_times
                times.append((now, event.done))
                while len(times) > 2 and now - times[1][0] >= RATE_WINDOW_S:
                    times.popleft()  # keep one point at or past the window: it always spans it
            elif event.stage == "classify":
                state.faces_scored = event.done
            elif event.stage == "explain":
                state.explained = event.done
        elif isinstance(event, TrackUpdate):
            self.current.faces = event.faces_found
            self.current.track_scores = dict(event.track_scores)
        elif isinstance(event, Message):
            self.messages.append(f"{Path(event.path).name}: {event.text}")
        elif isinstance(event, FileFinished):
            verdict = event.verdict or "failed"
            self.rows.append(
                SummaryRow(
                    event.path, verdict, event.score, now - self.current.started, event.error
                )
            )

    def rate_and_eta(self) -> tuple[float | None, float | None]:
        """Frames per second over the last `RATE_WINDOW_S` and the time left at that rate;
        None until frames have flowed for `MIN_RATE_SPAN_S`."""
        state = self.current
        if state is None or len(state.frame_times) < 2:
            return None, None
        (t0, n0), (t1, n1) = state.frame_times[0], state.frame_times[-1]
        if t1 - t0 < MIN_RATE_SPAN_S:
            return None, None
        rate = (n1 - n0) / (t1 - t0)
        if not state.expected_frames or rate <= 0:
            return rate, None
        return rate, max(state.expected_frames - state.frames, 0) / rate


class LogHook:
    """Plain log lines, one per file and per warning (output is not a terminal)."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.progress = _Progress(clock)

    def __call__(self, event: Event) -> None:
        self.progress.handle(event)
        if isinstance(event, FileStarted):
            self.console.print(
                f"[{event.index}/{event.total}] analyzing {event.path}", markup=False
            )
        elif isinstance(event, Message):
            self.console.print(f"  {event.level}: {event.text}", markup=False, soft_wrap=True)
        elif isinstance(event, FileFinished):
            self.console.print(f"  {_finished_line(event)}", markup=False, soft_wrap=True)
            if event.provenance:
                self.console.print(f"  {_provenance_line(event)}", markup=False, soft_wrap=True)


class QuietHook:
    """Quiet mode, no dashboard: one line per input. A result goes to `out` (stdout) as
    `result_line` (tab-separated, for pipes); a failure goes to the `err` console, as errors
    always do. `out=None` (the JSON report is on stdout) prints results nowhere."""

    def __init__(self, err: Console, out: TextIO | None) -> None:
        self.console = err
        self.out = out

    def __call__(self, event: Event) -> None:
        if not isinstance(event, FileFinished):
            return
        if event.error:
            self.console.print(_finished_line(event), markup=False, soft_wrap=True)
        elif self.out is not None:
            self.out.write(result_line(event) + "\n")
            self.out.flush()


def result_line(event: FileFinished) -> str:
    """`verdict<TAB>score<TAB>path<TAB>report`: score to 4 decimals, the JSON report (else the
    first report written); `-` for a missing field, so every line has four fields. Tabs and
    line breaks in a path are written as `\\t`, `\\n`, `\\r`: one line per input."""
    score = "-" if event.score is None else f"{event.score:.4f}"
    reports = sorted(event.report_paths, key=lambda p: not p.endswith(".json"))
    fields = (event.verdict or "-", score, event.path, reports[0] if reports else "-")
    return "\t".join(_one_line(text) for text in fields)


def _one_line(text: str) -> str:
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class DashboardHook:
    """A rich `Live` dashboard: batch progress, stage rate and ETA, faces, track scores."""

    def __init__(self, console: Console, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.progress = _Progress(clock)
        self.live = Live(console=console, refresh_per_second=8, transient=True)

    def __enter__(self) -> DashboardHook:
        self.live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.live.stop()

    def __call__(self, event: Event) -> None:
        self.progress.handle(event)
        self.live.update(self.render())  # before printing: the print redraws the live view
        if isinstance(event, FileFinished):
            self.console.print(_finished_line(event), markup=False, soft_wrap=True)
            if event.provenance:
                self.console.print(f"  {_provenance_line(event)}", markup=False, soft_wrap=True)
        elif isinstance(event, Message):
            self.console.print(
                f"{event.level}: {Path(event.path).name}: {event.text}", markup=False
            )

    def render(self) -> Group:
        progress = self.progress
        state = progress.current
        done_files = len(progress.rows)
        lines: list[Text | Table] = [
            Text(f"files done {done_files}/{progress.total_files}", style="bold"),
        ]
        if state is not None and len(progress.rows) < state.index:  # a file is running
            rate, eta = progress.rate_and_eta()
            stage = STAGE_LABELS.get(state.stage, state.stage)
            bar = ProgressBar(
                total=state.expected_frames or None, completed=state.frames, width=24,
                pulse=not state.expected_frames,
            )  # fmt: skip
            total = f"/{state.expected_frames}" if state.expected_frames else ""
            speed = f"{rate:.1f} frames/s" if rate is not None else "-- frames/s"
            speed += f", ETA {eta:.0f}s" if eta is not None else ""
            extra = f", explained {state.explained}" if state.stage == "explain" else ""
            head = Text(f"[{state.index}/{state.total}] {Path(state.path).name}  {stage}  ")
            row = Table.grid(padding=(0, 1))
            row.add_row(head, bar, Text(f"{state.frames}{total} frames ({speed})"))
            lines.append(row)
            scored = f"  faces scored {state.faces_scored}{extra}"
            lines.append(Text(f"{scored}, tracks {len(state.track_scores)}"))
            if state.track_scores:
                table = Table(box=None, show_header=True, pad_edge=False)
                table.add_column("track")
                table.add_column("running score", justify="right")
                for track_id, score in sorted(state.track_scores.items()):
                    table.add_row(str(track_id), f"{score:.3f}")
                lines.append(table)
        return Group(*lines)


def summary_table(rows: list[SummaryRow]) -> Table:
    """The end-of-run table: one row per file. Names are shown whole (wrapped, never cut
    with an ellipsis), relative to the folder all files share, which the title names."""
    folder = _common_folder([row.path for row in rows])
    title = "deepfake-analyzer summary" + (f" ({folder}{os.sep})" if folder else "")
    table = Table(title=title)
    table.add_column("file", overflow="fold")
    table.add_column("verdict")
    table.add_column("score", justify="right")
    table.add_column("time", justify="right")
    table.add_column("note")
    for row in rows:
        style = VERDICT_STYLES.get(row.verdict, "")
        score = "" if row.score is None else f"{row.score:.3f}"
        table.add_row(
            Text(os.path.relpath(row.path, folder) if folder else row.path),
            Text(row.verdict, style=style),
            score,
            f"{row.seconds:.1f}s",
            row.error or "",
        )
    return table


def _common_folder(paths: list[str]) -> str:
    """The folder every path is in ("" when they share none, or there is one path)."""
    folders = [os.path.dirname(p) for p in paths]
    if len(paths) < 2 or not all(folders):
        return ""
    try:
        return os.path.commonpath(folders)
    except ValueError:  # absolute and relative paths mixed
        return ""


def _provenance_line(event: FileFinished) -> str:
    return f"provenance (evidence, not scored): {event.provenance}"


def _finished_line(event: FileFinished) -> str:
    if event.error:
        return f"FAILED {event.path}: {event.error}"
    score = "" if event.score is None else f" (score {event.score:.3f})"
    where = f" -> {', '.join(event.report_paths)}" if event.report_paths else ""
    return f"{event.verdict}{score}: {event.path}{where}"
