"""`scripts/drop_member.py`: the shipped blend without a member reads the kept members'
evidence as before (the dropped one's term is its center), and its files stand alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from script_modules import script_module

from deepfake_analyzer.models.blend import Blend
from deepfake_analyzer.models.spec import ModelSpec, sha256_of
from deepfake_analyzer.paths import MODELS_DIR

SHIPPED = MODELS_DIR / "deepfake_v20.spec.json"
MOUTH = "deepfake_v4_mouth.spec.json"


def test_dropped_member_reads_as_its_center(tmp_path: Path) -> None:
    assert script_module("drop_member").main([str(SHIPPED), "ablated", str(tmp_path), MOUTH]) == 0
    spec = ModelSpec.load(tmp_path / "ablated.spec.json")
    assert spec.name == "ablated" and spec.metrics == {}
    assert spec.weights_sha256 == sha256_of(tmp_path / spec.weights_file)
    before = Blend.load(SHIPPED.parent / ModelSpec.load(SHIPPED).weights_file)
    after = Blend.load(tmp_path / spec.weights_file)
    assert [m.spec for m in after.members] == [m.spec for m in before.members if m.spec != MOUTH]
    assert after.track == before.track
    for member in after.members:  # every kept member's files are beside the new blend
        assert ModelSpec.load(tmp_path / member.spec).weights_file
    rng = np.random.default_rng(0)
    kept = [rng.uniform(0.01, 0.99, 7) for _ in after.members]
    mouth = next(m for m in before.members if m.spec == MOUTH)
    at_center = np.full(7, 1.0 / (1.0 + np.exp(-float(mouth.center or 0.0))))
    full = iter(kept)
    both = [at_center if m.spec == MOUTH else next(full) for m in before.members]
    np.testing.assert_allclose(after.probability(kept), before.probability(both), atol=1e-9)


def test_unknown_member_is_refused() -> None:
    blend = Blend.load(SHIPPED.parent / ModelSpec.load(SHIPPED).weights_file)
    with pytest.raises(ValueError, match="not members"):
        script_module("drop_member").dropped(blend, {"nothing.spec.json"}, SHIPPED.name)


def test_a_member_feeding_the_track_head_is_refused(tmp_path: Path) -> None:
    args = [str(SHIPPED), "ablated", str(tmp_path / "out"), "deepfake_v20_context.spec.json"]
    assert script_module("drop_member").main(args) == 1
    assert not (tmp_path / "out").exists()
