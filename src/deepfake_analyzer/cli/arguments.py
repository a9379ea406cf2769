"""Flags shared by several commands (the analysis flags of `analyze` and `batch`, derived from
`options.py`'s option specs; the data folders of the training commands), and the CLI's reading
of library errors: option names become flag names here, once."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import fields

from deepfake_analyzer.errors import AnalyzerError, UsageError
from deepfake_analyzer.options import (
    AnalyzeOptions,
    OptionValue,
    bounds_problem,
    option_specs,
    option_type,
)
from deepfake_analyzer.report.formats import REPORT_FORMATS

_DEFAULTS = {f.name: f.default for f in fields(AnalyzeOptions)}
_FLAGS = {"output_dir": "--output", "formats": "--format", "min_face_px": "--min-face"}
"""Library parameters whose flag is not `--` and their name with dashes."""


def flag_for(option: str) -> str:
    """The flag that sets `option`: `min_confidence` -> `--min-confidence`."""
    spec = option_specs().get(option)
    if spec is not None and spec.flag is not None:
        return spec.flag
    return _FLAGS.get(option, "--" + option.replace("_", "-"))


def cli_message(exc: AnalyzerError) -> str:
    """The error as the command line says it: the options it names become flags."""
    return exc.describe(flag_for)


def bounded(
    kind: type[float], name: str, bounds: Mapping[str, tuple[float, float]]
) -> Callable[[str], float]:
    """An argparse type that parses `kind` and checks `bounds[name]` (inclusive)."""
    low, high = bounds[name]

    def parse(text: str) -> float:
        value = _convert(kind, text)
        problem = bounds_problem(value, low, high)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def _convert(kind: type[float], text: str) -> float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _option_type(name: str, kind: type) -> Callable[[str], OptionValue]:
    """An argparse type for option `name`: its value type, checked against its spec."""
    spec = option_specs()[name]

    def parse(text: str) -> OptionValue:
        value: OptionValue = text if kind is str else _convert(kind, text)
        problem = spec.problem(value)
        if problem is not None:
            raise argparse.ArgumentTypeError(problem)
        return value

    return parse


def parse_formats(text: str) -> tuple[str, ...]:
    """`"json,html"` -> `("json", "html")`; anything else is a usage error."""
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = sorted(set(formats) - set(REPORT_FORMATS))
    if unknown or not formats:
        takes = f"{', '.join(REPORT_FORMATS[:-1])} and/or {REPORT_FORMATS[-1]}"
        raise UsageError(f"--format takes {takes}, not {','.join(unknown) or text!r}")
    return formats


def add_data_arguments(parser: argparse.ArgumentParser, real_help: str) -> None:
    """The labeled DATA folders (positional) and the repeatable `--real` folders of real faces
    only, as `train`, `train-temporal` and `evaluate` read them."""
    parser.add_argument("data", nargs="*", metavar="DATA", help="labeled dataset folder")
    parser.add_argument("--real", action="append", default=[], metavar="DIR", help=real_help)


def add_formats_argument(group: argparse._ActionsContainer, help: str) -> None:
    """`--format`: the report formats to write (default: all of `REPORT_FORMATS`)."""
    group.add_argument("--format", default=",".join(REPORT_FORMATS), help=help)


def add_option_argument(group: argparse._ActionsContainer, name: str) -> None:
    """The flag for option `name` (and its switch to None, e.g. `--every-frame`)."""
    spec = option_specs()[name]
    kind, _ = option_type(name)
    flag = flag_for(name)
    if kind is bool:
        action = argparse.BooleanOptionalAction if _DEFAULTS[name] else "store_true"
        group.add_argument(flag, dest=name, action=action, help=spec.help)
    else:
        static_choices = spec.choices if isinstance(spec.choices, tuple) else None
        group.add_argument(
            flag,
            dest=name,
            type=_option_type(name, kind),
            default=_DEFAULTS[name],
            choices=static_choices,
            metavar=spec.metavar,
            help=spec.help,
        )
    if spec.none_flag is not None:
        group.add_argument(
            spec.none_flag, dest=_none_dest(name), action="store_true", help=spec.none_help
        )


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """Sampling, face and model flags: one per `AnalyzeOptions` field."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name, spec in option_specs().items():
        if spec.group not in groups:
            groups[spec.group] = parser.add_argument_group(spec.group)
        add_option_argument(groups[spec.group], name)


def options_from_args(args: argparse.Namespace) -> AnalyzeOptions:
    """The `AnalyzeOptions` that `add_analysis_arguments`' flags describe."""
    values: dict[str, OptionValue] = {}
    for name, spec in option_specs().items():
        none_chosen = spec.none_flag is not None and getattr(args, _none_dest(name))
        values[name] = None if none_chosen else getattr(args, name)
    return AnalyzeOptions.from_mapping(values)


def _none_dest(name: str) -> str:
    return f"{name}_none"
