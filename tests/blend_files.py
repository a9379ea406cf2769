"""Writing a blend and its members' specs into a folder, as `load_blend` reads them (tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from deepfake_analyzer.models.base import Classifier
from deepfake_analyzer.models.blend import BLEND_FORMAT, Blend
from deepfake_analyzer.models.spec import ModelSpec


def save_blend(folder: Path, blend: Blend, members: Sequence[Classifier]) -> Path:
    """`blend` as `b.blend.json` with its spec `b.spec.json` (returned) and each member's spec
    beside them, named `<member name>.spec.json`."""
    blend_path = blend.save(folder / "b.blend.json")
    spec = replace(ModelSpec(name="b"), weights_format=BLEND_FORMAT).with_weights(blend_path)
    spec_path = folder / "b.spec.json"
    spec.save(spec_path)
    for m in members:
        m.spec.save(folder / f"{m.spec.name}.spec.json")
    return spec_path
