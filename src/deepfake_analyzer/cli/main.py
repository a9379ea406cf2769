"""The `deepfake-analyzer` entry point: builds the subcommand parsers and runs one.

Each subcommand lives in its own module with `register(subparsers)` that adds a parser whose
`handler` default is a function `(args) -> int`. Errors are translated to exit codes here.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from deepfake_analyzer import __version__
from deepfake_analyzer.cli.arguments import cli_message
from deepfake_analyzer.cli.native_logs import native_stderr_silenced
from deepfake_analyzer.errors import EXIT_USAGE, AnalyzerError

SUBCOMMAND_MODULES = (
    "deepfake_analyzer.cli.analyze",
    "deepfake_analyzer.cli.train",
    "deepfake_analyzer.cli.train_temporal",
    "deepfake_analyzer.cli.evaluate",
    "deepfake_analyzer.cli.serve",
    "deepfake_analyzer.cli.batch",
    "deepfake_analyzer.cli.prepare_model",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deepfake-analyzer",
        description="Tell whether a video or image shows a manipulated face, and where and when.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # subcommand not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        with native_stderr_silenced(enabled=not args.debug):
            return _run_handler(args)
    except KeyboardInterrupt:
        print("deepfake-analyzer: interrupted", file=sys.stderr)
        return 130


def _run_handler(args: argparse.Namespace) -> int:
    try:
        return int(args.handler(args))
    except AnalyzerError as exc:
        if args.debug:
            raise
        print(f"deepfake-analyzer: error: {cli_message(exc)}", file=sys.stderr)
        return exc.exit_code
