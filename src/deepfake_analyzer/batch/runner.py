"""Run a batch: collect clips, skip those already reported, analyze the rest on an engine,
write each clip's reports as it finishes and one summary table at the end."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from deepfake_analyzer.batch.engine import Engine
from deepfake_analyzer.batch.jobs import AnalyzerFactory, ClipJob, ClipOutcome
from deepfake_analyzer.batch.resume import existing_report
from deepfake_analyzer.batch.sources import SourceEntry, collect_clips
from deepfake_analyzer.report.writers import (
    REPORT_FORMATS,
    BatchRow,
    unique_stems,
    write_batch_summary,
    write_reports,
)

SUMMARY_FORMATS = ("csv", "json")


@dataclass(frozen=True)
class ClipDone:
    """Progress: one clip finished (`resumed` when its earlier report was reused)."""

    row: BatchRow
    done: int
    total: int
    resumed: bool = False
    worker: str = ""


@dataclass(frozen=True)
class BatchResult:
    """What a batch run did; `rows` are in input order."""

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


def plan_jobs(entries: Sequence[SourceEntry]) -> tuple[list[ClipJob], list[BatchRow]]:
    """Jobs for readable entries; rows with an error for the others (same order, by index)."""
    stems = unique_stems([str(e.path) for e in entries])
    jobs: list[ClipJob] = []
    failed: list[BatchRow] = []
    for entry, stem in zip(entries, stems, strict=True):
        if entry.error:
            failed.append(BatchRow.from_error(str(entry.path), entry.error))
        else:
            jobs.append(ClipJob(str(entry.path), stem))
    return jobs, failed


def run_batch(
    sources: Sequence[str | Path],
    output_dir: str | Path,
    engine: Engine,
    factory: AnalyzerFactory,
    formats: Sequence[str] = REPORT_FORMATS,
    progress: Callable[[ClipDone], None] | None = None,
) -> BatchResult:
    """Analyze every clip under `sources` that has no valid report in `output_dir` yet.

    Reports go to `<output_dir>/<stem>.report.<format>` (JSON always, it is what resuming
    reads), the summary to `batch-summary.csv` and `.json`, listing every clip (resumed ones
    too) and every failure with its reason. Raises UsageError when nothing can be analyzed,
    and the engine's start-up errors (Ray missing, model unusable) before any clip runs.
    """
    started = time.perf_counter()
    output_dir = Path(output_dir)
    formats = tuple(dict.fromkeys(("json", *formats)))
    entries = collect_clips(list(sources))
    jobs, failed_rows = plan_jobs(entries)
    options = factory.options.to_dict() if hasattr(factory, "options") else None
    rows_by_path: dict[str, BatchRow] = {row.path: row for row in failed_rows}
    total = len(entries)
    done = 0

    def report_done(row: BatchRow, resumed: bool = False, worker: str = "") -> None:
        nonlocal done
        done += 1
        rows_by_path[row.path] = row
        if progress is not None:
            progress(ClipDone(row, done, total, resumed, worker))

    for row in failed_rows:
        done += 1
        if progress is not None:
            progress(ClipDone(row, done, total))
    todo: list[ClipJob] = []
    resumed = 0
    for job in jobs:
        earlier = existing_report(job, output_dir, formats, options)
        if earlier is None:
            todo.append(job)
        else:
            resumed += 1
            report_done(BatchRow.from_report(earlier), resumed=True)

    analyzed = 0
    video_s = 0.0
    failed = len(failed_rows)
    try:
        for outcome in engine.run(todo, factory):
            row = _write_outcome(outcome, output_dir, formats)
            if row.verdict == "error":
                failed += 1
            else:
                analyzed += 1
                video_s += row.duration_s
            report_done(row, worker=outcome.worker)
    except BaseException:  # interrupted: the summary still lists what is done so far
        _write_partial_summary(entries, rows_by_path, output_dir)
        raise
    ordered = _in_input_order(entries, rows_by_path)
    summary = write_batch_summary(ordered, output_dir, overwrite=True, formats=SUMMARY_FORMATS)
    return BatchResult(
        rows=tuple(ordered),
        analyzed=analyzed,
        resumed=resumed,
        failed=failed,
        wall_s=time.perf_counter() - started,
        video_s=video_s,
        summary_paths=tuple(summary),
    )


def _write_outcome(outcome: ClipOutcome, output_dir: Path, formats: Sequence[str]) -> BatchRow:
    """Write a finished clip's reports (replacing stale or partial ones); its summary row."""
    from deepfake_analyzer.errors import AnalyzerError

    if outcome.report is None:
        return BatchRow.from_error(outcome.job.path, outcome.error)
    try:
        write_reports(outcome.report, output_dir, formats, overwrite=True, stem=outcome.job.stem)
    except AnalyzerError as exc:
        return BatchRow.from_error(outcome.job.path, f"cannot write reports: {exc.message}")
    return BatchRow.from_report(outcome.report)


def _in_input_order(entries: Sequence[SourceEntry], rows: dict[str, BatchRow]) -> list[BatchRow]:
    return [rows[str(e.path)] for e in entries if str(e.path) in rows]


def _write_partial_summary(
    entries: Sequence[SourceEntry], rows: dict[str, BatchRow], output_dir: Path
) -> None:
    from deepfake_analyzer.errors import AnalyzerError

    ordered = _in_input_order(entries, rows)
    if not ordered:
        return
    with contextlib.suppress(AnalyzerError):  # the original error matters more
        write_batch_summary(ordered, output_dir, overwrite=True, formats=SUMMARY_FORMATS)
