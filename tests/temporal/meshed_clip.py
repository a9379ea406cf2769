"""A synthetic one-face clip whose frames carry their number, and a fake detector whose square
faces carry the synthetic talking-face mesh of that frame (temporal evidence without models)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import media_factory as mf
import numpy as np
from pipeline_fakes import SquareFaceDetector
from temporal_synth import REAL, talking_face

FPS = 25.0
SECONDS = 3


def frame_number(image: np.ndarray) -> int:
    """The frame number `write_one_face_clip` writes in each frame's corner."""
    return int(round(float(image[:8, :8].mean()) / 3.0))


def mesh_at(index: int) -> np.ndarray:
    """A synthetic talking face's mesh at frame `index`."""
    points, _ = talking_face(REAL, times_s=np.array([index / FPS]))
    return points[0, :, :2].astype(np.float32)


class MeshedSquares(SquareFaceDetector):
    """Square faces that carry the synthetic mesh of the frame's number (no mesh to follow)."""

    def __init__(self) -> None:
        super().__init__(threshold=230)

    def detect(self, image_rgb: np.ndarray):
        mesh = mesh_at(frame_number(image_rgb))
        return [
            replace(face, landmarks_xy=mesh, presence=0.99) for face in super().detect(image_rgb)
        ]


def write_one_face_clip(path: Path) -> Path:
    """3 s at 25 fps: one bright square drifting right, the frame number in the corner."""
    frames = []
    for i in range(int(SECONDS * FPS)):
        frame = np.full((96, 128, 3), 10, np.uint8)
        frame[:8, :8] = 3 * i  # the frame number, below the detector's threshold
        frame[30:70, 40 + i // 8 : 80 + i // 8] = 250
        frames.append(frame)
    return mf.make_video_from_frames(path, frames, fps=FPS, codec="ffv1")
