"""BlazeFace face detection through the MediaPipe Tasks `FaceDetector`, behind a small registry.

`create_detector("short" | "full" | "auto", ...)` returns a `FaceDetector` (faces/base.py).
By default its candidates are confirmed by the face mesh (faces/verify.py): non-faces are
dropped, each face gets one box computed from its landmarks, whichever model found it, and
carries its 468 landmarks; `verify=False` gives BlazeFace's raw candidates.
Frames whose long side is above `max_side` are shrunk by a whole factor before detection,
and boxes and keypoints are mapped back to the full-resolution frame's pixels. Boxes are not
clipped: a face cut by the frame edge may have a box that reaches outside it (crops pad that).
MediaPipe is imported lazily, when a detector is created.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepfake_analyzer.errors import ModelError, UsageError
from deepfake_analyzer.faces.base import ClosesOnExit, FaceDetector
from deepfake_analyzer.faces.model_files import model_file
from deepfake_analyzer.faces.native_logs import quiet_native_stderr
from deepfake_analyzer.faces.tracker import box_iou
from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.media.types import require_rgb_uint8
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.registry import add_entry, unknown_name

DETECT_MAX_SIDE = 1280
"""Frames whose long side is larger are shrunk (by a whole factor) to at most this."""

SMALL_FACE_FRACTION = 0.12
"""In "auto" mode, full range also runs unless short range finds a face at least this wide,
as a fraction of the frame's long side (BlazeFace letterboxes the long side into its input),
with at least `SURE_FACE_CONFIDENCE`."""

SURE_FACE_CONFIDENCE = 0.8
"""Below this, short range's boxes of mid-sized faces are often loose (measured on 720p and
480p frames: faces under ~14 % of the long side get boxes 1.2-1.5x too wide at 0.5-0.75)."""

CROWD_PROBE_EVERY = 8
"""In "auto" mode, on a frame where short range found a large, sure face (so full range would
be skipped), full range still runs on the first frame of each input (`begin_media`) and every
this many frames after: short range misses smaller faces beside a large one (measured on 2x2
grids of held-out clips: 34 of 201 faces found in a tile alone were missed, 13 with probes).
When full range finds a face short range did not, it runs on every frame of that input from
then on."""

MERGE_IOU = 0.3
"""Boxes from the two models that overlap more than this are the same face (keep the surer)."""

SHORT_RANGE_FILE = "face_detection_short_range.tflite"
FULL_RANGE_FILE = "face_detection_full_range_sparse.tflite"
MESH_FILE = "face_landmark.tflite"
SECOND_LOOK_FLOOR = 0.05
"""The second-look detector reports detections down to this confidence (faces/verify.py)."""


@dataclass(frozen=True)
class DetectorConfig:
    """What every detector factory receives."""

    min_confidence: float = AnalyzeOptions.min_confidence
    min_face_px: float = AnalyzeOptions.min_face
    max_side: int = DETECT_MAX_SIDE
    models_dir: Path | None = None
    verify: bool = True
    """Confirm candidates with the face mesh (faces/verify.py)."""
    crowd_probe_every: int | None = CROWD_PROBE_EVERY
    """The auto detector's probes (`CROWD_PROBE_EVERY`); None: never (training's crop cache
    was cut without them)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.min_confidence <= 1.0:
            raise UsageError(f"min_confidence must be in (0, 1], got {self.min_confidence}")
        if self.min_face_px < 0:
            raise UsageError(f"min_face_px must be >= 0 pixels, got {self.min_face_px}")
        if self.max_side < 64:
            raise UsageError(f"detection max side must be >= 64 pixels, got {self.max_side}")
        if self.crowd_probe_every is not None and self.crowd_probe_every < 1:
            raise UsageError(f"crowd probes need a period >= 1, got {self.crowd_probe_every}")


DetectorFactory = Callable[[DetectorConfig], FaceDetector]
_REGISTRY: dict[str, DetectorFactory] = {}


def register_detector(name: str) -> Callable[[DetectorFactory], DetectorFactory]:
    """Decorator: make a factory available to `create_detector(name)`."""

    def add(factory: DetectorFactory) -> DetectorFactory:
        add_entry(_REGISTRY, "face detector", name, factory)
        return factory

    return add


def list_detectors() -> list[str]:
    """Names accepted by `create_detector`."""
    return sorted(_REGISTRY)


def create_detector(
    kind: str = AnalyzeOptions.detector,
    min_confidence: float = AnalyzeOptions.min_confidence,
    min_face_px: float = AnalyzeOptions.min_face,
    *,
    max_side: int = DETECT_MAX_SIDE,
    models_dir: Path | None = None,
    verify: bool = True,
    crowd_probe_every: int | None = CROWD_PROBE_EVERY,
) -> FaceDetector:
    """A ready face detector; close it (or use `with`) when done.

    With `verify` (the default) every face is confirmed by the face mesh and carries its
    landmarks (faces/verify.py); without it, BlazeFace's raw candidates are returned.
    """
    factory = _REGISTRY.get(kind)
    if factory is None:
        raise UsageError(unknown_name("face detector", kind, _REGISTRY))
    config = DetectorConfig(
        min_confidence, min_face_px, max_side, models_dir, verify, crowd_probe_every
    )
    if not verify:
        return factory(config)
    from deepfake_analyzer.faces.landmarks import FaceMesh
    from deepfake_analyzer.faces.verify import VerifiedFaceDetector, VerifyConfig

    mesh = FaceMesh(model_file(MESH_FILE, models_dir))
    opened: list[FaceDetector] = []
    try:
        opened.append(factory(config))
        # The second look keeps every detection (its own threshold is VerifyConfig's).
        look_config = DetectorConfig(SECOND_LOOK_FLOOR, 0.0, max_side, models_dir, verify=False)
        opened.append(_short_range(look_config))
    except BaseException:
        mesh.close()
        for detector in opened:
            detector.close()
        raise
    return VerifiedFaceDetector(opened[0], mesh, VerifyConfig(), second_look=opened[1])


class MediaPipeFaceDetector(ClosesOnExit):
    """One BlazeFace model run by MediaPipe Tasks in IMAGE mode (each frame on its own)."""

    def __init__(self, model_path: Path, config: DetectorConfig, name: str) -> None:
        self.name = name
        self.config = config
        self._mp, self._detector = _load_mediapipe_detector(model_path, config.min_confidence)
        self._finalizer = weakref.finalize(self, _close_quietly, self._detector)
        self._first_call = True

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        """Every face in an (H, W, 3) uint8 RGB image, in that image's pixels."""
        if not self._finalizer.alive:
            raise RuntimeError(f"{self.name} face detector is closed")
        require_rgb_uint8(image_rgb, "face detection")
        height, width = image_rgb.shape[:2]
        small, factor = downscale_for_detection(image_rgb, self.config.max_side)
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=small)
        if self._first_call:  # the first call logs a native memory-alignment warning
            self._first_call = False
            with quiet_native_stderr():
                result = self._detector.detect(mp_image)
        else:
            result = self._detector.detect(mp_image)
        faces = []
        for detection in result.detections:
            box = detection.bounding_box
            score = float(detection.categories[0].score) if detection.categories else 0.0
            x0 = box.origin_x * factor
            y0 = box.origin_y * factor
            x1 = (box.origin_x + box.width) * factor
            y1 = (box.origin_y + box.height) * factor
            keypoints = np.array(
                [
                    (kp.x * small.shape[1] * factor, kp.y * small.shape[0] * factor)
                    for kp in detection.keypoints or []
                ],
                dtype=np.float32,
            ).reshape(-1, 2)
            if x1 <= x0 or y1 <= y0:
                continue
            faces.append(
                FaceDetection(
                    (float(x0), float(y0), float(x1), float(y1)),
                    min(max(score, 0.0), 1.0),
                    keypoints,
                )
            )
        return filter_faces(faces, self.config.min_confidence, self.config.min_face_px)

    def close(self) -> None:
        """Free the native detector; safe to call twice."""
        self._finalizer()


class AutoFaceDetector(ClosesOnExit):
    """Short range first; full range too unless short range finds a large, sure face.

    Both models' faces are merged with non-maximum suppression (the more confident box of
    two overlapping ones wins). A frame with a large, sure face is settled by short range
    alone, except on probe frames (`CROWD_PROBE_EVERY`, counted from `begin_media`), where
    full range looks for faces short range missed and adds them, leaving short range's boxes
    as they were. An input where a probe found one runs full range on every later frame.
    """

    def __init__(
        self,
        short: FaceDetector,
        full: FaceDetector,
        small_face_fraction: float = SMALL_FACE_FRACTION,
        sure_confidence: float = SURE_FACE_CONFIDENCE,
        probe_every: int | None = CROWD_PROBE_EVERY,
    ) -> None:
        self.short = short
        self.full = full
        self.small_face_fraction = small_face_fraction
        self.sure_confidence = sure_confidence
        self.probe_every = probe_every
        self.full_range_runs = 0
        """How many frames needed the full-range model (for reports and tests)."""
        self._until_probe = 0
        self._crowd = False
        """A probe of this input found a face short range missed: full range on every frame."""

    def begin_media(self) -> None:
        """A new input starts: its first large-face frame is probed, and no crowd is known."""
        self._until_probe = 0
        self._crowd = False

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        """Every face in an (H, W, 3) uint8 RGB image, in that image's pixels."""
        faces = self.short.detect(image_rgb)
        min_large = self.small_face_fraction * max(image_rgb.shape[:2])
        settled = any(f.width >= min_large and f.confidence >= self.sure_confidence for f in faces)
        if settled and not self._crowd:
            if self.probe_every is None:
                return faces
            probe = self._until_probe == 0
            self._until_probe = (self._until_probe - 1) % self.probe_every
            if not probe:
                return faces
            self.full_range_runs += 1
            missed = unmatched(self.full.detect(image_rgb), faces)
            self._crowd = bool(missed)
            return sorted([*faces, *missed], key=lambda f: -f.confidence)
        self.full_range_runs += 1
        return merge_detections(faces, self.full.detect(image_rgb))

    def close(self) -> None:
        """Close both models."""
        self.short.close()
        self.full.close()


@register_detector("short")
def _short_range(config: DetectorConfig) -> FaceDetector:
    return MediaPipeFaceDetector(
        model_file(SHORT_RANGE_FILE, config.models_dir), config, "short-range"
    )


@register_detector("full")
def _full_range(config: DetectorConfig) -> FaceDetector:
    return MediaPipeFaceDetector(
        model_file(FULL_RANGE_FILE, config.models_dir), config, "full-range"
    )


@register_detector("auto")
def _auto(config: DetectorConfig) -> FaceDetector:
    short = _short_range(config)
    try:
        full = _full_range(config)
    except BaseException:
        short.close()
        raise
    return AutoFaceDetector(short, full, probe_every=config.crowd_probe_every)


def filter_faces(
    faces: Sequence[FaceDetection], min_confidence: float, min_face_px: float
) -> list[FaceDetection]:
    """Faces at least `min_face_px` wide and `min_confidence` sure, most confident first."""
    kept = [f for f in faces if f.confidence >= min_confidence and f.width >= min_face_px]
    return sorted(kept, key=lambda f: -f.confidence)


def merge_detections(
    first: Sequence[FaceDetection], second: Sequence[FaceDetection], iou: float = MERGE_IOU
) -> list[FaceDetection]:
    """Union of two detection lists with non-maximum suppression, most confident first."""
    faces = sorted([*first, *second], key=lambda f: -f.confidence)
    kept: list[FaceDetection] = []
    for face in faces:
        if (
            kept
            and box_iou(np.array([face.box_xyxy]), np.array([k.box_xyxy for k in kept])).max() > iou
        ):
            continue
        kept.append(face)
    return kept


def unmatched(
    faces: Sequence[FaceDetection], known: Sequence[FaceDetection], iou: float = MERGE_IOU
) -> list[FaceDetection]:
    """The faces of `faces` that overlap none of `known` by more than `iou`."""
    if not known:
        return list(faces)
    boxes = np.array([k.box_xyxy for k in known])
    return [f for f in faces if box_iou(np.array([f.box_xyxy]), boxes).max() <= iou]


def downscale_for_detection(image_rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, int]:
    """The image shrunk by the smallest whole factor that brings its long side to `max_side`.

    Returns the C-contiguous image and the factor (1: unchanged). A whole factor keeps
    OpenCV's INTER_AREA on its fast path (a 1080p frame shrinks in ~1 ms instead of ~12 ms
    for 1920 -> 1280); the last `factor - 1` rows or columns may be dropped to make the
    sizes divide evenly. BlazeFace resizes to its 128 or 192 px input anyway.
    """
    height, width = image_rgb.shape[:2]
    factor = -(-max(height, width) // max_side)
    if factor <= 1:
        return np.ascontiguousarray(image_rgb), 1
    small_h, small_w = max(1, height // factor), max(1, width // factor)
    even = image_rgb[: small_h * factor, : small_w * factor]
    return cv2.resize(even, (small_w, small_h), interpolation=cv2.INTER_AREA), factor


def _close_quietly(detector: Any) -> None:
    """Close a MediaPipe task; at interpreter exit its executor may be gone already."""
    try:
        with quiet_native_stderr():
            detector.close()
    except (RuntimeError, TypeError):
        # Shutting down: the native side is freed with the process. Drop the handle so
        # MediaPipe's own __del__ does not try (and print a traceback) again.
        if hasattr(detector, "_handle"):
            detector._handle = None


def _import_mediapipe_without_tensorflow() -> None:
    """Import MediaPipe's Tasks API without the TensorFlow import it makes as a side effect.

    `import mediapipe` imports TensorFlow when it is installed (~2 s, ~0.5 GB) though the
    detector never uses it. TensorFlow is hidden only while MediaPipe imports, so a Keras
    classifier can still import it later in the same process.
    """
    hidden = "tensorflow" not in sys.modules
    if hidden:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
    try:
        import mediapipe  # noqa: F401
        from mediapipe.tasks.python import vision  # noqa: F401
        from mediapipe.tasks.python.core import base_options  # noqa: F401
    finally:
        if hidden and "tensorflow" in sys.modules and sys.modules.get("tensorflow") is None:
            del sys.modules["tensorflow"]


def _load_mediapipe_detector(model_path: Path, min_confidence: float) -> tuple[Any, Any]:
    try:
        with quiet_native_stderr():
            _import_mediapipe_without_tensorflow()
            import mediapipe as mp
            from mediapipe.tasks.python import vision
            from mediapipe.tasks.python.core.base_options import BaseOptions
    except ImportError as exc:
        raise ModelError(
            f"MediaPipe is not installed ({exc}); run `pip install mediapipe==1.2.3`"
        ) from None
    options = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(model_path)),
        running_mode=vision.RunningMode.IMAGE,
        min_detection_confidence=min_confidence,
    )
    try:
        with quiet_native_stderr():
            detector = vision.FaceDetector.create_from_options(options)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(
            f"cannot load the face detector model ({exc}); restore it from git or run "
            "`python scripts/extract_mediapipe_models.py`",
            path=model_path,
        ) from None
    return mp, detector
