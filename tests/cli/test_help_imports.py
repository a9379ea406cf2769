"""`--help` (top level or any command's) imports only light modules: no NumPy, OpenCV,
TensorFlow or MediaPipe, and no command's heavy module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from deepfake_analyzer.cli.main import build_parser, requested_command

PROBE = """
import contextlib, io, sys
from deepfake_analyzer.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
heavy = ("numpy", "cv2", "tensorflow", "mediapipe", "deepfake_analyzer.training.train")
print(" ".join(m for m in heavy if m in sys.modules))
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--help"],
        ["--debug", "train", "--help"],
        ["--help"],
        ["analyze", "--help"],
        ["batch", "--help"],
        ["train-temporal", "--help"],
        ["serve", "--help"],
    ],
)
def test_help_imports_nothing_heavy(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_the_requested_command_is_the_first_word() -> None:
    assert requested_command(["--debug", "train-temporal", "x"]) == "train-temporal"
    assert requested_command(["--help"]) is None
    assert requested_command(["nonsense"]) is None


def test_a_partial_parser_still_knows_every_command_name() -> None:
    full = build_parser()
    partial = build_parser("train")
    assert partial.format_usage() == full.format_usage()
    assert partial.parse_args(["train", "d", "--epochs", "2"]).epochs == 2
