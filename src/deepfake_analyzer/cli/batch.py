"""`deepfake-analyzer batch`: analyze many clips on an engine (local, or a Ray cluster).

SOURCE is a folder (walked recursively), a media file, or a list file (.txt, one path per
line). Clips whose reports already exist in --output (made with the same options) are
skipped, so an interrupted batch resumes where it stopped. Failures are recorded per clip in
batch-summary.csv / .json. Exit codes: 0 all clips done; 1 some clips failed; 2 usage error.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from deepfake_analyzer.cli.arguments import (
    add_analysis_arguments,
    add_formats_argument,
    options_from_args,
    parse_formats,
)
from deepfake_analyzer.errors import EXIT_INPUT_FAILED, EXIT_OK
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.registry import ENGINE_NAMES

DEFAULT_OUTPUT_DIR = "deepfake-batch"


def _positive(kind: type) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value

    return parse


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="analyze many clips, locally or on a Ray cluster (resumable)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sources", nargs="+", metavar="SOURCE", help="folder, file or list file")
    run = parser.add_argument_group("engine")
    run.add_argument(
        "--engine", choices=ENGINE_NAMES, default="local", help="where to run (default: local)"
    )
    run.add_argument("--address", help="Ray cluster address (ray://head:10001, or auto)")
    run.add_argument(
        "--workers",
        type=_positive(int),
        help="model-holding workers (ray default: cluster CPUs / --cpus-per-worker)",
    )
    run.add_argument(
        "--cpus-per-worker",
        type=_positive(float),
        default=1.0,
        help="CPU cores Ray reserves for each worker (default: %(default)s)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--output",
        "-o",
        metavar="DIR",
        default=DEFAULT_OUTPUT_DIR,
        help="folder for reports and the summary (default: ./%(default)s)",
    )
    add_formats_argument(
        out, "report formats, comma-separated; json is always written (default: %(default)s)"
    )
    out.add_argument(
        "--quiet", "-q", action="store_true", help="print only failures and the summary"
    )
    add_analysis_arguments(parser)
    parser.set_defaults(handler=run_command)


def batch_options_from_args(args: argparse.Namespace) -> AnalyzeOptions:
    """The analysis options, with the model path made absolute: workers may run elsewhere."""
    options = options_from_args(args)
    if options.model_path is None:
        return options
    return replace(options, model_path=str(Path(options.model_path).expanduser().resolve()))


def run_command(args: argparse.Namespace) -> int:
    from rich.console import Console

    from deepfake_analyzer.batch import jobs
    from deepfake_analyzer.batch.engine import EngineOptions, create_engine
    from deepfake_analyzer.batch.runner import run_batch
    from deepfake_analyzer.cli.dashboard import choose_renderer, run_summary_table
    from deepfake_analyzer.report.writers import check_output_dir

    console = Console(stderr=True, highlight=False)
    options = batch_options_from_args(args)
    formats = parse_formats(args.format)
    check_output_dir(args.output)  # before any worker starts or clip is analyzed
    engine = create_engine(
        args.engine,
        EngineOptions(
            workers=args.workers, address=args.address, cpus_per_worker=args.cpus_per_worker
        ),
    )
    sources = [str(Path(s).expanduser().resolve()) for s in args.sources]
    renderer = choose_renderer(console, quiet=args.quiet)  # quiet: failures only
    with renderer:
        result = run_batch(
            sources, args.output, engine, jobs.AnalyzerFactory(options), formats, renderer
        )
    console.print(run_summary_table(result))
    for path in result.summary_paths:
        console.print(f"summary: {path}")
    return EXIT_INPUT_FAILED if result.failed else EXIT_OK
