"""Face verification: every candidate box is confirmed by the face mesh before it is a face.

`VerifiedFaceDetector` wraps any `FaceDetector` (BlazeFace short, full or auto). For each
candidate, most confident first, it runs the face mesh (faces/landmarks.py) on the candidate's
box and keys the decision on the mesh's face-presence probability (`conv2d_31`):

1. **Presence**: a candidate whose presence is below `min_presence` is not a face and is
   dropped (noise, textures, a dark neon sign). BlazeFace alone calls such patterns faces at
   0.5-0.6; the mesh gives them ~1e-4 while real faces get > 0.99 (benchmarks/bench_faces.py).
2. **One box per face, one rule**: the kept face's box is computed from its 468 landmarks
   (`box_from_landmarks`), not taken from whichever model found it. The mapping was fitted so
   that on large, frontal faces it reproduces BlazeFace short range's box (the geometry of most
   crops the classifier was trained on); a face found by both models, or by either, therefore
   gets the same box and the same crop (faces/crop.py).
3. **Duplicates**: a candidate whose landmark box overlaps an already kept face's box by more
   than `same_face_iou` is the same face seen by the other model, and is dropped (the more
   confident candidate's landmarks are kept).

The detection keeps its candidate's confidence and BlazeFace keypoints, and gains
`landmarks_xy` (the mesh points, for temporal models) and `presence`. Faces narrower than
`min_face_px` after the box is recomputed are dropped too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Protocol

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.faces.base import FaceDetector
from deepfake_analyzer.faces.landmarks import FaceLandmarks
from deepfake_analyzer.faces.tracker import box_iou
from deepfake_analyzer.faces.types import FaceDetection

MIN_PRESENCE = 0.5
"""Least face-mesh presence probability of a face. Measured (benchmarks/bench_faces.py): on
300+ face-free images the candidates BlazeFace reports have presence <= 0.02; real faces in
`../shared/data` have >= 0.75 at the 1st percentile and a median of 1.0. Any value in
0.1-0.7 separates them; 0.5 leaves the widest room on both sides."""

SAME_FACE_IOU = 0.5
"""Two verified faces whose landmark boxes overlap more than this are one face."""

LANDMARK_BOX_SCALE = (1.095, 0.939)
"""Box width and height as multiples of the landmarks' extent (x, y)."""

LANDMARK_BOX_SHIFT = (0.0, 0.046)
"""Box centre minus the landmarks' extent centre, as fractions of that extent (x, y).

Scale and shift are the medians of 423 faces of `train_real/` and `wild/images/real/` that
BlazeFace short range boxed with confidence >= 0.8 and a width >= 12 % of the long side
(interquartile ranges 0.09 / 0.06 in scale, 0.03 / 0.04 in shift)."""


class Landmarker(Protocol):
    """What verification needs from a face mesh (faces/landmarks.py's `FaceMesh`)."""

    def run(
        self, image_rgb: np.ndarray, box_xyxy: Sequence[float], keypoints: np.ndarray | None
    ) -> FaceLandmarks: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class VerifyConfig:
    """Rules of `VerifiedFaceDetector` (see the module docstring)."""

    min_presence: float = MIN_PRESENCE
    same_face_iou: float = SAME_FACE_IOU
    min_face_px: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_presence < 1.0:
            raise UsageError(f"face presence threshold must be in [0, 1), got {self.min_presence}")
        if not 0.0 < self.same_face_iou < 1.0:
            raise UsageError(f"same-face IoU must be in (0, 1), got {self.same_face_iou}")
        if self.min_face_px < 0:
            raise UsageError(f"min-face must be >= 0 pixels, got {self.min_face_px}")


class VerifiedFaceDetector:
    """A `FaceDetector` whose faces are all confirmed by the face mesh (module docstring)."""

    def __init__(
        self,
        candidates: FaceDetector,
        mesh: Landmarker,
        config: VerifyConfig | None = None,
    ) -> None:
        self.candidates = candidates
        self.mesh = mesh
        self.config = config or VerifyConfig()
        self.rejected = 0
        """Candidates dropped as not a face so far (for benchmarks and tests)."""
        self.merged = 0
        """Candidates dropped as a duplicate of a kept face so far."""

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        """Every verified face in an (H, W, 3) uint8 RGB image, most confident first."""
        candidates = sorted(self.candidates.detect(image_rgb), key=lambda f: -f.confidence)
        kept: list[FaceDetection] = []
        for candidate in candidates:
            mesh = self.mesh.run(image_rgb, candidate.box_xyxy, candidate.keypoints)
            if mesh.presence < self.config.min_presence:
                self.rejected += 1
                continue
            box = box_from_landmarks(mesh.points)
            if kept and box_iou(np.array([box]), np.array([k.box_xyxy for k in kept])).max() > (
                self.config.same_face_iou
            ):
                self.merged += 1
                continue
            kept.append(
                replace(
                    candidate,
                    box_xyxy=box,
                    landmarks_xy=np.ascontiguousarray(mesh.points, dtype=np.float32),
                    presence=float(mesh.presence),
                )
            )
        return [f for f in kept if f.width >= self.config.min_face_px]

    def close(self) -> None:
        """Close the candidate detector and the mesh."""
        try:
            self.candidates.close()
        finally:
            self.mesh.close()

    def __enter__(self) -> VerifiedFaceDetector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def box_from_landmarks(points_xy: np.ndarray) -> tuple[float, float, float, float]:
    """The face box (x0, y0, x1, y1) of (N, 2) mesh points, in BlazeFace short range's geometry."""
    points = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    if len(points) < 2 or not np.isfinite(points).all():
        raise ValueError("need at least two finite landmark points")
    low, high = points.min(axis=0), points.max(axis=0)
    extent = np.maximum(high - low, 1e-3)
    center = (low + high) / 2.0 + np.array(LANDMARK_BOX_SHIFT) * extent
    half = np.array(LANDMARK_BOX_SCALE) * extent / 2.0
    x0, y0 = center - half
    x1, y1 = center + half
    return (float(x0), float(y0), float(x1), float(y1))
