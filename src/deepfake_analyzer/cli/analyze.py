"""`deepfake-analyzer analyze`: analyze files or folders, write reports, show a dashboard.

Exit codes: 0 done; 1 some inputs failed (each is recorded in the summary); 2 usage error
(bad flags, unusable model, a report that would be overwritten); 3 a `--fail-on` verdict was
reached (failures take precedence: 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepfake_analyzer.cli.arguments import (
    add_analysis_arguments,
    add_formats_argument,
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

if TYPE_CHECKING:
    from deepfake_analyzer.report.types import Report

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
    add_formats_argument(out, "report formats to write, comma-separated (default: %(default)s)")
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

    from deepfake_analyzer.batch.jobs import AnalyzerFactory
    from deepfake_analyzer.batch.local import LocalEngine
    from deepfake_analyzer.batch.sources import collect_clips
    from deepfake_analyzer.cli.dashboard import choose_renderer, summary_table
    from deepfake_analyzer.report.json_report import report_to_json
    from deepfake_analyzer.report.writers import check_output_dir
    from deepfake_analyzer.runner import ReportPlan, run_inputs

    options = options_from_args(args)
    formats = parse_formats(args.format)
    output_dir = Path(args.output or DEFAULT_OUTPUT_DIR)
    single = len(args.paths) == 1
    entries = collect_clips(args.paths, strict=single, unique=False)
    if args.json and len(entries) > 1:
        raise UsageError("--json prints one report: give a single file, or use --output")
    if args.json and args.output is None:
        args.no_reports = True  # --json alone: the report goes to stdout only
    if not args.no_reports:
        check_output_dir(output_dir)  # before the model loads and any input is analyzed
    plan = ReportPlan(
        output_dir=None if args.no_reports else output_dir,
        formats=formats,
        overwrite=args.overwrite,
        summary_formats=("csv",) if len(entries) > 1 else (),
    )

    def stops_the_run(exc: BaseException) -> bool:
        """Usage problems stop the run; so does one input's error when it is the only one
        (it is the run's one line), and any error under --debug."""
        if args.debug or not isinstance(exc, AnalyzerError):
            return True
        return exc.exit_code != EXIT_INPUT_FAILED or len(entries) == 1

    def print_json(report: Report) -> None:
        if args.json:
            sys.stdout.write(report_to_json(report) + "\n")

    err_console = Console(stderr=True)
    renderer = choose_renderer(
        err_console, quiet=args.quiet, results=None if args.json else sys.stdout
    )
    engine = LocalEngine(hook=renderer, stop_on=stops_the_run)
    with renderer:
        result = run_inputs(
            entries, engine, AnalyzerFactory(options), plan, renderer, stops_the_run, print_json
        )
    if result.summary_paths and not args.quiet:
        err_console.print(f"batch summary: {', '.join(str(p) for p in result.summary_paths)}")
    progress = getattr(renderer, "progress", None)
    if progress is not None and len(entries) > 1:
        err_console.print(summary_table(progress.rows))
    if result.failed:
        return EXIT_INPUT_FAILED
    reached = args.fail_on is not None and any(
        VERDICT_RANK.get(row.verdict, -1) >= VERDICT_RANK[args.fail_on] for row in result.rows
    )
    return EXIT_VERDICT_REACHED if reached else EXIT_OK
