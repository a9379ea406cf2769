"""Resuming a batch: a clip whose reports exist, read back, and match the options is skipped."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepfake_analyzer.batch.jobs import ClipJob
from deepfake_analyzer.report.types import Report

IGNORED_OPTIONS = ("batch_size",)
"""Options that do not change a report's results: a report made with another value is reused."""


def same_options(recorded: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether a report made with `recorded` options answers a run with `wanted` options."""
    keys = (set(recorded) | set(wanted)) - set(IGNORED_OPTIONS)
    return all(recorded.get(k) == wanted.get(k) for k in keys)


def existing_report(
    job: ClipJob,
    output_dir: Path,
    formats: Sequence[str],
    options: dict[str, Any] | None = None,
) -> Report | None:
    """The clip's earlier report when every format's file exists and the JSON reads back as a
    report of this same input (and, when `options` is given, made with the same options)."""
    from deepfake_analyzer.report.json_report import read_json
    from deepfake_analyzer.report.writers import report_paths

    paths = report_paths(job.path, output_dir, formats, job.stem)
    if not all(p.is_file() for p in paths):
        return None
    json_path = next((p for p in paths if p.suffix == ".json"), None)
    if json_path is None:
        return None
    try:
        report = read_json(json_path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # truncated or hand-edited: analyze again
    if report.input.path != job.path:
        return None
    if options is not None and not same_options(report.options, options):
        return None
    return report
