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
    "deepfake_analyzer.cli.train_texture",
    "deepfake_analyzer.cli.evaluate",
    "deepfake_analyzer.cli.serve",
    "deepfake_analyzer.cli.batch",
    "deepfake_analyzer.cli.prepare_model",
)


def command_name(module_name: str) -> str:
    """`deepfake_analyzer.cli.train_temporal` -> `train-temporal`."""
    return module_name.rsplit(".", 1)[1].replace("_", "-")


def requested_command(argv: list[str]) -> str | None:
    """The subcommand `argv` runs (the first word that is not a top-level flag), if known."""
    first = next((word for word in argv if not word.startswith("-")), None)
    known = {command_name(m) for m in SUBCOMMAND_MODULES}
    return first if first in known else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with `command`, only that subcommand's module is imported and
    registered (the others get an empty placeholder), so that `train --help` and every
    command's start-up read no other command's defaults."""
    parser = argparse.ArgumentParser(
        prog="deepfake-analyzer",
        description="Tell whether a video or image shows a manipulated face, and where and when.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in SUBCOMMAND_MODULES:
        if command is not None and command_name(module_name) != command:
            subparsers.add_parser(command_name(module_name))
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # subcommand not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(requested_command(argv))
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
