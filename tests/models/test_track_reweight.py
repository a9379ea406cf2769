"""`scripts/track_probe.py reweight`: the shipped blend with another track head weight and
nothing else changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from script_modules import script_module

from deepfake_analyzer.models.blend import Blend
from deepfake_analyzer.models.spec import ModelSpec, sha256_of
from deepfake_analyzer.paths import MODELS_DIR

SHIPPED = MODELS_DIR / "deepfake_v22.spec.json"


def test_only_the_heads_weight_changes(tmp_path: Path) -> None:
    written = script_module("track_probe").reweight(SHIPPED, "heavier", tmp_path, 0.5)
    spec, before_spec = ModelSpec.load(written), ModelSpec.load(SHIPPED)
    assert spec.name == "heavier" and spec.metrics == {}
    assert spec.thresholds == before_spec.thresholds
    assert spec.calibration == before_spec.calibration and spec.views == before_spec.views
    assert spec.weights_sha256 == sha256_of(tmp_path / spec.weights_file)
    before = Blend.load(SHIPPED.parent / before_spec.weights_file)
    after = Blend.load(tmp_path / spec.weights_file)
    assert after.members == before.members and after.bias == before.bias
    assert after.track is not None and before.track is not None
    assert after.track.weight == 0.5 and after.track.training["weight_before"] == 0.25
    assert after.track.training["weight_chosen"].startswith("given as 0.5, not fitted")
    assert (after.track.bias, after.track.center, after.track.spread) == (
        before.track.bias, before.track.center, before.track.spread,
    )  # fmt: skip
    for member in after.members:  # the members' files stand beside the new blend
        assert (tmp_path / ModelSpec.load(tmp_path / member.spec).weights_file).exists()
    with pytest.raises(SystemExit, match="exists"):
        script_module("track_probe").reweight(SHIPPED, "heavier", tmp_path, 0.75)
    why = "CV over the training videos: 0.5 best"
    again = script_module("track_probe").reweight(SHIPPED, "chosen", tmp_path, 0.5, why)
    chosen = Blend.load(tmp_path / ModelSpec.load(again).weights_file)
    assert chosen.track is not None and chosen.track.training["weight_chosen"] == why


def test_a_blend_without_a_head_is_refused() -> None:
    v18 = MODELS_DIR / "deepfake_v18.spec.json"
    blend = Blend.load(MODELS_DIR / ModelSpec.load(v18).weights_file)
    with pytest.raises(ValueError, match="no track head"):
        script_module("track_probe").reweighted(blend, 0.5, v18.name, "test")
