"""Deterministic stand-ins for the detector and a synthetic two-person clip for pipeline tests.

`SquareFaceDetector` "detects" bright squares on a dark background; `two_square_frames` draws a
dim square (a real face, to `FakeClassifier`'s mean-brightness score) and a bright one (a fake
face) drifting across the frame, with the bright one missing for two frames (a missed
detection the tracker must bridge).
"""

from __future__ import annotations

import numpy as np

from deepfake_analyzer.faces.types import FaceDetection

FRAME_SIZE = (160, 120)
CLIP_FRAMES = 20
CLIP_FPS = 10.0
DIM_LEVEL = 90
BRIGHT_LEVEL = 230
MISSING_BRIGHT_FRAMES = (8, 9)


class SquareFaceDetector:
    """Finds axis-aligned squares brighter than `threshold`, largest first."""

    def __init__(self, threshold: int = 60, min_side: int = 8) -> None:
        self.threshold = threshold
        self.min_side = min_side
        self.closed = False

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        import cv2

        mask = (image_rgb.mean(axis=2) > self.threshold).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        faces = []
        for x, y, w, h, _area in stats[1:count]:
            if min(w, h) < self.min_side:
                continue
            faces.append(
                FaceDetection(
                    box_xyxy=(float(x), float(y), float(x + w), float(y + h)),
                    confidence=0.9,
                    keypoints=np.zeros((0, 2), dtype=np.float32),
                )
            )
        return sorted(faces, key=lambda f: f.box_xyxy[0])

    def close(self) -> None:
        self.closed = True


def two_square_frames() -> list[np.ndarray]:
    """`CLIP_FRAMES` RGB frames with a dim square (left) and a bright square (right)."""
    width, height = FRAME_SIZE
    frames = []
    for i in range(CLIP_FRAMES):
        frame = np.full((height, width, 3), 10, dtype=np.uint8)
        frame[30:70, 10 + i : 50 + i] = DIM_LEVEL
        if i not in MISSING_BRIGHT_FRAMES:
            frame[40:80, 100 - i : 140 - i] = BRIGHT_LEVEL
        frames.append(frame)
    return frames
