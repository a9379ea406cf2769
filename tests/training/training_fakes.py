"""Fake face detector and face mesh for the face-crop cache and trainer tests."""

from __future__ import annotations

import numpy as np

from deepfake_analyzer.faces.types import FaceDetection

BOX = (20.0, 10.0, 60.0, 60.0)


class FakeDetector:
    """One face at BOX in every image, except images whose top-left pixel is white."""

    def __init__(self) -> None:
        self.calls = 0
        self.closed = False

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        self.calls += 1
        if image_rgb[0, 0].min() == 255:
            return []
        return [FaceDetection(BOX, 0.9, np.zeros((0, 2)))]

    def close(self) -> None:
        self.closed = True


class FakeMesh:
    """Three points: the box's corners and centre, in image pixels."""

    def landmarks(self, image_rgb: np.ndarray, box_xyxy: tuple[float, ...]) -> np.ndarray:
        x0, y0, x1, y1 = box_xyxy
        return np.array([[x0, y0], [x1, y0], [(x0 + x1) / 2, y1]], dtype=np.float32)
