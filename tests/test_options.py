"""AnalyzeOptions is the one definition: CLI flags, service fields and checks derive from it."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from deepfake_analyzer.cli.arguments import add_analysis_arguments, cli_message, options_from_args
from deepfake_analyzer.errors import OutputExistsError, UsageError
from deepfake_analyzer.faces.detector import list_detectors
from deepfake_analyzer.media.types import SamplingOptions
from deepfake_analyzer.options import AnalyzeOptions, parse_option
from deepfake_analyzer.service.app import client_message
from deepfake_analyzer.service.settings import JOB_OPTION_NAMES


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    add_analysis_arguments(parser)
    return parser


def test_every_option_has_a_flag_and_no_flags_give_the_defaults() -> None:
    flags = {s for action in _parser()._actions for s in action.option_strings}
    assert {"--fps", "--every-frame", "--start", "--end", "--model", "--min-confidence"} <= flags
    assert len(flags - {"-h", "--help", "--every-frame"}) == len(fields(AnalyzeOptions))
    assert options_from_args(_parser().parse_args([])) == AnalyzeOptions()


def test_flags_map_to_their_fields() -> None:
    argv = ["--every-frame", "--start", "1", "--end", "3", "--model", "m.keras", "--explain"]
    options = options_from_args(_parser().parse_args(argv))
    assert (options.fps, options.start_s, options.end_s) == (None, 1.0, 3.0)
    assert options.model_path == "m.keras" and options.explain is True


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--fps", "0"], "must be between 0.01 and 240"),
        (["--max-image-pixels", "0"], "must be between 1 and 1000000000"),
        (["--detector", "shrot"], "did you mean 'short'"),
        (["--temporal", "sometimes"], "must be one of combine, report, off"),
    ],
)
def test_flags_are_checked_by_the_option_specs(argv: list[str], problem: str) -> None:
    with pytest.raises(argparse.ArgumentError, match=problem):
        _parser().parse_args(argv)


def test_detector_names_come_from_the_registry() -> None:
    for name in list_detectors():
        assert AnalyzeOptions(detector=name).detector == name
    with pytest.raises(UsageError, match="detector must be one of " + ", ".join(list_detectors())):
        AnalyzeOptions(detector="huge")


def test_service_fields_are_typed_by_the_dataclass() -> None:
    per_upload = ("fps", "max_frames", "start_s", "end_s", "min_face", "min_confidence", "explain")
    assert per_upload == JOB_OPTION_NAMES
    assert parse_option("max_frames", "12") == 12
    assert parse_option("min_confidence", "0.6") == 0.6
    assert parse_option("end_s", "none") is None
    assert parse_option("explain", "on") is True
    with pytest.raises(UsageError, match="start_s must be a float"):
        parse_option("start_s", "all")


def test_sampling_defaults_are_the_options_defaults() -> None:
    options, sampling = AnalyzeOptions(), SamplingOptions()
    assert (sampling.fps, sampling.max_frames) == (options.fps, options.max_frames)


def test_errors_name_options_and_each_edge_translates_them() -> None:
    with pytest.raises(UsageError) as info:
        AnalyzeOptions(min_confidence=2.0)
    assert info.value.message == "min_confidence must be between 0.05 and 0.99"
    assert cli_message(info.value) == "--min-confidence must be between 0.05 and 0.99"
    assert client_message(info.value) == "min_confidence must be between 0.05 and 0.99"
    with pytest.raises(UsageError) as info:
        AnalyzeOptions(start_s=5, end_s=2)
    assert cli_message(info.value) == "--end must be after --start"
    exists = OutputExistsError(
        "in the way; pass `overwrite` or choose another `output_dir`",
        "a.json",
        option=("overwrite", "output_dir"),
    )
    assert str(exists) == "a.json: in the way; pass overwrite or choose another output_dir"
    assert cli_message(exists) == "a.json: in the way; pass --overwrite or choose another --output"
