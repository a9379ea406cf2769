"""The texture model written from a probe (training/texture_export.py, models/texture.py) and
a blend of it loaded through the ordinary model loader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.models.blend import BlendClassifier
from deepfake_analyzer.models.loader import load_classifier
from deepfake_analyzer.models.spec import ModelSpec, sha256_of
from deepfake_analyzer.models.texture import (
    ARCHITECTURE,
    ARCHITECTURES,
    INPUT_SIZE,
    MOUTH_BOX,
    build_efficientnet_lite0,
)
from deepfake_analyzer.training.texture_backbone import feature_model, texture_features
from deepfake_analyzer.training.texture_export import ProbeFit, write_blend, write_texture_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fitted() -> tuple[object, ProbeFit, np.ndarray, np.ndarray]:
    """A backbone (random weights), a probe over its features, four crops and their scores."""
    import keras

    rng = np.random.default_rng(3)
    backbone = build_efficientnet_lite0()
    for layer in backbone.layers:  # random kernels shrink activations: keep them ImageNet-sized
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, *rest = layer.get_weights()
            layer.set_weights([np.full_like(gamma, 8.0), *rest])
    # weights a float16 file holds exactly, so any difference is the written network's
    backbone.set_weights([w.astype(np.float16).astype(np.float32) for w in backbone.get_weights()])
    crops = rng.integers(0, 256, (4, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    crops[:2] //= 3  # two dark, two noisy
    x = texture_features(feature_model(backbone), crops).astype(np.float64)
    scale = x.std(0) + 1e-3
    weights = rng.normal(size=x.shape[1])
    z = (x - x.mean(0)) / scale @ weights
    weights *= 2.0 / np.ptp(z)  # logits two apart: probabilities the check can tell apart
    probe = ProbeFit(x.mean(0), scale, weights, 0.3, 1.0)
    return backbone, probe, crops, probe.probability(x)


def test_the_written_model_scores_as_the_probe(fitted, tmp_path: Path) -> None:
    backbone, probe, crops, scores = fitted
    assert np.ptp(scores) > 0.05  # the check below can tell crops apart
    spec_path = write_texture_model(
        backbone, probe, tmp_path, "tex", 1.3, {"l2": 1.0}, crops, scores
    )
    spec = ModelSpec.load(spec_path)
    assert spec.architecture == ARCHITECTURE and spec.input_size == INPUT_SIZE
    assert spec.weights_sha256 == sha256_of(tmp_path / "tex.f16.npz")
    assert spec.training["l2"] == 1.0
    assert spec.training["largest_difference_from_probe"] <= 1e-3

    blend_spec = write_blend(tmp_path, "blend", [(spec_path, (1.0, 0.0))], {})
    classifier = load_classifier(blend_spec)
    assert isinstance(classifier, BlendClassifier)
    np.testing.assert_allclose(classifier.predict(crops), scores, atol=1e-3)


def test_a_model_that_differs_from_the_probe_is_refused(fitted, tmp_path: Path) -> None:
    backbone, probe, crops, scores = fitted
    with pytest.raises(UsageError, match="differs from the probe"):
        write_texture_model(backbone, probe, tmp_path, "tex", 1.3, {}, crops, 1.0 - scores)
    assert not list(tmp_path.iterdir()), "nothing is kept"


def test_blend_members_must_lie_beside_it(fitted, tmp_path: Path) -> None:
    backbone, probe, crops, scores = fitted
    spec_path = write_texture_model(backbone, probe, tmp_path, "tex", 1.3, {}, crops, scores)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(UsageError, match="must lie beside it"):
        write_blend(elsewhere, "blend", [(spec_path, (1.0, 0.0))], {})


def test_a_mouth_model_scores_as_its_probe_on_the_mouth_box(fitted, tmp_path: Path) -> None:
    backbone, _, crops, _ = fitted
    x = texture_features(feature_model(backbone, MOUTH_BOX), crops).astype(np.float64)
    scale = x.std(0) + 1e-3
    weights = np.random.default_rng(4).normal(size=x.shape[1])
    weights *= 2.0 / np.ptp((x - x.mean(0)) / scale @ weights)
    probe = ProbeFit(x.mean(0), scale, weights, -0.2, 1.0)
    scores = probe.probability(x)
    spec_path = write_texture_model(
        backbone, probe, tmp_path, "mouth", 1.3, {}, crops, scores, region="mouth"
    )
    assert ModelSpec.load(spec_path).architecture == ARCHITECTURES["mouth"] != ARCHITECTURE
    np.testing.assert_allclose(load_classifier(spec_path).predict(crops), scores, atol=1e-3)
    whole = texture_features(feature_model(backbone), crops).astype(np.float64)
    assert not np.allclose(x, whole, atol=1e-2)  # it read another part of the crops


def test_a_model_written_against_a_base_stores_only_its_probe(fitted, tmp_path: Path) -> None:
    from dataclasses import replace

    from deepfake_analyzer.errors import ModelError
    from deepfake_analyzer.models.runtime_cache import weights_key

    backbone, probe, crops, scores = fitted
    first = write_texture_model(backbone, probe, tmp_path, "first", 1.3, {}, crops, scores)
    base = tmp_path / "first.f16.npz"
    spec_path = write_texture_model(
        backbone, probe, tmp_path, "second", 1.3, {}, crops, scores, base=base
    )
    spec = ModelSpec.load(spec_path)
    assert spec.weights_base == base.name and spec.weights_base_sha256 == sha256_of(base)
    own = tmp_path / spec.weights_file
    assert own.stat().st_size < base.stat().st_size / 100  # the probe, not the backbone
    np.testing.assert_allclose(load_classifier(spec_path).predict(crops), scores, atol=1e-3)
    identity = weights_key(spec, own)
    assert identity not in (spec.weights_sha256, ModelSpec.load(first).weights_sha256)
    blend = load_classifier(
        write_blend(tmp_path, "blend", [(spec_path, (1.0, 0.0))], {}), runtime="keras"
    )
    assert isinstance(blend, BlendClassifier) and blend.members[0].sha256 == identity

    replace(spec, weights_base_sha256="0" * 64).save(spec_path)
    with pytest.raises(ModelError, match="'first.f16.npz' has sha256"):
        load_classifier(spec_path, runtime="keras")
    with pytest.raises(ModelError, match="weights_base needs weights_format 'f16-npz'"):
        ModelSpec.from_dict({**spec.to_dict(), "weights_format": "keras"})
    replace(spec, weights_base="gone.f16.npz").save(spec_path)
    with pytest.raises(ModelError, match="base weights file 'gone.f16.npz' not found"):
        load_classifier(spec_path, runtime="keras")
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(UsageError, match="must lie in"):
        write_texture_model(backbone, probe, elsewhere, "x", 1.3, {}, crops, scores, base=base)
