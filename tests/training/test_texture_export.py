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
from deepfake_analyzer.training.texture_export import (
    ProbeFit,
    fused_probe,
    write_blend,
    write_texture_model,
)

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


def test_a_blend_of_two_margins_cuts_at_the_wider(fitted, tmp_path: Path) -> None:
    backbone, probe, crops, scores = fitted
    narrow = write_texture_model(backbone, probe, tmp_path, "narrow", 1.3, {}, crops, scores)
    wide = write_texture_model(backbone, probe, tmp_path, "wide", 2.6, {}, crops, scores)
    members = [(narrow, (1.0, 0.0)), (wide, (0.0, 0.0))]  # the narrow member alone counts
    spec = ModelSpec.load(write_blend(tmp_path, "blend", members, {}))
    assert spec.crop_margin == 2.6 and spec.input_size == 2 * INPUT_SIZE
    framed = np.zeros((len(crops), 2 * INPUT_SIZE, 2 * INPUT_SIZE, 3), np.uint8)
    middle = slice(INPUT_SIZE // 2, INPUT_SIZE // 2 + INPUT_SIZE)
    framed[:, middle, middle] = crops
    classifier = load_classifier(tmp_path / "blend.spec.json")
    np.testing.assert_allclose(classifier.predict(framed), scores, atol=1e-3)


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


def test_a_fused_probe_gives_the_weighted_sum_of_the_logits() -> None:
    from deepfake_analyzer.models.spec import logits

    rng = np.random.default_rng(5)
    x = rng.normal(3.0, 2.0, (50, 12))
    probes = [
        (
            ProbeFit(
                rng.normal(size=12), rng.uniform(0.5, 2, 12), 0.1 * rng.normal(size=12), b, 1.0
            ),
            w,
        )
        for b, w in ((0.3, 0.7), (-1.2, 0.25), (0.5, -0.4))
    ]
    fused = fused_probe(probes)
    expected = sum(w * logits(p.probability(x)) for p, w in probes)
    assert np.abs(expected).max() < 10  # away from where logits() clips
    np.testing.assert_allclose(logits(fused.probability(x)), expected, atol=1e-9)
    np.testing.assert_array_equal(fused.mean, probes[0][0].mean)


def _probe_on(
    backbone: object, crops: np.ndarray, seed: int, region: object = None
) -> tuple[ProbeFit, np.ndarray]:
    """A probe over the region's features of `crops`, and its scores of them."""
    x = texture_features(feature_model(backbone, region), crops).astype(np.float64)
    scale = x.std(0) + 1e-3
    weights = np.random.default_rng(seed).normal(size=x.shape[1])
    weights *= 2.0 / np.ptp((x - x.mean(0)) / scale @ weights)
    probe = ProbeFit(x.mean(0), scale, weights, 0.1 * seed, 1.0)
    return probe, probe.probability(x)


def test_fusing_a_blend_keeps_its_scores_with_one_model_per_region(fitted, tmp_path: Path) -> None:
    from dataclasses import replace

    from deepfake_analyzer.models.blend import Blend
    from deepfake_analyzer.models.spec import Calibration
    from deepfake_analyzer.training.texture_export import fuse_blend

    backbone, probe, crops, scores = fitted
    # the fused model's check crops are noise, as the fixture's: its probes must not saturate
    rng = np.random.default_rng(7)
    check = rng.integers(0, 256, (8, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    crops = np.concatenate([crops, check])
    written = []
    for name, seed, region in (("f1", 1, "face"), ("f2", 2, "face"), ("m1", 3, "mouth")):
        p, s = _probe_on(backbone, crops, seed, MOUTH_BOX if region == "mouth" else None)
        base = tmp_path / "f1.f16.npz" if written else None  # f1 holds the backbone the rest use
        written.append(
            write_texture_model(backbone, p, tmp_path, name, 1.3, {}, crops, s, region, base)
        )
    fitted_weights = [(0.7, 0.2), (0.4, -0.5), (0.5, 0.1)]
    blend_spec = write_blend(tmp_path, "blend", list(zip(written, fitted_weights, strict=True)),
                             {}, views=3)  # fmt: skip
    calibrated = replace(
        ModelSpec.load(blend_spec), calibration=Calibration(method="temperature", temperature=1.3)
    )
    calibrated.save(blend_spec)

    fused_spec = fuse_blend(blend_spec, "fused")
    spec = ModelSpec.load(fused_spec)
    assert spec.views == 3 and spec.calibration == calibrated.calibration
    assert spec.thresholds == calibrated.thresholds
    blend = Blend.load(tmp_path / spec.weights_file)
    assert [m.spec for m in blend.members] == ["fused_face.spec.json", "m1.spec.json"]
    assert blend.members[0].weight == 1.0
    assert blend.members[0].center == pytest.approx(0.7 * 0.2 + 0.4 * -0.5)
    assert ModelSpec.load(tmp_path / "fused_face.spec.json").training["fused_from"] == [
        "f1.spec.json", "f2.spec.json"
    ]  # fmt: skip
    before = load_classifier(blend_spec, runtime="keras").predict(crops)
    after = load_classifier(fused_spec, runtime="keras").predict(crops)
    assert np.ptp(before) > 0.05
    np.testing.assert_allclose(after, before, atol=2e-3)

    with pytest.raises(UsageError, match="new model name"):
        fuse_blend(blend_spec, "fused")
    with pytest.raises(UsageError, match="no two members"):
        fuse_blend(fused_spec, "again")
    with pytest.raises(UsageError, match="not a blend"):
        fuse_blend(written[0], "again")
    # a model holding its own backbone shares it with no other such model, even when equal
    p, s = _probe_on(backbone, crops, 4)
    own = write_texture_model(backbone, p, tmp_path, "own", 1.3, {}, crops, s)
    apart = write_blend(tmp_path, "apart", [(written[0], (0.5, 0.0)), (own, (0.5, 0.0))], {})
    with pytest.raises(UsageError, match="no two members"):
        fuse_blend(apart, "again")


def test_members_at_different_margins_are_not_fused(fitted, tmp_path: Path) -> None:
    from deepfake_analyzer.training.texture_export import fuse_blend

    backbone, probe, crops, scores = fitted
    narrow = write_texture_model(backbone, probe, tmp_path, "narrow", 1.3, {}, crops, scores)
    wide = write_texture_model(
        backbone, probe, tmp_path, "wide", 2.0, {}, crops, scores, base=tmp_path / "narrow.f16.npz"
    )
    blend_spec = write_blend(tmp_path, "blend", [(narrow, (1.0, 0.0)), (wide, (1.0, 0.0))], {})
    with pytest.raises(UsageError, match="no two members"):
        fuse_blend(blend_spec, "fused")
