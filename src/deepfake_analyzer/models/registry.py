"""The architecture registry: a spec's `architecture` name -> a function building that network.

Adding an architecture is one `register_architecture` call (or one entry in `_BUILTIN`);
nothing else dispatches on names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.text import did_you_mean

if TYPE_CHECKING:
    import keras

ArchitectureBuilder = Callable[[int], "keras.Model"]
"""`builder(input_size)` -> an uncompiled Keras model with input (N, S, S, 3), output (N, 1)."""


def _xception(input_size: int) -> keras.Model:
    from deepfake_analyzer.models.xception import build_xception

    return build_xception(input_size)


_BUILTIN: dict[str, ArchitectureBuilder] = {"xception": _xception}
_REGISTRY: dict[str, ArchitectureBuilder] = dict(_BUILTIN)


def register_architecture(name: str, builder: ArchitectureBuilder) -> None:
    """Make `builder` available to specs whose `architecture` is `name`."""
    if not name or name != name.strip():
        raise ValueError(f"architecture name must be a non-empty trimmed string, got {name!r}")
    if name in _REGISTRY and _REGISTRY[name] is not builder:
        raise ValueError(f"architecture {name!r} is already registered")
    _REGISTRY[name] = builder


def list_architectures() -> list[str]:
    return sorted(_REGISTRY)


def create_architecture(name: str, input_size: int) -> keras.Model:
    """Build the registered architecture `name` for `input_size` px crops (random weights)."""
    try:
        builder = _REGISTRY[name]
    except KeyError:
        suggestion = did_you_mean(name, _REGISTRY)
        raise ModelError(
            f"unknown architecture {name!r}{suggestion}; known: {', '.join(list_architectures())}"
        ) from None
    try:
        return builder(input_size)
    except ValueError as exc:
        raise ModelError(f"cannot build architecture {name!r}: {exc}") from None
