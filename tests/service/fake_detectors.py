"""A fake face detector for the service tests: one centred face per frame, after a delay.

Imported by the server's worker processes through `--detector-factory`, so a test can keep
a job running (or queued behind one) long enough to kill the server mid-job.
"""

from __future__ import annotations

import time

import numpy as np

from deepfake_analyzer.faces.types import FaceDetection

DELAY_S = 0.4


class SlowCentreDetector:
    """Reports one face in the middle half of every frame, `DELAY_S` seconds per frame."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        time.sleep(DELAY_S)
        height, width = image_rgb.shape[:2]
        box = (width * 0.25, height * 0.25, width * 0.75, height * 0.75)
        return [FaceDetection(box_xyxy=box, confidence=0.9, keypoints=np.zeros((0, 2)))]

    def close(self) -> None:
        return None


def make() -> SlowCentreDetector:
    return SlowCentreDetector()
