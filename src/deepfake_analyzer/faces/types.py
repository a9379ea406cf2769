"""Face detections, crops and tracks that cross the faces boundary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MESH_POINT_COUNT = 468
"""Points of the MediaPipe face mesh (faces/landmarks.py)."""


@dataclass(frozen=True)
class FaceDetection:
    """One face in one frame, in the frame's pixel coordinates.

    `box_xyxy` is (x0, y0, x1, y1) in pixels, x1 > x0 and y1 > y0; `confidence` in [0, 1];
    `keypoints` is a (K, 2) float array in pixels (BlazeFace gives 6: eyes, nose, mouth, ears),
    possibly empty. A face confirmed by the face mesh (faces/verify.py) also carries
    `landmarks_xy`, its (468, 2) float32 mesh points in pixels, and `presence`, the mesh's
    probability in [0, 1] that the box holds a face, and `appearance`, a float32 vector that
    tells faces apart for re-identification (faces/verify.py's `appearance_descriptor`); all
    three are None on unverified detections.
    """

    box_xyxy: tuple[float, float, float, float]
    confidence: float
    keypoints: np.ndarray
    landmarks_xy: np.ndarray | None = None
    presence: float | None = None
    appearance: np.ndarray | None = None

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box_xyxy
        if not (x1 > x0 and y1 > y0):
            raise ValueError(f"empty face box {self.box_xyxy}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} outside [0, 1]")
        if self.landmarks_xy is not None:
            points = self.landmarks_xy
            if points.shape != (MESH_POINT_COUNT, 2) or points.dtype != np.float32:
                raise ValueError(
                    f"landmarks_xy must be ({MESH_POINT_COUNT}, 2) float32, "
                    f"got {points.shape} {points.dtype}"
                )
            if not np.isfinite(points).all():
                raise ValueError("landmarks_xy has non-finite values")
        if self.presence is not None and not 0.0 <= self.presence <= 1.0:
            raise ValueError(f"presence {self.presence} outside [0, 1]")
        if self.appearance is not None and (
            self.appearance.ndim != 1 or not np.isfinite(self.appearance).all()
        ):
            raise ValueError("appearance must be a finite 1-D vector")

    @property
    def width(self) -> float:
        return self.box_xyxy[2] - self.box_xyxy[0]

    @property
    def height(self) -> float:
        return self.box_xyxy[3] - self.box_xyxy[1]

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box_xyxy
        return ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
