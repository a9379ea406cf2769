"""Tests for the shared registry helpers and the built-in names `--help` reads without imports."""

from __future__ import annotations

import pytest

from deepfake_analyzer import registry
from deepfake_analyzer.batch.engine import list_engines
from deepfake_analyzer.faces.detector import list_detectors


def test_the_builtin_detector_names_are_the_registrys() -> None:
    assert sorted(registry.DETECTOR_NAMES) == list_detectors()


def test_the_builtin_engine_names_are_the_registrys() -> None:
    assert sorted(registry.ENGINE_NAMES) == list_engines()


def test_add_entry_refuses_a_taken_or_untrimmed_name() -> None:
    entries: dict[str, object] = {}
    first = object()
    registry.add_entry(entries, "thing", "a", first)
    registry.add_entry(entries, "thing", "a", first)  # the same entry again: no change
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        registry.add_entry(entries, "thing", "a", object())
    with pytest.raises(ValueError, match="non-empty trimmed"):
        registry.add_entry(entries, "thing", " b", first)
    assert entries == {"a": first}


def test_an_unknown_name_gets_a_suggestion_and_the_known_names() -> None:
    message = registry.unknown_name("engine", "rya", ["ray", "local"])
    assert message == "unknown engine 'rya' (did you mean 'ray'?); known: local, ray"
