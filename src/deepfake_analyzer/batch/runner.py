"""Run a batch: the one runner (`runner.run_inputs`) with the batch's plan: JSON reports always
(resuming reads them), clips already reported skipped, this tool's reports and summary
replaced, the summary as CSV and JSON."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from deepfake_analyzer.batch.jobs import AnalyzerFactory
from deepfake_analyzer.batch.sources import collect_clips
from deepfake_analyzer.events import ProgressHook
from deepfake_analyzer.report.formats import REPORT_FORMATS

if TYPE_CHECKING:  # runner imports this package: it is imported when a batch runs
    from deepfake_analyzer.runner import RunEngine, RunResult


def run_batch(
    sources: Sequence[str | Path],
    output_dir: str | Path,
    engine: RunEngine,
    factory: AnalyzerFactory,
    formats: Sequence[str] = REPORT_FORMATS,
    progress: ProgressHook | None = None,
) -> RunResult:
    """Analyze every clip under `sources` that has no valid report in `output_dir` yet.

    Reports go to `<output_dir>/<stem>.report.<format>` (JSON always, it is what resuming
    reads), the summary to `batch-summary.csv` and `.json`, listing every clip (resumed ones
    too) and every failure with its reason. `progress` receives one `FileFinished` per clip
    (`resumed` when its earlier report was reused). Raises UsageError when nothing can be
    analyzed, and the engine's start-up errors (Ray missing, model unusable) before any clip
    runs.
    """
    from deepfake_analyzer.runner import SUMMARY_FORMATS, ReportPlan, run_inputs

    plan = ReportPlan(
        output_dir=Path(output_dir),
        formats=tuple(dict.fromkeys(("json", *formats))),
        overwrite=True,
        resume=True,
        summary_formats=SUMMARY_FORMATS,
    )
    return run_inputs(collect_clips(list(sources)), engine, factory, plan, progress)
