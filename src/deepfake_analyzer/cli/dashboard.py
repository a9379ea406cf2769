"""The one renderer family: turns every event (`events.Event`) into a rich `Live` dashboard,
plain log lines, or one line per input.

The library never imports rich; every command picks its renderer with `choose_renderer`:
`DashboardHook` on a terminal, `LogHook` when output is not a TTY, `QuietHook` for `--quiet`
(one line per input, results on stdout). Each renderer is a hook and a context manager, and
handles every event: the inputs of `analyze` and `batch` (`FileStarted` ... `FileFinished`),
a training run (`TrainStarted` ... `TrainFinished`), and stages that run outside an input
(extraction, scoring: `StageProgress`), with `Message`s anywhere.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from deepfake_analyzer.events import (
    CheckpointSaved,
    Evaluated,
    Event,
    FileFinished,
    FileStarted,
    Message,
    StageProgress,
    TrackUpdate,
    TrainFinished,
    TrainProgress,
    TrainStarted,
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


@dataclass
class _TrainState:
    """A training run as the dashboard shows it: the latest of each event."""

    started: TrainStarted | None = None
    progress: TrainProgress | None = None
    evaluations: list[Evaluated] = field(default_factory=list)
    checkpoint: CheckpointSaved | None = None


class _Progress:
    """State every renderer shares, folded from events: the run's inputs (the current one,
    finished rows), a training run, and stages that run outside an input."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.current: _FileState | None = None
        self.in_file = False
        self.rows: list[SummaryRow] = []
        self.total_files = 0
        self.messages: list[str] = []
        self.train = _TrainState()
        self.stages: dict[str, StageProgress] = {}

    def handle(self, event: Event) -> None:
        now = self.clock()
        if isinstance(event, FileStarted):
            self.total_files = event.total
            self.current = _FileState(event.path, event.index, event.total, now)
            self.in_file = True
        elif isinstance(event, FileFinished):
            self._finished(event, now)
        elif isinstance(event, StageProgress) and not self.in_file:
            self.stages[event.stage] = event
        elif isinstance(event, Message):
            self.messages.append(f"{Path(event.path).name}: {event.text}")
        elif isinstance(event, TrainStarted):
            self.train.started = event
        elif isinstance(event, TrainProgress):
            self.train.progress = event
        elif isinstance(event, Evaluated):
            self.train.evaluations.append(event)
        elif isinstance(event, CheckpointSaved):
            self.train.checkpoint = event
        elif self.current is not None and self.in_file:
            self._file_progress(self.current, event, now)

    def announced(self, event: FileFinished) -> bool:
        """Whether the finished file was the one a `FileStarted` announced (analyzed here)."""
        return self.current is not None and self.current.path == event.path

    def _finished(self, event: FileFinished, now: float) -> None:
        self.total_files = max(self.total_files, event.total)
        seconds = now - self.current.started if self.announced(event) and self.current else 0.0
        verdict = event.verdict or "failed"
        self.rows.append(SummaryRow(event.path, verdict, event.score, seconds, event.error))
        self.in_file = False

    @staticmethod
    def _file_progress(state: _FileState, event: Event, now: float) -> None:
        if isinstance(event, StageProgress):
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
            state.faces = event.faces_found
            state.track_scores = dict(event.track_scores)

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


class _Screen:
    """The context-manager half of a renderer; plain lines need no set-up."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


class LogHook(_Screen):
    """Plain log lines (output is not a terminal): one per file and per warning; a training
    run's and a stage's progress at most every `every_s` seconds, stamped with the time."""

    def __init__(
        self,
        console: Console,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = 5.0,
    ) -> None:
        self.console = console
        self.progress = _Progress(clock)
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._trusts: set[str] = set()

    def __call__(self, event: Event) -> None:
        in_file = self.progress.in_file
        self.progress.handle(event)
        if isinstance(event, FileStarted):
            self._print(f"[{event.index}/{event.total}] analyzing {event.path}")
        elif isinstance(event, FileFinished):
            if self.progress.announced(event):
                self._print(f"  {_finished_line(event)}")
                for line in _notes(event, self._trusts):
                    self._print(f"  {line}")
            else:
                self._print(position_line(event))
        elif isinstance(event, Message) and in_file:
            self._print(f"  {event.level}: {event.text}")
        elif not in_file:
            text = self._run_line(event)
            if text:
                self._print(f"{time.strftime('%H:%M:%S')} {text}")

    def _run_line(self, event: Event) -> str:
        """A line for an event outside an input ('' for none, or not yet)."""
        if isinstance(event, Message):
            return f"{event.level}: {event.path}: {event.text}"
        if isinstance(event, StageProgress):
            final = bool(event.total) and event.done >= event.total
            if final or self._due(event.stage):
                total = f"/{event.total}" if event.total else ""
                return f"{event.stage}: {event.done}{total}"
        elif isinstance(event, TrainProgress):
            return progress_line(event) if self._due("train") else ""
        elif isinstance(event, TrainStarted):
            return (
                f"training {event.input_size}px batch {event.batch_size} {event.precision} "
                f"from step {event.start_step}; data {event.counts}"
            )
        elif isinstance(event, Evaluated):
            return f"eval step {event.step}: {metrics_line(event.metrics)}"
        elif isinstance(event, CheckpointSaved):
            return f"checkpoint step {event.step}: {event.path}"
        elif isinstance(event, TrainFinished):
            return f"finished at step {event.step}: {event.spec_path}"
        return ""

    def _due(self, key: str) -> bool:
        now = self.progress.clock()
        if now - self._last.get(key, -float("inf")) < self.every_s:
            return False
        self._last[key] = now
        return True

    def _print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)


class QuietHook(_Screen):
    """Quiet mode, no dashboard: one line per input. A result goes to `out` (stdout) as
    `result_line` (tab-separated, for pipes); a failure goes to the `err` console, as errors
    always do (`position_line`). `out=None` (the JSON report is on stdout, or a batch) prints
    results nowhere. Every other event is ignored."""

    def __init__(self, err: Console, out: TextIO | None) -> None:
        self.console = err
        self.out = out

    def __call__(self, event: Event) -> None:
        if not isinstance(event, FileFinished):
            return
        if event.error:
            self.console.print(position_line(event), markup=False, soft_wrap=True)
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


def position_line(event: FileFinished) -> str:
    """`[done/total] path: verdict score` (or `failed: reason`), for a file finished without
    a dashboard line of its own: a failure in quiet mode, a batch's clips."""
    if event.error:
        status = f"failed: {event.error}"
    else:
        status = f"{event.verdict}" + ("" if event.score is None else f" {event.score:.2f}")
        status += " (already reported)" if event.resumed else ""
    where = f"[{event.done}/{event.total}] " if event.total else ""
    return f"{where}{event.path}: {status}"


def _one_line(text: str) -> str:
    return text.replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class DashboardHook:
    """A rich `Live` dashboard: a training run (step, loss, speed, ETA, validation AUCs),
    stages outside an input as bars, and the input being analyzed (batch progress, stage
    rate and ETA, faces, track scores). Finished files and messages print above it.
    `transient` clears it at the end (the CLI prints a summary instead)."""

    def __init__(
        self,
        console: Console,
        clock: Callable[[], float] = time.monotonic,
        transient: bool = True,
    ) -> None:
        self.console = console
        self.progress = _Progress(clock)
        self.live = Live(console=console, refresh_per_second=8, transient=transient)
        self._trusts: set[str] = set()

    def __enter__(self) -> DashboardHook:
        self.live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.live.update(self.render())
        self.live.stop()

    def __call__(self, event: Event) -> None:
        self.progress.handle(event)
        self.live.update(self.render())  # before printing: the print redraws the live view
        if isinstance(event, FileFinished):
            line = _finished_line(event) + (" (already reported)" if event.resumed else "")
            self.console.print(line, markup=False, soft_wrap=True)
            for line in _notes(event, self._trusts):
                self.console.print(f"  {line}", markup=False, soft_wrap=True)
        elif isinstance(event, Message):
            style = "yellow" if event.level == "warning" else None
            self.console.print(
                f"{event.level}: {Path(event.path).name}: {event.text}", style=style, markup=False
            )

    def render(self) -> Group:
        progress = self.progress
        lines: list[Any] = [*_train_view(progress.train), *_stage_view(progress.stages)]
        if progress.total_files:
            lines.append(
                Text(f"files done {len(progress.rows)}/{progress.total_files}", style="bold")
            )
        state = progress.current
        if state is not None and progress.in_file:
            lines.extend(_file_view(progress, state))
        return Group(*lines)


def _file_view(progress: _Progress, state: _FileState) -> list[Any]:
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
    lines: list[Any] = [row]
    scored = f"  faces scored {state.faces_scored}{extra}"
    lines.append(Text(f"{scored}, tracks {len(state.track_scores)}"))
    if state.track_scores:
        table = Table(box=None, show_header=True, pad_edge=False)
        table.add_column("track")
        table.add_column("running score", justify="right")
        for track_id, score in sorted(state.track_scores.items()):
            table.add_row(str(track_id), f"{score:.3f}")
        lines.append(table)
    return lines


def _stage_view(stages: dict[str, StageProgress]) -> list[Any]:
    """One bar per stage that runs outside an input (extraction, landmarks, scoring)."""
    if not stages:
        return []
    grid = Table.grid(padding=(0, 1))
    for name, event in stages.items():
        bar = ProgressBar(
            total=event.total or None, completed=event.done, width=30, pulse=not event.total
        )
        total = f"/{event.total}" if event.total else ""
        grid.add_row(Text(name, style="bold"), bar, Text(f"{event.done}{total}"))
    return [grid]


def _train_view(s: _TrainState) -> list[Any]:
    """A training run: step, loss, learning rate, speed, ETA, and the validation AUC table."""
    if s.started is None and s.progress is None and not s.evaluations:
        return []
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    if s.started is not None:
        table.add_row("run", f"{s.started.run_dir} ({s.started.input_size}px, "
                      f"batch {s.started.batch_size}, {s.started.precision})")  # fmt: skip
        table.add_row("data", ", ".join(f"{k} {v}" for k, v in s.started.counts.items()))
    if s.progress is not None:
        e = s.progress
        table.add_row("step", f"{e.step}/{e.total_steps or '?'} (epoch {e.epoch})")
        table.add_row("loss", f"{e.loss:.4f}   lr {e.learning_rate:.2e}")
        table.add_row("speed", f"{e.images_per_s:.1f} img/s")
        table.add_row("time", f"{_duration(e.elapsed_s)} elapsed, ETA {_duration(e.eta_s)}")
    if s.checkpoint is not None:
        table.add_row("checkpoint", f"step {s.checkpoint.step}")
    parts: list[Any] = [table]
    if s.evaluations:
        auc = Table(title="validation AUC", title_justify="left")
        names = list(s.evaluations[-1].metrics)
        auc.add_column("step", justify="right")
        for name in names:
            auc.add_column(name, justify="right")
        for ev in s.evaluations[-6:]:
            auc.add_row(str(ev.step), *(f"{ev.metrics.get(n, float('nan')):.3f}" for n in names))
        parts.append(auc)
    return parts


def progress_line(event: TrainProgress) -> str:
    """A training step as one log line: step, epoch, loss, learning rate, speed, times."""
    total = event.total_steps or "?"
    return (
        f"step {event.step}/{total} epoch {event.epoch} loss {event.loss:.4f} "
        f"lr {event.learning_rate:.2e} {event.images_per_s:.1f} img/s "
        f"elapsed {_duration(event.elapsed_s)} eta {_duration(event.eta_s)}"
    )


def metrics_line(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items())


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


Renderer = LogHook | QuietHook | DashboardHook
"""A hook that is also a context manager: enter it around the run."""


def choose_renderer(
    console: Console,
    *,
    quiet: bool,
    results: TextIO | None = None,
    transient: bool = True,
    every_s: float = 5.0,
) -> Renderer:
    """The renderer for a command: `QuietHook` with `quiet` (results, if any, to `results`),
    `DashboardHook` on a terminal (`transient`: cleared at the end), else `LogHook` (progress
    lines at most every `every_s` seconds)."""
    if quiet:
        return QuietHook(console, results)
    if console.is_terminal:
        return DashboardHook(console, transient=transient)
    return LogHook(console, every_s=every_s)


def run_summary_table(result: Any) -> Table:
    """A run's totals (`runner.RunResult`): inputs per verdict, failures, throughput."""
    counts: dict[str, int] = {}
    for row in result.rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    table = Table(title="batch summary", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    for label in ("real", "suspicious", "fake", "no-face", "error"):
        if counts.get(label):
            table.add_row(f"clips {label}", str(counts[label]))
    table.add_row("analyzed now", str(result.analyzed))
    table.add_row("already reported (skipped)", str(result.resumed))
    table.add_row("failed", str(result.failed))
    table.add_row("wall time", f"{result.wall_s:.1f} s")
    if result.analyzed:
        table.add_row("clips per second", f"{result.clips_per_s:.2f}")
        table.add_row("video seconds per wall second", f"{result.video_s / result.wall_s:.1f}")
    return table


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


def _notes(event: FileFinished, trusts: set[str]) -> list[str]:
    """The lines under a finished file's verdict: what the verdict is worth on unseen
    generators (once per run for each sentence: a batch of `real` videos says it once, in
    `trusts`), and the file's own origin labels."""
    lines = []
    if event.trust and event.trust not in trusts:
        trusts.add(event.trust)
        lines.append(f"trust: {event.trust}")
    if event.provenance:
        lines.append(f"provenance (evidence, not scored): {event.provenance}")
    return lines


def _finished_line(event: FileFinished) -> str:
    if event.error:
        return f"FAILED {event.path}: {event.error}"
    score = "" if event.score is None else f" (score {event.score:.3f})"
    where = f" -> {', '.join(event.report_paths)}" if event.report_paths else ""
    return f"{event.verdict}{score}: {event.path}{where}"
