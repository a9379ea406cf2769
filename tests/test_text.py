"""The shared one-line message helpers."""

from __future__ import annotations

from deepfake_analyzer.text import did_you_mean, first_line


def test_first_line_is_the_message_head_or_the_type() -> None:
    assert first_line(ValueError("bad thing\nmore detail")) == "bad thing"
    assert first_line(ValueError("x" * 500), limit=10) == "x" * 10
    assert first_line(KeyError()) == "KeyError"


def test_did_you_mean_names_the_closest_known_name() -> None:
    assert did_you_mean("mediapip", ["mediapipe", "opencv"]) == " (did you mean 'mediapipe'?)"
    assert did_you_mean("zzz", ["mediapipe"]) == ""
