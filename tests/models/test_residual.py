"""The noise-residual model (models/residual.py): its features, its probe file, and how the loader,
blends and prepare-model treat it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError, UsageError
from deepfake_analyzer.models.feature_probe import ProbeClassifier
from deepfake_analyzer.models.residual import (
    ARCHITECTURE,
    BINS,
    FEATURE_SIZE,
    WEIGHTS_FORMAT,
    ResidualProbe,
    cooccurrence,
    residual_features,
)
from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.training.texture_export import ProbeFit, write_probe_model

SIZE = 224  # the size texture blends cut (models.texture.INPUT_SIZE)


def _crops(n: int = 4, seed: int = 0) -> np.ndarray:
    """Half smooth gradients with mild noise (camera-like), half flat-shaded with hard noise."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 200, SIZE)[None, :, None] + np.zeros((SIZE, SIZE, 3))
    out = []
    for i in range(n):
        sigma = 1.0 if i % 2 == 0 else 12.0
        out.append(np.clip(ramp + rng.normal(0, sigma, ramp.shape), 0, 255).astype(np.uint8))
    return np.stack(out)


def _probe(seed: int = 1) -> ResidualProbe:
    x = residual_features(_crops(6, seed))
    weights = np.random.default_rng(seed).normal(size=FEATURE_SIZE)
    return ResidualProbe(x.mean(0), x.std(0) + 1e-3, weights / 50, 0.2)


def test_cooccurrence_counts_triples_along_rows_or_columns() -> None:
    q = np.array([[-2, 0, 2, 2], [1, 1, 1, 1]])
    along_rows = cooccurrence(q, 1)
    assert along_rows.shape == (BINS,) and along_rows.sum() == pytest.approx(1.0)
    # four triples: (-2, 0, 2), (0, 2, 2), (1, 1, 1) twice; bin = (a+2)*25 + (b+2)*5 + (c+2)
    assert along_rows[0 * 25 + 2 * 5 + 4] == 0.25 and along_rows[3 * 25 + 3 * 5 + 3] == 0.5
    assert cooccurrence(q.T, 0).tolist() == along_rows.tolist()
    four = cooccurrence(np.clip(q, -1, 1), 1, t=1, order=4)
    assert four.shape == (81,) and four[80] == 0.5 and four[0 * 27 + 1 * 9 + 2 * 3 + 2] == 0.5


@pytest.mark.parametrize(("t", "order"), [(2, 3), (1, 4), (3, 3)])  # 125, 81 and 343 bins
def test_cooccurrence_equals_a_direct_count_of_runs(t: int, order: int) -> None:
    q = np.random.default_rng(t + order).integers(-t, t + 1, (23, 17))
    base = 2 * t + 1
    for axis, lines in ((1, q), (0, q.T)):  # along rows: runs inside each row; columns likewise
        counts = np.zeros(base**order)
        for line in lines:
            for i in range(len(line) - order + 1):
                counts[
                    sum(
                        (v + t) * base ** (order - 1 - k) for k, v in enumerate(line[i : i + order])
                    )
                ] += 1
        np.testing.assert_array_equal(cooccurrence(q, axis, t, order), counts / counts.sum())


def test_features_are_frequencies_that_tell_noise_levels_apart() -> None:
    crops = _crops()
    x = residual_features(crops)
    assert x.shape == (4, FEATURE_SIZE) and np.isfinite(x).all()
    np.testing.assert_array_equal(x, residual_features(crops))  # deterministic
    first = x[:, :BINS] ** 2  # the luma's first-order histogram (square roots stored)
    assert np.allclose(first.sum(1), 1.0)
    middle = 2 * 25 + 2 * 5 + 2  # three zero residuals in a row
    assert first[0, middle] > 5 * first[1, middle]  # mild noise: mostly flat neighbourhoods
    assert np.linalg.norm(x[0] - x[2]) < np.linalg.norm(x[0] - x[1])
    assert residual_features(np.zeros((0, SIZE, SIZE, 3), np.uint8)).shape == (0, FEATURE_SIZE)
    for bad in (np.zeros((2, SIZE, SIZE), np.uint8), np.zeros((1, 31, 31, 3), np.uint8)):
        with pytest.raises(ValueError):
            residual_features(bad)
    small = residual_features(crops[:, :32, :32])  # the smallest side read: every part counted
    assert np.isfinite(small).all() and np.allclose((small[:, :BINS] ** 2).sum(1), 1.0)
    assert cooccurrence(np.zeros((4, 2), int), 1).sum() == 0  # no run of three: no counts


def test_a_probe_file_round_trips_and_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    probe = _probe()
    path = probe.save(tmp_path / "p.npz")
    back = ResidualProbe.load(path)
    x = residual_features(_crops())
    np.testing.assert_array_equal(back.logit(x), probe.logit(x))
    np.savez(tmp_path / "old.npz", mean=probe.mean, scale=probe.scale, weights=probe.weights,
             bias=np.array(0.0), features_version=np.array(0))  # fmt: skip
    with pytest.raises(ModelError, match="version 0"):
        ResidualProbe.load(tmp_path / "old.npz")
    (tmp_path / "junk.npz").write_bytes(b"not an npz")
    with pytest.raises(ModelError, match="not a residual probe"):
        ResidualProbe.load(tmp_path / "junk.npz")
    with pytest.raises(ValueError, match="positive scales"):
        replace(probe, scale=np.zeros(FEATURE_SIZE))
    with pytest.raises(ValueError, match=f"{FEATURE_SIZE} values"):
        replace(probe, weights=np.ones(3))


def _written(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    probe = _probe()
    crops = _crops(4, 7)
    fit = ProbeFit(probe.mean, probe.scale, probe.weights, probe.bias, 10.0)
    scores = fit.probability(residual_features(crops))
    spec_path = write_probe_model(
        ResidualProbe, fit, tmp_path, "res", 1.3, {"l2": 10.0}, crops, scores
    )
    return spec_path, crops, scores


def test_the_written_model_loads_as_a_classifier_scoring_as_its_probe(tmp_path: Path) -> None:
    from deepfake_analyzer.models.loader import load_classifier, load_keras_from_spec

    spec_path, crops, scores = _written(tmp_path)
    spec = ModelSpec.load(spec_path)
    assert (spec.architecture, spec.weights_format) == (ARCHITECTURE, WEIGHTS_FORMAT)
    assert spec.training["largest_difference_from_probe"] < 1e-9
    assert np.ptp(scores) > 0.01
    for runtime in ("auto", "keras", "litert"):  # no network: numpy whatever is asked
        model = load_classifier(spec_path, runtime=runtime)
        assert isinstance(model, ProbeClassifier) and isinstance(model.probe, ResidualProbe)
        assert model.sha256 == spec.weights_sha256
        np.testing.assert_allclose(model.predict(crops), scores, atol=1e-12)
    with pytest.raises(ModelError, match="has no Keras model"):
        load_keras_from_spec(spec_path)
    replace(spec, architecture="efficientnet-lite0-texture").save(spec_path)
    with pytest.raises(ModelError, match="goes with architecture"):
        load_classifier(spec_path)
    replace(spec, weights_sha256="0" * 64).save(spec_path)
    with pytest.raises(ModelError, match="has sha256"):
        load_classifier(spec_path)
    (tmp_path / "res.npz").unlink()
    with pytest.raises(ModelError, match="probe file 'res.npz' named by the spec not found"):
        load_classifier(spec_path)


def test_a_model_that_differs_from_its_probe_is_not_kept(tmp_path: Path) -> None:
    probe = _probe()
    crops = _crops()
    fit = ProbeFit(probe.mean, probe.scale, probe.weights, probe.bias, 10.0)
    scores = fit.probability(residual_features(crops))
    with pytest.raises(UsageError, match="differs from the probe"):
        write_probe_model(ResidualProbe, fit, tmp_path, "res", 1.3, {}, crops, 1.0 - scores)
    assert not list(tmp_path.iterdir())


def test_a_blend_runs_it_as_a_member_and_prepare_model_skips_it(tmp_path: Path, capsys) -> None:
    from deepfake_analyzer.cli import prepare_model
    from deepfake_analyzer.cli.main import build_parser
    from deepfake_analyzer.models.blend import BlendClassifier
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.training.texture_export import write_blend

    spec_path, crops, scores = _written(tmp_path)
    blend_spec = write_blend(tmp_path, "blend", [(spec_path, (2.0, 0.1))], {})
    blend = load_classifier(blend_spec)
    assert isinstance(blend, BlendClassifier)
    logit = np.log(scores / (1 - scores))
    np.testing.assert_allclose(blend.predict(crops), 1 / (1 + np.exp(-2.0 * (logit - 0.1))))
    np.testing.assert_allclose(blend.scores(crops).evidence[0], 2.0 * (logit - 0.1))
    args = build_parser("prepare-model").parse_args(["prepare-model", "--model", str(blend_spec)])
    assert prepare_model.run(args) == 0
    assert "a probe model has no network of its own: nothing to prepare" in capsys.readouterr().out
