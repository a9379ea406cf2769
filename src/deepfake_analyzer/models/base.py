"""The classify-stage interface: a classifier scores face crops prepared per its spec."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from deepfake_analyzer.models.spec import ModelSpec


class Classifier(Protocol):
    """`predict` is the one required method.

    It takes (N, S, S, 3) uint8 RGB crops with S = `spec.input_size` and returns (N,) raw
    float probabilities that each face is manipulated. Calibration (`spec.calibration`) is
    applied by the caller, so every classifier stays comparable.
    """

    spec: ModelSpec
    sha256: str

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray: ...
