"""Tests for the deterministic fake classifier and the TensorFlow-free imports of models/."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from deepfake_analyzer.models.base import Classifier
from deepfake_analyzer.models.fake_classifier import FAKE_SPEC, FakeClassifier, mean_brightness
from deepfake_analyzer.models.spec import ModelSpec


def test_scores_are_mean_brightness_and_repeatable():
    crops = np.stack([np.full((64, 64, 3), v, np.uint8) for v in (0, 51, 255)])
    classifier = FakeClassifier()
    scores = classifier.predict(crops)
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, [0.0, 0.2, 1.0], atol=1e-6)
    np.testing.assert_array_equal(scores, FakeClassifier().predict(crops))
    assert classifier.predict(crops[:0]).shape == (0,)


def test_satisfies_the_classifier_protocol():
    classifier: Classifier = FakeClassifier(ModelSpec(name="golden", input_size=32))
    assert classifier.spec.input_size == 32
    assert len(classifier.sha256) == 64
    assert classifier.sha256 != FakeClassifier(FAKE_SPEC).sha256
    assert FakeClassifier().name == "fake-classifier"


def test_custom_score_function_and_resizing():
    seen_shapes = []

    def left_half_brightness(crop):
        seen_shapes.append(crop.shape)
        return mean_brightness(crop[:, : crop.shape[1] // 2])

    crop = np.zeros((100, 100, 3), np.uint8)
    crop[:, :50] = 255
    classifier = FakeClassifier(ModelSpec(name="half", input_size=40), left_half_brightness)
    assert classifier.predict(crop[None])[0] == pytest.approx(1.0)
    assert seen_shapes == [(40, 40, 3)]


@pytest.mark.parametrize(
    ("crops", "match"),
    [
        (np.zeros((64, 64, 3), np.uint8), "shape"),
        (np.zeros((1, 64, 64, 4), np.uint8), "shape"),
        (np.zeros((1, 64, 64, 3), np.float32), "uint8"),
    ],
)
def test_bad_crops_are_refused(crops, match):
    with pytest.raises(ValueError, match=match):
        FakeClassifier().predict(crops)


def test_score_outside_unit_interval_is_refused():
    with pytest.raises(ValueError, match="probabilities"):
        FakeClassifier(score_fn=lambda crop: 2.0).predict(np.zeros((1, 64, 64, 3), np.uint8))


@pytest.mark.slow
def test_models_package_imports_without_tensorflow():
    code = (
        "import sys\n"
        "import deepfake_analyzer.models.loader, deepfake_analyzer.models.fake_classifier\n"
        "import deepfake_analyzer.models.xception, deepfake_analyzer.models.registry\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
