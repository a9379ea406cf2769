"""Fakes for batch tests: a model-free detector and an analyzer factory using them.

A module of its own (not conftest) so test modules and Ray workers import it by one name.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepfake_analyzer.batch.jobs import AnalyzerFactory
from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.options import AnalyzeOptions

FAST_OPTIONS = AnalyzeOptions(fps=2.0, max_frames=4)


class CentreFaceDetector:
    """Finds one 'face' in the middle of every frame: no model, deterministic."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        height, width = image_rgb.shape[:2]
        box = (width * 0.3, height * 0.2, width * 0.7, height * 0.8)
        return [FaceDetection(box, 0.9, np.zeros((0, 2), dtype=np.float32))]

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class FakeAnalyzerFactory(AnalyzerFactory):
    """An `Analyzer` with the fake classifier and the centre detector (picklable for Ray)."""

    def __call__(self):  # type: ignore[override]
        from deepfake_analyzer.models.fake_classifier import FakeClassifier
        from deepfake_analyzer.pipeline import Analyzer

        return Analyzer(self.options, classifier=FakeClassifier(), detector=CentreFaceDetector())
