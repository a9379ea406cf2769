"""The face-mesh model (models/mesh_probe.py): its features from the shipped face mesh, its probe
file, and how the loader and blends treat it."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.feature_probe import ProbeClassifier
from deepfake_analyzer.models.mesh_probe import (
    ARCHITECTURE,
    FEATURE_SIZE,
    MESH_FILE,
    WEIGHTS_FORMAT,
    MeshFeatures,
    MeshProbe,
)
from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.paths import MODELS_DIR
from deepfake_analyzer.training.texture_export import ProbeFit, write_probe_model


def _crops(n: int = 4, seed: int = 0) -> np.ndarray:
    """Smooth gradients with noise of growing strength (224 px, as blends cut crops)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 200, 224)[None, :, None] + np.zeros((224, 224, 3))
    return np.stack(
        [np.clip(ramp + rng.normal(0, 2 + 10 * i, ramp.shape), 0, 255).astype(np.uint8)
         for i in range(n)]
    )  # fmt: skip


@pytest.fixture(scope="module")
def features() -> MeshFeatures:
    return MeshFeatures()


def test_features_are_channel_statistics_that_differ_between_crops(features: MeshFeatures) -> None:
    crops = _crops()
    x = features(crops)
    assert x.shape == (4, FEATURE_SIZE) and x.dtype == np.float64 and np.isfinite(x).all()
    np.testing.assert_array_equal(features(crops[1:2])[0], x[1])  # one crop: the same row
    assert min(np.abs(x[i] - x[j]).max() for i in range(4) for j in range(i)) > 1e-3
    assert (x[:, 16:32] >= 0).all()  # the first tap's standard deviations
    assert features(np.zeros((0, 224, 224, 3), np.uint8)).shape == (0, FEATURE_SIZE)
    with pytest.raises(ValueError, match="RGB crops"):
        features(crops[:, :, :100])


def test_a_changed_mesh_model_is_refused(tmp_path: Path) -> None:
    shutil.copy(MODELS_DIR / MESH_FILE, tmp_path / MESH_FILE)
    with (tmp_path / MESH_FILE).open("ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelError, match="not the shipped one"):
        MeshFeatures(tmp_path)


def _written(tmp_path: Path, features: MeshFeatures) -> tuple[Path, np.ndarray, np.ndarray]:
    crops = _crops(4, 7)
    x = features(crops)
    weights = np.random.default_rng(1).normal(size=FEATURE_SIZE) / 30
    fit = ProbeFit(x.mean(0), x.std(0) + 1e-3, weights, 0.1, 30.0)
    scores = fit.probability(x)
    written = write_probe_model(MeshProbe, fit, tmp_path, "mesh", 1.3, {"l2": 30.0}, crops, scores)
    return written, crops, scores


def test_the_written_model_loads_as_a_classifier_scoring_as_its_probe(
    tmp_path: Path, features: MeshFeatures
) -> None:
    from deepfake_analyzer.models.loader import load_classifier, load_keras_from_spec
    from deepfake_analyzer.models.runtime_cache import needs_runtime_copy

    spec_path, crops, scores = _written(tmp_path, features)
    spec = ModelSpec.load(spec_path)
    assert (spec.architecture, spec.weights_format) == (ARCHITECTURE, WEIGHTS_FORMAT)
    assert spec.training["largest_difference_from_probe"] < 1e-9 and np.ptp(scores) > 0.01
    assert not needs_runtime_copy(spec)
    model = load_classifier(spec_path)
    assert isinstance(model, ProbeClassifier) and isinstance(model.probe, MeshProbe)
    np.testing.assert_allclose(model.predict(crops), scores, atol=1e-12)
    with pytest.raises(ModelError, match="face-mesh model has no Keras model"):
        load_keras_from_spec(spec_path)
    replace(spec, architecture="noise-residual-cooc").save(spec_path)
    with pytest.raises(ModelError, match="goes with architecture"):
        load_classifier(spec_path)


def test_a_probe_of_other_features_is_refused(tmp_path: Path, features: MeshFeatures) -> None:
    spec_path, _, _ = _written(tmp_path, features)
    probe = MeshProbe.load(tmp_path / "mesh.npz")
    np.savez(tmp_path / "mesh.npz", mean=probe.mean, scale=probe.scale, weights=probe.weights,
             bias=np.array(0.0), features_version=np.array(0))  # fmt: skip
    with pytest.raises(ModelError, match="face-mesh features version 0"):
        MeshProbe.load(tmp_path / "mesh.npz")
    np.savez(tmp_path / "short.npz", mean=probe.mean[:5], scale=probe.scale[:5],
             weights=probe.weights[:5], bias=np.array(0.0),
             features_version=np.array(1))  # fmt: skip
    with pytest.raises(ModelError, match=f"{FEATURE_SIZE} values"):
        MeshProbe.load(tmp_path / "short.npz")
