"""The temporal model: fitting, scoring, and its JSON file's round trip and validation."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from temporal_synth import FAKE, REAL, talking_face

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.temporal.features import FEATURE_NAMES, compute_features
from deepfake_analyzer.temporal.model import (
    DEFAULT_TEMPORAL_MODEL,
    TemporalModel,
    fit_logistic,
    fit_platt,
    load_temporal_model,
    standardise,
)


def small_model(**changes: object) -> TemporalModel:
    n = len(FEATURE_NAMES)
    model = TemporalModel(
        feature_names=FEATURE_NAMES,
        mean=tuple(0.1 * i for i in range(n)),
        scale=tuple(1.0 + 0.01 * i for i in range(n)),
        weights=tuple(((-1) ** i) * 0.2 for i in range(n)),
        bias=-0.3,
        calibration_a=0.8,
        calibration_b=0.1,
        threshold=0.6,
        sequence={"fps": 8.0},
        training={"videos": 10, "real": 6, "fake": 4},
    )
    return replace(model, **changes) if changes else model


def test_json_round_trip_gives_the_same_scores(tmp_path: Path) -> None:
    model = small_model()
    path = model.save(tmp_path / "t.json")
    loaded = load_temporal_model(path)
    assert loaded == model
    x = np.linspace(-1, 3, len(FEATURE_NAMES))
    assert loaded.score(x) == model.score(x)
    assert 0.0 <= model.score(x) <= 1.0


def test_score_applies_standardisation_clip_weights_and_calibration() -> None:
    model = small_model()
    x = np.asarray(model.mean) + 100.0 * np.asarray(model.scale)  # clipped to z = 5
    z = np.full(len(FEATURE_NAMES), 5.0)
    logit = 0.8 * (z @ np.asarray(model.weights) - 0.3) + 0.1
    assert model.logit(x) == pytest.approx(logit)
    assert model.score(x) == pytest.approx(1 / (1 + np.exp(-logit)))


def write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "something-else"}, "not a temporal model"),
        ({"version": 99}, "version 99"),
        ({"feature_names": list(reversed(FEATURE_NAMES))}, "other features"),
        ({"feature_names": [*FEATURE_NAMES[:-1], "new_feature"]}, "new_feature"),
        ({"weights": [0.0] * 3}, "weights has 3 values"),
        ({"scale": [0.0] * len(FEATURE_NAMES)}, "scale must be positive"),
        ({"bias": "a lot"}, "bad value"),
        ({"threshold": 1.5}, "threshold"),
    ],
)
def test_loader_refuses_bad_files(tmp_path: Path, change: dict, message: str) -> None:
    data = {**small_model().to_dict(), **change}
    with pytest.raises(ModelError, match=message):
        load_temporal_model(write(tmp_path / "bad.json", data))


def test_loader_refuses_missing_keys_missing_file_and_bad_json(tmp_path: Path) -> None:
    data = small_model().to_dict()
    del data["weights"]
    with pytest.raises(ModelError, match="missing keys"):
        load_temporal_model(write(tmp_path / "a.json", data))
    with pytest.raises(ModelError, match="train-temporal"):
        load_temporal_model(tmp_path / "absent.json")
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot read"):
        load_temporal_model(tmp_path / "b.json")


def test_shipped_model_matches_the_code_and_names_no_files() -> None:
    model = load_temporal_model(DEFAULT_TEMPORAL_MODEL)
    assert model.feature_names == FEATURE_NAMES
    text = DEFAULT_TEMPORAL_MODEL.read_text()
    for needle in (".mp4", ".mov", ".webm", "shared/data", "/"):
        assert needle not in text.replace("/temporal-model", "")
    assert model.training["videos"] == model.training["real"] + model.training["fake"]


def test_fit_logistic_learns_a_separable_rule() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(float)
    w, b = fit_logistic(x, y, l2=0.1)
    assert w[0] > 2 and w[2] < -1 and abs(w[1]) < 0.5 * w[0]
    assert ((x @ w + b > 0) == (y == 1)).mean() > 0.97
    a, c = fit_platt(x @ w + b, y)
    assert a > 0 and np.isfinite(c)


@pytest.mark.slow
def test_a_model_fitted_on_synthetic_talkers_ranks_new_fakes_above_new_reals() -> None:
    def vectors(motion, seeds):
        return np.stack([compute_features(*talking_face(motion, seed=s)).as_array() for s in seeds])

    x = np.vstack([vectors(REAL, range(8)), vectors(FAKE, range(8))])
    y = np.r_[np.zeros(8), np.ones(8)]
    mean, scale = standardise(x)
    w, b = fit_logistic((x - mean) / scale, y, l2=1.0)
    model = replace(small_model(), mean=tuple(mean), scale=tuple(scale), weights=tuple(w), bias=b)
    model = replace(model, calibration_a=1.0, calibration_b=0.0)
    real_scores = [model.score(v) for v in vectors(REAL, range(20, 24))]
    fake_scores = [model.score(v) for v in vectors(FAKE, range(20, 24))]
    assert max(real_scores) < 0.5 < min(fake_scores)
