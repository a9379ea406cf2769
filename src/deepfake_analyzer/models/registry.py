"""The architecture registry: a spec's `architecture` name -> a function building that network.

Adding an architecture is one `register_architecture` call (or one entry in `_BUILTIN`);
nothing else dispatches on names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.texture import ARCHITECTURES as TEXTURE_ARCHITECTURES
from deepfake_analyzer.models.texture import TRACK_ARCHITECTURES
from deepfake_analyzer.models.xception import ARCHITECTURE
from deepfake_analyzer.registry import add_entry, unknown_name

if TYPE_CHECKING:
    import keras

ArchitectureBuilder = Callable[[int], "keras.Model"]
"""`builder(input_size)` -> an uncompiled Keras model with input (N, S, S, 3), output (N, 1)
(or (N, 2), models/base.py `OUTPUT_COLUMNS`)."""


def _xception(input_size: int) -> keras.Model:
    from deepfake_analyzer.models.xception import build_xception

    return build_xception(input_size)


def _texture(region: str, input_size: int, track: bool = False) -> keras.Model:
    from deepfake_analyzer.models.texture import REGIONS, build_texture_classifier

    return build_texture_classifier(input_size, REGIONS[region], track)


_BUILTIN: dict[str, ArchitectureBuilder] = {
    ARCHITECTURE: _xception,
    **{name: partial(_texture, region) for region, name in TEXTURE_ARCHITECTURES.items()},
    **{name: partial(_texture, region, track=True) for region, name in TRACK_ARCHITECTURES.items()},
}
_REGISTRY: dict[str, ArchitectureBuilder] = dict(_BUILTIN)
_COLUMNS: dict[str, int] = dict.fromkeys(TRACK_ARCHITECTURES.values(), 2)
"""Architectures whose output has more than the probability's one column (models/base.py,
`OUTPUT_COLUMNS`)."""


def register_architecture(name: str, builder: ArchitectureBuilder) -> None:
    """Make `builder` available to specs whose `architecture` is `name`."""
    add_entry(_REGISTRY, "architecture", name, builder)


def architecture_columns(name: str) -> int:
    """How many output columns a model of architecture `name` gives: 2 for a texture model with
    a track head, else 1 (a user's or any other model: its probability alone)."""
    return _COLUMNS.get(name, 1)


def list_architectures() -> list[str]:
    return sorted(_REGISTRY)


def create_architecture(name: str, input_size: int) -> keras.Model:
    """Build the registered architecture `name` for `input_size` px crops (random weights)."""
    builder = _REGISTRY.get(name)
    if builder is None:
        raise ModelError(unknown_name("architecture", name, _REGISTRY))
    try:
        return builder(input_size)
    except ValueError as exc:
        raise ModelError(f"cannot build architecture {name!r}: {exc}") from None
