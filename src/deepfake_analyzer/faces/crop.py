"""Square face crops: the one crop function that training and inference both call.

Geometry: a square of side `max(w, h) * margin` centred on the face box's centre, rounded
to whole pixels (side first, then the top-left corner), so the same box always gives the
same pixels. Parts of the square outside the image are padded with black (constant 0), which
keeps the face centred and at the same scale even at the image border. The square is then
resized to `size` x `size` with `cv2.INTER_AREA` when shrinking and `cv2.INTER_LINEAR` when
enlarging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.media.types import require_rgb_uint8

PAD_VALUE = 0
"""Value of padded pixels outside the image (black)."""


@dataclass(frozen=True)
class SquareRegion:
    """A whole-pixel square in image coordinates: columns x0..x0+side-1, rows y0..y0+side-1.

    `x0`/`y0` may be negative and the square may extend past the image: those pixels are padding.
    """

    x0: int
    y0: int
    side: int

    def __post_init__(self) -> None:
        if self.side < 1:
            raise ValueError(f"square side must be at least 1 pixel, got {self.side}")

    def to_image(self, points_px: np.ndarray, size: int) -> np.ndarray:
        """Map (N, 2) points from a `size` x `size` resized crop back to image pixels."""
        points = np.asarray(points_px, dtype=np.float64)
        scale = self.side / float(size)
        return points * scale + np.array([self.x0, self.y0], dtype=np.float64)


def square_region(box_xyxy: Sequence[float], margin: float) -> SquareRegion:
    """The whole-pixel square that `crop_face` cuts for a face box and margin."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"empty face box {tuple(box_xyxy)}")
    if not (np.isfinite([x0, y0, x1, y1]).all()):
        raise ValueError(f"face box has non-finite values {tuple(box_xyxy)}")
    if margin <= 0:
        raise ValueError(f"crop margin must be positive, got {margin}")
    side = max(1, int(round(max(x1 - x0, y1 - y0) * margin)))
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return SquareRegion(
        x0=int(np.floor(cx - side / 2.0 + 0.5)),
        y0=int(np.floor(cy - side / 2.0 + 0.5)),
        side=side,
    )


def cut_region(image: np.ndarray, region: SquareRegion) -> np.ndarray:
    """The region's pixels at full resolution, (side, side, C), padded with `PAD_VALUE`."""
    _check_image(image)
    height, width = image.shape[:2]
    out = np.full((region.side, region.side) + image.shape[2:], PAD_VALUE, dtype=image.dtype)
    sx0, sy0 = max(region.x0, 0), max(region.y0, 0)
    sx1, sy1 = min(region.x0 + region.side, width), min(region.y0 + region.side, height)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - region.y0 : sy1 - region.y0, sx0 - region.x0 : sx1 - region.x0] = image[
            sy0:sy1, sx0:sx1
        ]
    return out


def resize_square(square: np.ndarray, size: int) -> np.ndarray:
    """Resize a square crop to `size` x `size`: INTER_AREA to shrink, INTER_LINEAR to enlarge."""
    side = square.shape[0]
    if side == size:
        return np.ascontiguousarray(square)
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)


def crop_face(
    image_rgb: np.ndarray, box_xyxy: Sequence[float], margin: float, size: int
) -> np.ndarray:
    """A (size, size, 3) uint8 crop of the face box, scaled by `margin` (see module docstring)."""
    if size < 1:
        raise ValueError(f"crop size must be at least 1 pixel, got {size}")
    pixels = require_rgb_uint8(image_rgb, "crop_face")
    return resize_square(cut_region(pixels, square_region(box_xyxy, margin)), size)


def crop_faces(
    image_rgb: np.ndarray, detections: Sequence[FaceDetection], margin: float, size: int
) -> np.ndarray:
    """Crops of every detection, stacked as (N, size, size, 3) uint8; N may be 0."""
    if not detections:
        return np.zeros((0, size, size, 3), dtype=np.uint8)
    return np.stack([crop_face(image_rgb, d.box_xyxy, margin, size) for d in detections])


def _check_image(image: np.ndarray) -> None:
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {image.shape}")
