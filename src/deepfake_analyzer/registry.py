"""Name -> builder registries (face detectors, batch engines, model architectures): one way to
add an entry and to say a name is unknown, and the built-in names, readable without importing
what they build (so `--help` lists them and imports no NumPy, OpenCV or MediaPipe).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from deepfake_analyzer.text import did_you_mean

T = TypeVar("T")

DETECTOR_NAMES = ("auto", "full", "short")
"""The face detectors faces/detector.py registers (a test checks that the two agree)."""

ENGINE_NAMES = ("local", "ray")
"""The batch engines batch/engine.py registers (a test checks that the two agree)."""


def add_entry(registry: dict[str, T], kind: str, name: str, entry: T) -> None:
    """Put `entry` under `name`; ValueError for an empty or untrimmed name, or a name that
    another entry already holds."""
    if not name or name != name.strip():
        raise ValueError(f"{kind} name must be a non-empty trimmed string, got {name!r}")
    if name in registry and registry[name] is not entry:
        raise ValueError(f"{kind} {name!r} is already registered")
    registry[name] = entry


def unknown_name(kind: str, name: str, known: Iterable[str]) -> str:
    """`unknown engine 'rya' (did you mean 'ray'?); known: local, ray`."""
    names = sorted(known)
    return f"unknown {kind} {name!r}{did_you_mean(name, names)}; known: {', '.join(names)}"
