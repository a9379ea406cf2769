"""The detect-stage interface: a face detector finds every face in an RGB image."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from deepfake_analyzer.faces.types import FaceDetection


class FaceDetector(Protocol):
    """`detect` is the one required method; `close` frees native resources."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]: ...

    def close(self) -> None: ...
