"""The one per-input loop: inputs in, reports out, a failure record for every input that fails.

`run_inputs` is what `analyze`, `batch` (local and Ray engines) and, one input per job, the
web service's workers go through:

1. inputs that could not be read (`collect_clips` recorded why) become failed rows;
2. with `ReportPlan.resume`, an input whose reports exist, read back, and match the options
   is not analyzed again (its row comes from the earlier report);
3. the rest go to an engine, which yields each input's `ClipOutcome` as it ends; each
   finished report is written at once (`write_outcome`), so an interrupted run loses at most
   the inputs in flight;
4. the summary (`batch-summary.*`) lists every input, in input order, with its reason when it
   failed; an interrupted run still writes the summary of what is done.

Every input ends with one `FileFinished` event on the hook (`done` of `total`); an engine that
analyzes in this process also sends `FileStarted` and the pipeline's stage events.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from deepfake_analyzer.batch.jobs import AnalyzerFactory, ClipJob, ClipOutcome, StopOn
from deepfake_analyzer.batch.sources import SourceEntry
from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.events import FileFinished, FileStarted, NullHook, ProgressHook
from deepfake_analyzer.report.writers import BatchRow, unique_stems

if TYPE_CHECKING:
    from collections.abc import Iterator

    from deepfake_analyzer.report.types import Report

SUMMARY_FORMATS = ("csv", "json")
"""What `batch` writes as its summary; `analyze` writes the CSV only."""


class RunEngine(Protocol):
    """Where inputs are analyzed: see `batch.engine.Engine`."""

    def run(self, jobs: Sequence[ClipJob], factory: AnalyzerFactory) -> Iterator[ClipOutcome]: ...


@dataclass(frozen=True)
class ReportPlan:
    """Where and how a run writes. `output_dir` None writes nothing (reports nor summary).

    `overwrite` lets reports and the summary replace any file in their way (this tool's own
    reports for the same input are always replaced); `resume` skips inputs whose valid
    reports exist; `summary_formats` empty writes no summary.
    """

    output_dir: Path | None
    formats: tuple[str, ...]
    overwrite: bool = False
    resume: bool = False
    summary_formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunResult:
    """What a run did; `rows` are in input order."""

    rows: tuple[BatchRow, ...]
    analyzed: int
    resumed: int
    failed: int
    wall_s: float
    video_s: float
    summary_paths: tuple[Path, ...]

    @property
    def clips_per_s(self) -> float:
        return self.analyzed / self.wall_s if self.wall_s > 0 else 0.0


def plan_jobs(
    entries: Sequence[SourceEntry],
) -> tuple[list[ClipJob], list[tuple[int, BatchRow]]]:
    """Jobs for readable entries; rows with an error for the others. Both carry their input
    position (1-based)."""
    stems = unique_stems([str(e.path) for e in entries])
    jobs: list[ClipJob] = []
    failed: list[tuple[int, BatchRow]] = []
    for index, (entry, stem) in enumerate(zip(entries, stems, strict=True), start=1):
        if entry.error:
            failed.append((index, BatchRow.from_error(str(entry.path), entry.error)))
        else:
            jobs.append(ClipJob(str(entry.path), stem, index=index, total=len(entries)))
    return jobs, failed


def write_outcome(
    outcome: ClipOutcome, plan: ReportPlan, stop_on: StopOn | None = None
) -> tuple[BatchRow, tuple[Path, ...]]:
    """Write a finished input's reports; its summary row and the paths written. A write that
    fails is recorded in the row, unless `stop_on(error)` says it stops the run."""
    from deepfake_analyzer.report.writers import write_reports

    if outcome.report is None:
        return BatchRow.from_error(outcome.job.path, outcome.error), ()
    if plan.output_dir is None:
        return BatchRow.from_report(outcome.report), ()
    try:
        written = write_reports(
            outcome.report,
            plan.output_dir,
            plan.formats,
            overwrite=plan.overwrite,
            stem=outcome.job.stem,
        )
    except AnalyzerError as exc:
        if stop_on is not None and stop_on(exc):
            raise
        return BatchRow.from_error(outcome.job.path, f"cannot write reports: {exc.message}"), ()
    return BatchRow.from_report(outcome.report), tuple(written)


@dataclass
class _Tally:
    """The run's counters and rows so far (by input position, 1-based: the same file given
    twice is two inputs), and its one progress hook."""

    hook: ProgressHook
    total: int
    rows: dict[int, BatchRow] = field(default_factory=dict)
    done: int = 0
    analyzed: int = 0
    resumed: int = 0
    failed: int = 0
    video_s: float = 0.0

    def failed_entry(self, index: int, row: BatchRow) -> None:
        """An input that could not be read: started and failed at once, for the renderers."""
        self.hook(FileStarted(row.path, index, self.total))
        self.failed += 1
        self._finish(index, row)

    def reused(self, job: ClipJob, report: Report) -> None:
        self.resumed += 1
        self._finish(job.index, BatchRow.from_report(report), resumed=True)

    def outcome(self, outcome: ClipOutcome, row: BatchRow, written: tuple[Path, ...]) -> None:
        if row.verdict == "error":
            self.failed += 1
        else:
            self.analyzed += 1
            self.video_s += row.duration_s
        report = outcome.report
        provenance = report.provenance.summary() if report is not None else ""
        trust = report.trust_note() if report is not None else ""
        self._finish(outcome.job.index, row, written, provenance, trust, worker=outcome.worker)

    def _finish(
        self,
        key: int,
        row: BatchRow,
        written: tuple[Path, ...] = (),
        provenance: str = "",
        trust: str = "",
        resumed: bool = False,
        worker: str = "",
    ) -> None:
        self.done += 1
        self.rows[key] = row
        error = row.error or None
        self.hook(
            FileFinished(
                row.path,
                None if error else row.verdict,
                row.score,
                error=error,
                report_paths=tuple(str(p) for p in written),
                provenance="" if error else provenance,
                trust="" if error else trust,
                done=self.done,
                total=self.total,
                resumed=resumed,
                worker=worker,
            )
        )


def run_inputs(
    entries: Sequence[SourceEntry],
    engine: RunEngine,
    factory: AnalyzerFactory,
    plan: ReportPlan,
    hook: ProgressHook | None = None,
    stop_on: StopOn | None = None,
    on_report: Callable[[Report], None] | None = None,
) -> RunResult:
    """Analyze every entry (see the module docstring); `RunResult` says what was done.

    `stop_on(error)` True makes a writing error stop the run (the engine's workers take
    their own `stop_on` for analysis errors); otherwise it is the input's failure record.
    `on_report` sees each new report (e.g. to print it). Raises the engine's start-up errors
    (model unusable, Ray missing) before any input is analyzed.
    """
    started = time.perf_counter()
    tally = _Tally(hook or NullHook(), len(entries))
    jobs, failed_rows = plan_jobs(entries)
    try:
        for index, row in failed_rows:
            tally.failed_entry(index, row)
        todo = _not_reported_yet(jobs, plan, factory, tally)
        for outcome in engine.run(todo, factory):
            row, written = write_outcome(outcome, plan, stop_on)
            if outcome.report is not None and on_report is not None and row.verdict != "error":
                on_report(outcome.report)
            tally.outcome(outcome, row, written)
    except BaseException:  # interrupted: the summary still lists what is done so far
        with contextlib.suppress(AnalyzerError):  # the original error matters more
            _write_summary(entries, tally.rows, plan)
        raise
    return RunResult(
        rows=tuple(_in_input_order(entries, tally.rows)),
        analyzed=tally.analyzed,
        resumed=tally.resumed,
        failed=tally.failed,
        wall_s=time.perf_counter() - started,
        video_s=tally.video_s,
        summary_paths=tuple(_write_summary(entries, tally.rows, plan)),
    )


def _not_reported_yet(
    jobs: list[ClipJob], plan: ReportPlan, factory: AnalyzerFactory, tally: _Tally
) -> list[ClipJob]:
    """The jobs to analyze: all of them, or (resuming) those without a valid earlier report."""
    if not plan.resume or plan.output_dir is None:
        return jobs
    from deepfake_analyzer.batch.resume import existing_report

    options = factory.options.to_dict() if hasattr(factory, "options") else None
    todo: list[ClipJob] = []
    for job in jobs:
        earlier = existing_report(job, plan.output_dir, plan.formats, options)
        if earlier is None:
            todo.append(job)
        else:
            tally.reused(job, earlier)
    return todo


def _in_input_order(entries: Sequence[SourceEntry], rows: dict[int, BatchRow]) -> list[BatchRow]:
    return [rows[index] for index in range(1, len(entries) + 1) if index in rows]


def _write_summary(
    entries: Sequence[SourceEntry], rows: dict[int, BatchRow], plan: ReportPlan
) -> list[Path]:
    from deepfake_analyzer.report.writers import write_batch_summary

    ordered = _in_input_order(entries, rows)
    if plan.output_dir is None or not plan.summary_formats or not ordered:
        return []
    return write_batch_summary(
        ordered, plan.output_dir, overwrite=plan.overwrite, formats=plan.summary_formats
    )


# -- threads ---------------------------------------------------------------------------------

C = TypeVar("C")


@dataclass(frozen=True)
class ThreadCap:
    """How many CPU threads one worker's numeric libraries may use, so workers sharing a
    machine do not oversubscribe it. Apply it to the process before any model loads (the
    TensorFlow / OpenMP settings are read once, at import), then to the loaded classifier."""

    threads: int

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"a thread cap must be at least 1, got {self.threads}")

    def apply_to_process(self) -> None:
        """Cap TensorFlow / OpenMP / OpenCV threads in this process, unless the user set them."""
        for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(name, str(self.threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
        try:
            import cv2

            cv2.setNumThreads(self.threads)
        except ImportError:  # pragma: no cover - cv2 ships with mediapipe
            pass

    def apply_to(self, classifier: C) -> C:
        """The classifier limited to the cap (LiteRT's `with_threads`; others as they are)."""
        with_threads = getattr(classifier, "with_threads", None)
        if with_threads is None:
            return classifier
        capped: C = with_threads(self.threads)
        return capped


def threads_per_worker(workers: int, cpus: int | None = None) -> int | None:
    """Share the CPUs between workers so they do not oversubscribe them (None for one worker:
    it may use them all)."""
    if workers <= 1:
        return None
    return max(1, (cpus or os.cpu_count() or 1) // workers)
