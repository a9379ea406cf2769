"""MediaPipe face mesh (468 landmarks) run directly with a TFLite interpreter, plus hull masks.

The legacy `face_landmark.tflite` takes a 192x192 RGB crop scaled to [0, 1] of a square
1.5x the BlazeFace box, turned so the eyes are level when BlazeFace keypoints are given. Its outputs
are `conv2d_21`, 468 (x, y, z) points in the crop's 192-px pixels, and `conv2d_31`, a
face-presence logit. Points are mapped back to the full image's pixels. The interpreter is
`ai_edge_litert` when installed, else `tf.lite` (deprecated there, but equal), imported lazily.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.faces.base import ClosesOnExit
from deepfake_analyzer.faces.crop import cut_region, resize_square, square_region
from deepfake_analyzer.faces.model_files import model_file
from deepfake_analyzer.faces.native_logs import quiet_native_stderr
from deepfake_analyzer.faces.types import MESH_POINT_COUNT
from deepfake_analyzer.media.types import require_rgb_uint8

MESH_INPUT_SIZE = 192
MESH_CROP_MARGIN = 1.5
_POINTS_OUTPUT = "conv2d_21"
_PRESENCE_OUTPUT = "conv2d_31"


@dataclass(frozen=True)
class FaceLandmarks:
    """468 face-mesh points of one face, in the image's pixels.

    `points` is (468, 2) float32 (x, y); `z` is (468,) float32 relative depth in the same
    pixel scale (smaller is nearer the camera); `presence` is the model's probability that
    the crop holds a face, in [0, 1].
    """

    points: np.ndarray
    z: np.ndarray
    presence: float

    def __post_init__(self) -> None:
        if self.points.shape != (MESH_POINT_COUNT, 2):
            raise ValueError(f"expected ({MESH_POINT_COUNT}, 2) points, got {self.points.shape}")
        if self.z.shape != (MESH_POINT_COUNT,):
            raise ValueError(f"expected ({MESH_POINT_COUNT},) depths, got {self.z.shape}")
        if not 0.0 <= self.presence <= 1.0:
            raise ValueError(f"presence {self.presence} outside [0, 1]")


class FaceMesh(ClosesOnExit):
    """Face-mesh runner; reuse one instance for many faces, close it (or use `with`) when done."""

    def __init__(self, model_path: Path | None = None, num_threads: int = 1) -> None:
        path = model_path or model_file("face_landmark.tflite")
        self._interpreter = load_interpreter(path, num_threads)
        inputs = self._interpreter.get_input_details()
        outputs = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        if (
            len(inputs) != 1
            or tuple(inputs[0]["shape"]) != (1, MESH_INPUT_SIZE, MESH_INPUT_SIZE, 3)
            or _POINTS_OUTPUT not in outputs
            or _PRESENCE_OUTPUT not in outputs
        ):
            raise ModelError(
                "not the MediaPipe face_landmark.tflite model (unexpected inputs or outputs); "
                "restore it from git or run `python scripts/extract_mediapipe_models.py`",
                path=path,
            )
        self._input_index = inputs[0]["index"]
        self._points_index = outputs[_POINTS_OUTPUT]
        self._presence_index = outputs[_PRESENCE_OUTPUT]

    def run(
        self,
        image_rgb: np.ndarray,
        box_xyxy: Sequence[float],
        keypoints: np.ndarray | None = None,
        *,
        normalize_brightness: bool = False,
    ) -> FaceLandmarks:
        """Landmarks and presence score of the face in `box_xyxy` (a BlazeFace box).

        With BlazeFace `keypoints` (eyes first), the crop is rotated so the eyes are level, as
        MediaPipe's own pipeline does; that keeps tilted faces accurate. Without them the crop
        is an upright square. With `normalize_brightness`, a dim or flat crop is contrast-
        stretched first (`stretch_contrast`): the mesh then finds dim faces it otherwise misses.
        """
        if self._interpreter is None:
            raise RuntimeError("FaceMesh is closed")
        require_rgb_uint8(image_rgb, "face mesh")
        angle = _eye_angle(keypoints)
        if angle is None:
            region = square_region(box_xyxy, MESH_CROP_MARGIN)
            crop = resize_square(cut_region(image_rgb, region), MESH_INPUT_SIZE)
            to_image = _region_affine(region.x0, region.y0, region.side / MESH_INPUT_SIZE)
        else:
            to_image = _rotated_affine(box_xyxy, angle)
            crop = cv2.warpAffine(
                image_rgb,
                to_image,
                (MESH_INPUT_SIZE, MESH_INPUT_SIZE),
                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=0,
            )
        if normalize_brightness:
            crop = stretch_contrast(crop)
        tensor = (crop.astype(np.float32) / 255.0)[None]
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._points_index).reshape(MESH_POINT_COUNT, 3)
        logit = float(self._interpreter.get_tensor(self._presence_index).reshape(-1)[0])
        points = raw[:, :2].astype(np.float64) @ to_image[:, :2].T + to_image[:, 2]
        scale = float(np.hypot(to_image[0, 0], to_image[1, 0]))
        presence = float(1.0 / (1.0 + np.exp(-np.clip(logit, -60.0, 60.0))))
        return FaceLandmarks(
            points=points.astype(np.float32),
            z=(raw[:, 2] * scale).astype(np.float32),
            presence=presence,
        )

    def landmarks(
        self,
        image_rgb: np.ndarray,
        box_xyxy: Sequence[float],
        keypoints: np.ndarray | None = None,
    ) -> np.ndarray:
        """(468, 2) float32 landmark points in image pixels (see `run` for the presence score)."""
        return self.run(image_rgb, box_xyxy, keypoints).points

    def close(self) -> None:
        """Drop the interpreter; safe to call twice."""
        self._interpreter = None


MAX_STRETCH_GAIN = 4.0
"""Largest contrast gain of `stretch_contrast` (a crop 4x darker than full range)."""


def stretch_contrast(crop_rgb: np.ndarray) -> np.ndarray:
    """A uint8 RGB crop with its 1st-99th luma percentiles stretched to 0-255.

    The gain is capped at `MAX_STRETCH_GAIN`; a crop that already spans the range (a lit face,
    noise) is returned unchanged. Percentiles are taken on every third pixel (fast).
    """
    luma = cv2.cvtColor(crop_rgb, cv2.COLOR_RGB2GRAY)[::3, ::3]
    low, high = (float(v) for v in np.percentile(luma, [1.0, 99.0]))
    gain = min(255.0 / max(high - low, 1.0), MAX_STRETCH_GAIN)
    if gain <= 1.0:
        return crop_rgb
    return cv2.convertScaleAbs(crop_rgb, alpha=gain, beta=-low * gain)


def face_hull_mask(shape: Sequence[int], points: np.ndarray) -> np.ndarray:
    """Float32 (H, W) mask in [0, 1]: 1 inside the convex hull of (N, 2) pixel points.

    `shape` is the image's shape ((H, W) or (H, W, C)). The edge is anti-aliased (sub-pixel
    accurate); soften it further (blur, erode) where a blend needs a soft boundary.
    """
    height, width = int(shape[0]), int(shape[1])
    if height < 1 or width < 1:
        raise ValueError(f"mask shape must be positive, got {tuple(shape)}")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    mask = np.zeros((height, width), dtype=np.uint8)
    if len(pts) < 3 or not np.isfinite(pts).all():
        return mask.astype(np.float32)
    shift = 4
    fixed = np.round(pts * (1 << shift)).astype(np.int32)
    hull = cv2.convexHull(fixed)
    cv2.fillConvexPoly(mask, hull, 255, lineType=cv2.LINE_AA, shift=shift)
    return mask.astype(np.float32) / 255.0


def _eye_angle(keypoints: np.ndarray | None) -> float | None:
    """Angle in radians of the line from BlazeFace's first eye keypoint to its second."""
    if keypoints is None:
        return None
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, 2)
    if len(kp) < 2 or not np.isfinite(kp[:2]).all():
        return None
    dx, dy = kp[1] - kp[0]
    if dx == 0 and dy == 0:
        return None
    return float(np.arctan2(dy, dx))


def _region_affine(x0: float, y0: float, scale: float) -> np.ndarray:
    """2x3 map from crop pixels to image pixels of an upright square crop."""
    return np.array([[scale, 0.0, x0], [0.0, scale, y0]], dtype=np.float64)


def _rotated_affine(box_xyxy: Sequence[float], angle: float) -> np.ndarray:
    """2x3 map from crop pixels to image pixels of a square crop rotated by `angle`.

    The square has side `max(w, h) * MESH_CROP_MARGIN`, is centred on the box and turned so
    that the crop's x axis runs along the eye line.
    """
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    side = max(x1 - x0, y1 - y0) * MESH_CROP_MARGIN
    scale = side / MESH_INPUT_SIZE
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    half = MESH_INPUT_SIZE / 2.0
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    # image = centre + R * scale * (crop - half)
    return np.array(
        [[cos, -sin, cx - cos * half + sin * half], [sin, cos, cy - sin * half - cos * half]],
        dtype=np.float64,
    )


def load_interpreter(path: Path, num_threads: int, preserve_all_tensors: bool = False) -> Any:
    """The mesh's interpreter; with `preserve_all_tensors` its inner layers stay readable after
    `invoke` (models/mesh_probe.py reads them)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError:
            raise ModelError(
                "no TFLite interpreter: run `pip install ai-edge-litert` (or tensorflow-cpu)"
            ) from None
        Interpreter = tf.lite.Interpreter  # noqa: N806
    try:
        with quiet_native_stderr():
            with warnings.catch_warnings():  # LiteRT warns that preserving is for debugging
                warnings.simplefilter("ignore", UserWarning)
                interpreter = Interpreter(
                    model_path=str(path),
                    num_threads=num_threads,
                    experimental_preserve_all_tensors=preserve_all_tensors,
                )
            interpreter.allocate_tensors()
        return interpreter
    except (RuntimeError, ValueError) as exc:
        raise ModelError(
            f"cannot load the face mesh model ({exc}); restore it from git or run "
            "`python scripts/extract_mediapipe_models.py`",
            path=path,
        ) from None
