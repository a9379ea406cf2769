"""`deepfake-analyzer analyze`: analyze files or folders, write reports, show a dashboard.

Exit codes: 0 done; 1 some inputs failed (each is recorded in the summary); 2 usage error
(bad flags, unusable model, a report that would be overwritten); 3 a `--fail-on` verdict was
reached (failures take precedence: 1).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from dataclasses import fields
from pathlib import Path
from typing import Any

from deepfake_analyzer.errors import (
    EXIT_INPUT_FAILED,
    EXIT_OK,
    EXIT_VERDICT_REACHED,
    AnalyzerError,
    UsageError,
)
from deepfake_analyzer.events import FileFinished, FileStarted, NullHook, ProgressHook
from deepfake_analyzer.options import OPTION_BOUNDS, AnalyzeOptions

DEFAULT_OUTPUT_DIR = "deepfake-reports"
VERDICT_RANK = {"no-face": 0, "real": 0, "suspicious": 1, "fake": 2}
_DEFAULTS = {f.name: f.default for f in fields(AnalyzeOptions)}


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
    out.add_argument("--json", action="store_true", help="print the JSON report to stdout")
    out.add_argument(
        "--format",
        default="json,csv,html",
        help="report formats to write, comma-separated (default: json,csv,html)",
    )
    out.add_argument("--no-reports", action="store_true", help="write no report files")
    out.add_argument("--overwrite", action="store_true", help="replace existing reports")
    out.add_argument("--quiet", "-q", action="store_true", help="no dashboard or progress")
    out.add_argument(
        "--fail-on",
        choices=("suspicious", "fake"),
        help="exit with 3 when any input reaches this verdict (or worse)",
    )
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument(
        "--fps",
        type=_bounded(float, "fps"),
        default=_DEFAULTS["fps"],
        help="frames per second to sample from videos (default: %(default)s)",
    )
    sampling.add_argument("--every-frame", action="store_true", help="analyze every frame")
    sampling.add_argument(
        "--max-frames",
        type=_bounded(int, "max_frames"),
        default=_DEFAULTS["max_frames"],
        help="at most this many frames per video (default: %(default)s)",
    )
    sampling.add_argument(
        "--start",
        type=_bounded(float, "start_s"),
        default=0.0,
        metavar="SECONDS",
        help="start time in the video",
    )
    sampling.add_argument(
        "--end",
        type=_bounded(float, "start_s"),
        default=None,
        metavar="SECONDS",
        help="end time in the video",
    )
    faces = parser.add_argument_group("faces")
    faces.add_argument(
        "--detector",
        choices=("auto", "short", "full"),
        default=_DEFAULTS["detector"],
        help="BlazeFace short range, full range (small/distant faces), or auto (default)",
    )
    faces.add_argument(
        "--min-face",
        type=_bounded(int, "min_face"),
        default=_DEFAULTS["min_face"],
        metavar="PX",
        help="ignore faces narrower than this (default: %(default)s)",
    )
    faces.add_argument(
        "--min-confidence",
        type=_bounded(float, "min_confidence"),
        default=_DEFAULTS["min_confidence"],
        help="detector confidence threshold (default: %(default)s)",
    )
    model = parser.add_argument_group("model")
    model.add_argument("--model", metavar="PATH", help="a .keras/.h5 model or a .spec.json")
    model.add_argument(
        "--trust-model",
        action="store_true",
        help="allow a model that contains code (Lambda layers, custom objects)",
    )
    model.add_argument(
        "--batch-size",
        type=_bounded(int, "batch_size"),
        default=_DEFAULTS["batch_size"],
        help="face crops per classifier batch (default: %(default)s)",
    )
    model.add_argument(
        "--explain", action="store_true", help="Grad-CAM heatmaps for the report's crops"
    )
    model.add_argument(
        "--max-image-pixels",
        type=_bounded(int, "max_image_pixels"),
        default=_DEFAULTS["max_image_pixels"],
        help="refuse images above this many pixels (default: %(default)s)",
    )
    parser.set_defaults(handler=run)


def _bounded(kind: type, name: str) -> Any:
    low, high = OPTION_BOUNDS[name]

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    return parse


def options_from_args(args: argparse.Namespace) -> AnalyzeOptions:
    return AnalyzeOptions(
        fps=None if args.every_frame else args.fps,
        max_frames=args.max_frames,
        start_s=args.start,
        end_s=args.end,
        detector=args.detector,
        min_face=args.min_face,
        min_confidence=args.min_confidence,
        batch_size=args.batch_size,
        model_path=args.model,
        trust_model=args.trust_model,
        explain=args.explain,
        max_image_pixels=args.max_image_pixels,
    )


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from deepfake_analyzer.cli.dashboard import DashboardHook, LogHook, summary_table
    from deepfake_analyzer.pipeline import Analyzer
    from deepfake_analyzer.report.json_report import report_to_json

    options = options_from_args(args)
    formats = _parse_formats(args.format)
    output_dir = Path(args.output or DEFAULT_OUTPUT_DIR)
    files = _collect_inputs(args.paths)
    if args.json and len(files) > 1:
        raise UsageError("--json prints one report: give a single file, or use --output")
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output {output_dir} exists and is not a folder")

    err_console = Console(stderr=True)
    if args.quiet:
        hook: ProgressHook = NullHook()
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


def _parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = sorted(set(formats) - {"json", "csv", "html"})
    if unknown or not formats:
        raise UsageError(f"--format takes json, csv and/or html, not {','.join(unknown) or text!r}")
    return formats
