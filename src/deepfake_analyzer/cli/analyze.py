"""`deepfake-analyzer analyze`: analyze files or folders, write reports, show a dashboard.

Exit codes: 0 done; 1 some inputs failed (each is recorded in the summary); 2 usage error
(bad flags, unusable model, a report that would be overwritten); 3 a `--fail-on` verdict was
reached (failures take precedence: 1).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from deepfake_analyzer.cli.arguments import (
    add_analysis_arguments,
    options_from_args,
    parse_formats,
)
from deepfake_analyzer.errors import (
    EXIT_INPUT_FAILED,
    EXIT_OK,
    EXIT_VERDICT_REACHED,
    AnalyzerError,
    UsageError,
)
from deepfake_analyzer.events import FileFinished, FileStarted, ProgressHook

DEFAULT_OUTPUT_DIR = "deepfake-reports"
VERDICT_RANK = {"no-face": 0, "real": 0, "suspicious": 1, "fake": 2}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="analyze videos, images or folders",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="video, image or folder")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--output",
        "-o",
        metavar="DIR",
        help=f"folder for the reports (default: ./{DEFAULT_OUTPUT_DIR})",
    )
    out.add_argument(
        "--json",
        action="store_true",
        help="print the JSON report to stdout (report files only with --output)",
    )
    out.add_argument(
        "--format",
        default="json,csv,html",
        help="report formats to write, comma-separated (default: json,csv,html)",
    )
    out.add_argument("--no-reports", action="store_true", help="write no report files")
    out.add_argument(
        "--overwrite",
        action="store_true",
        help="replace any file in the way (this input's own reports are always replaced)",
    )
    out.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no dashboard: one line per input, the result on stdout (verdict, score, path, "
        "report; tab-separated), a failure on stderr",
    )
    out.add_argument(
        "--fail-on",
        choices=("suspicious", "fake"),
        help="exit with 3 when any input reaches this verdict (or worse)",
    )
    add_analysis_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from deepfake_analyzer.cli.dashboard import (
        DashboardHook,
        LogHook,
        QuietHook,
        summary_table,
    )
    from deepfake_analyzer.pipeline import Analyzer
    from deepfake_analyzer.report.json_report import report_to_json

    options = options_from_args(args)
    formats = parse_formats(args.format)
    output_dir = Path(args.output or DEFAULT_OUTPUT_DIR)
    files = _collect_inputs(args.paths)
    if args.json and len(files) > 1:
        raise UsageError("--json prints one report: give a single file, or use --output")
    if args.json and args.output is None:
        args.no_reports = True  # --json alone: the report goes to stdout only
    if not args.no_reports:
        from deepfake_analyzer.report.writers import check_output_dir

        check_output_dir(output_dir)  # before the model loads and any input is analyzed

    err_console = Console(stderr=True)
    if args.quiet:
        hook: ProgressHook = QuietHook(err_console, None if args.json else sys.stdout)
        screen = nullcontext()
    elif err_console.is_terminal:
        dashboard = DashboardHook(err_console)
        hook, screen = dashboard, dashboard
    else:
        hook, screen = LogHook(err_console), nullcontext()

    from deepfake_analyzer.report.writers import unique_stems

    stems = unique_stems([path for path, _ in files])
    args.single_input = len(files) == 1
    failed = 0
    reached = False
    batch_rows = []
    with Analyzer(options) as analyzer, screen:
        analyzer.classifier  # noqa: B018 - load (and validate) the model once, before any file
        for index, ((path, discover_error), stem) in enumerate(
            zip(files, stems, strict=True), start=1
        ):
            hook(FileStarted(str(path), index, len(files)))
            row, report_paths, error, report = _analyze_one(
                analyzer, path, stem, discover_error, hook, output_dir, formats, args
            )
            batch_rows.append(row)
            if error:
                failed += 1
                hook(FileFinished(str(path), None, None, error=error))
                continue
            hook(
                FileFinished(
                    str(path),
                    report.verdict.label,
                    report.verdict.score,
                    report_paths=tuple(str(p) for p in report_paths),
                    provenance=report.provenance.summary(),
                )
            )
            if args.fail_on and VERDICT_RANK[report.verdict.label] >= VERDICT_RANK[args.fail_on]:
                reached = True
            if args.json:
                sys.stdout.write(report_to_json(report) + "\n")

    progress = getattr(hook, "progress", None)
    if len(files) > 1 and not args.no_reports:
        from deepfake_analyzer.report.writers import write_batch_summary

        written = write_batch_summary(batch_rows, output_dir, overwrite=args.overwrite)
        if not args.quiet:
            err_console.print(f"batch summary: {', '.join(str(p) for p in written)}")
    if progress is not None and not args.quiet and len(files) > 1:
        err_console.print(summary_table(progress.rows))
    if failed:
        return EXIT_INPUT_FAILED
    return EXIT_VERDICT_REACHED if reached else EXIT_OK


def _analyze_one(
    analyzer: Any,
    path: Path,
    stem: str,
    discover_error: str | None,
    hook: ProgressHook,
    output_dir: Path,
    formats: tuple[str, ...],
    args: argparse.Namespace,
) -> tuple[Any, list[Path], str | None, Any]:
    """Analyze one file; return its batch row, written paths, error text and report."""
    from deepfake_analyzer.report.writers import BatchRow, write_reports

    error = discover_error
    report = None
    written: list[Path] = []
    if error is None:
        try:
            report = analyzer.analyze(path, hook=hook)
            if not args.no_reports:
                written = write_reports(
                    report, output_dir, formats, overwrite=args.overwrite, stem=stem
                )
        except AnalyzerError as exc:
            if args.debug:
                raise
            if exc.exit_code != EXIT_INPUT_FAILED or args.single_input:
                raise  # usage problems stop the run; one input's error is the run's one line
            error = exc.message if exc.path else str(exc)
    row = BatchRow.from_result(str(path), report, error)
    return row, written, error, report


def _collect_inputs(paths: list[str]) -> list[tuple[Path, str | None]]:
    """Expand folders; a missing path or an empty folder becomes a failed entry."""
    from deepfake_analyzer.errors import InputNotFoundError
    from deepfake_analyzer.media.open import discover_media

    files: list[tuple[Path, str | None]] = []
    for text in paths:
        try:
            files.extend((p, None) for p in discover_media(Path(text)))
        except InputNotFoundError as exc:
            if len(paths) == 1:
                raise
            files.append((Path(text), exc.message))
    return files
