"""Fakes the service tests plug into workers through `--detector-factory` / `--classifier-factory`.

They need neither MediaPipe nor TensorFlow, so a server using them starts in about a second.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.models.fake_classifier import FakeClassifier

LOAD_LOG_ENV = "DEEPFAKE_ANALYZER_TEST_LOAD_LOG"
"""Where `counting_classifier` appends a line per model load (set by the test)."""

SLOW_DELAY_S = 0.4


class CentreDetector:
    """Reports one face in the middle half of every frame, after `delay_s` seconds."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        time.sleep(self.delay_s)
        height, width = image_rgb.shape[:2]
        box = (width * 0.25, height * 0.25, width * 0.75, height * 0.75)
        return [FaceDetection(box_xyxy=box, confidence=0.9, keypoints=np.zeros((0, 2)))]

    def close(self) -> None:
        return None


class CrashingDetector(CentreDetector):
    """Kills its worker process on the first frame (as a native crash would)."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        os._exit(70)


def slow() -> CentreDetector:
    return CentreDetector(SLOW_DELAY_S)


def fast() -> CentreDetector:
    return CentreDetector()


def crashing() -> CrashingDetector:
    return CrashingDetector()


def dying_on_load() -> CentreDetector:
    """Kills the worker while it loads its models (as a native crash in a model load would)."""
    os._exit(71)


def counting_classifier() -> FakeClassifier:
    """The fake classifier, logging each load (one line per call, with the process id)."""
    with Path(os.environ[LOAD_LOG_ENV]).open("a") as log:
        log.write(f"{os.getpid()}\n")
    return FakeClassifier()


class RaisingDetector(CentreDetector):
    """Raises a plain Python exception on every frame (a bug, not a bad input)."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        raise RuntimeError("detector exploded on purpose")


def raising() -> RaisingDetector:
    return RaisingDetector()


class MemoryHogDetector(CentreDetector):
    """Takes 400 MB on the first frame and holds it for a minute (a decoder gone wild)."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        hog = np.ones(400 * 1024 * 1024, dtype=np.uint8)  # touched: really resident
        time.sleep(60)
        return super().detect(image_rgb[: int(hog[0])])


def memory_hog() -> MemoryHogDetector:
    return MemoryHogDetector()
