"""A deterministic classifier for tests and golden reports: no TensorFlow, same contract."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from deepfake_analyzer.models.keras_classifier import resize_crops, validate_crops
from deepfake_analyzer.models.spec import ModelSpec

ScoreFn = Callable[[np.ndarray], float]
"""One (S, S, 3) uint8 crop -> a probability in [0, 1]."""

FAKE_SPEC = ModelSpec(name="fake-classifier", input_size=64, architecture="fake")


def mean_brightness(crop_rgb_uint8: np.ndarray) -> float:
    """The crop's mean pixel value scaled to [0, 1]: brighter crops look 'more fake'."""
    return float(np.mean(crop_rgb_uint8, dtype=np.float64) / 255.0)


class FakeClassifier:
    """Scores each crop with `score_fn` (default: mean brightness); repeatable bit for bit.

    Crops of another size are resized to `spec.input_size` first, as a real classifier does,
    so scores depend only on the crop's content. `sha256` is derived from the spec's name.
    """

    def __init__(self, spec: ModelSpec = FAKE_SPEC, score_fn: ScoreFn = mean_brightness) -> None:
        self.spec = spec
        self.score_fn = score_fn
        self.sha256 = hashlib.sha256(f"fake-classifier:{spec.name}".encode()).hexdigest()
        self.calls = 0

    @property
    def name(self) -> str:
        return self.spec.name

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        crops = validate_crops(crops_rgb_uint8)
        self.calls += 1
        if len(crops) == 0:
            return np.zeros((0,), dtype=np.float32)
        crops = resize_crops(crops, self.spec.input_size)
        scores = np.array([self.score_fn(crop) for crop in crops], dtype=np.float32)
        if not np.all((scores >= 0.0) & (scores <= 1.0)):
            raise ValueError("score_fn must return probabilities in [0, 1]")
        return scores
