"""Face verification: every candidate box is confirmed by the face mesh before it is a face.

`VerifiedFaceDetector` wraps any `FaceDetector` (BlazeFace short, full or auto). For each
candidate, most confident first, it runs the face mesh (faces/landmarks.py) on the candidate's
box, then again on the box its landmarks give until that box settles (`SETTLED_IOU`; once for
a BlazeFace box of the usual fit; dim crops are contrast-stretched first). Then:

1. **Presence**: a candidate whose final presence is below `min_presence` is not a face and is
   dropped (noise, textures, a dark neon sign). BlazeFace alone calls such patterns faces at
   0.5-0.6; the mesh gives most of them < 0.15 while real faces get > 0.99
   (benchmarks/bench_faces.py).
   **Second look**: a few patterns fool the mesh too (a ring pattern, a rocket's nose cone:
   presence > 0.99). So BlazeFace short range looks again at the face re-centred at a fixed
   scale (the landmark box's square at 2x, 256 px): a real face then scores >= 0.68, those
   patterns <= 0.55. A candidate below `MIN_SECOND_LOOK` is dropped. Candidates BlazeFace is
   sure of (`SECOND_LOOK_BELOW`) skip it.
2. **One box per face, one rule**: the kept face's box is computed from its 468 landmarks
   (`box_from_landmarks`), not taken from whichever model found it. The mapping was fitted so
   that on large, frontal faces it reproduces BlazeFace short range's box (the geometry of most
   crops the classifier was trained on); a face found by both models, or by either, therefore
   gets the same box and the same crop (faces/crop.py).
3. **Duplicates**: a candidate whose landmark box overlaps an already kept face's box by more
   than `same_face_iou` is the same face seen by the other model, and is dropped (the more
   confident candidate's landmarks are kept).

The detection keeps its candidate's confidence and BlazeFace keypoints, and gains
`landmarks_xy` (the mesh points, for temporal models), `presence`, and `appearance`
(`appearance_descriptor`: the face's colours at its landmarks, which the tracker uses to
re-identify a person after an absence). The detector's `min_face_px` applies to the
candidate's box, as without verification: a face at that limit is not lost because its
landmark box comes out a few pixels narrower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.faces.base import ClosesOnExit, FaceDetector, begin_media
from deepfake_analyzer.faces.landmarks import FaceLandmarks
from deepfake_analyzer.faces.tracker import box_iou
from deepfake_analyzer.faces.types import FaceDetection

MIN_PRESENCE = 0.5
"""Least face-mesh presence probability of a face. Measured (benchmarks/bench_faces.py, 356
face-free images, 2,200 real images and frames of `../shared/data`): 42 of the 44 BlazeFace
candidates on face-free images have presence <= 0.14 (two fool the mesh: see the second
look); real faces have a median of 1.0 and 98 % are above 0.99, the rest being mostly
profile or motion-blurred faces in crowds. Face-free images kept: 6 at 0.05, 2 from 0.3 to
0.9; real frames with a face: 99.7 % from 0.1 to 0.7, 99.6 % at 0.9. 0.5 sits in the middle
of that flat range."""

MIN_SECOND_LOOK = 0.6
"""Least confidence of the second look (see the module docstring). Measured
(benchmarks/bench_faces.py): real faces of `train_real/images` and `wild/images/real` score
>= 0.68 (median 0.92); the face-free candidates with presence above 0.05 (a ring pattern, a
rocket's nose cone, a cat) score <= 0.55, including the two whose mesh presence is > 0.99."""

SECOND_LOOK_BELOW = 0.75
"""The second look runs only for candidates whose BlazeFace confidence is below this: the
face-free candidates that passed the mesh had 0.51 and 0.53, while most real faces have
> 0.8, so a sure face does not pay for it (~1-2 ms a face)."""

SECOND_LOOK_MARGIN = 2.0
SECOND_LOOK_SIZE = 256
SECOND_LOOK_CENTER_TOLERANCE = 40 / 256
"""The second look sees the landmark box's square at 2x, resized to 256 px, and counts a
detection whose centre is within 40 px of the middle."""

SAME_FACE_IOU = 0.5
"""Two verified faces whose landmark boxes overlap more than this are one face."""

SETTLED_IOU = 0.85
"""The mesh is run again on its own landmark box until that box overlaps the box it was run
on by at least this much, at most `MAX_MESH_PASSES` times. A BlazeFace box of the usual fit
settles in one pass; a box 1.5-2x too loose (the mesh then sees a small face and spreads its
points) takes 3-4 passes and ends within IoU 0.95 of where a tight box ends (astronaut)."""

MAX_MESH_PASSES = 4

MAX_DRIFT = 0.5
"""Largest move of a refined box's centre from the candidate's, in candidate widths."""

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
        self,
        image_rgb: np.ndarray,
        box_xyxy: Sequence[float],
        keypoints: np.ndarray | None,
        *,
        normalize_brightness: bool = False,
    ) -> FaceLandmarks: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class VerifyConfig:
    """Rules of `VerifiedFaceDetector` (see the module docstring)."""

    min_presence: float = MIN_PRESENCE
    same_face_iou: float = SAME_FACE_IOU
    normalize_brightness: bool = True
    """Contrast-stretch the mesh's crop (faces/landmarks.py's `stretch_contrast`)."""
    min_second_look: float = MIN_SECOND_LOOK
    second_look_below: float = SECOND_LOOK_BELOW
    """Candidates BlazeFace is at least this sure of skip the second look (1.0: none skip)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_presence < 1.0:
            raise UsageError(f"face presence threshold must be in [0, 1), got {self.min_presence}")
        if not 0.0 <= self.min_second_look < 1.0:
            raise UsageError(f"second-look threshold must be in [0, 1), got {self.min_second_look}")
        if not 0.0 < self.same_face_iou < 1.0:
            raise UsageError(f"same-face IoU must be in (0, 1), got {self.same_face_iou}")


@dataclass(frozen=True)
class ExaminedFace:
    """A candidate after `VerifiedFaceDetector.examine`: its face (landmark box, landmarks,
    presence) and the second look's confidence in [0, 1] (1.0 when there is no second look)."""

    face: FaceDetection
    second_look: float

    def __post_init__(self) -> None:
        if self.face.presence is None or self.face.landmarks_xy is None:
            raise ValueError("an examined face carries its presence and landmarks")
        if not 0.0 <= self.second_look <= 1.0:
            raise ValueError(f"second-look confidence {self.second_look} outside [0, 1]")

    @property
    def landmarks_xy(self) -> np.ndarray:
        """The face's (468, 2) mesh points, never None here (checked on creation)."""
        points = self.face.landmarks_xy
        if points is None:  # unreachable: __post_init__ refuses a face without them
            raise ValueError("an examined face carries its presence and landmarks")
        return points


class VerifiedFaceDetector(ClosesOnExit):
    """A `FaceDetector` whose faces are all confirmed by the face mesh (module docstring).

    `second_look` is a detector (BlazeFace short range, raw, at a low confidence floor) run on
    each face's re-centred square; None skips that check (tests with fakes).
    """

    def __init__(
        self,
        candidates: FaceDetector,
        mesh: Landmarker,
        config: VerifyConfig | None = None,
        second_look: FaceDetector | None = None,
    ) -> None:
        self.candidates = candidates
        self.mesh = mesh
        self.config = config or VerifyConfig()
        self.second_look = second_look
        self.rejected = 0
        """Candidates dropped as not a face so far (for benchmarks and tests)."""
        self.merged = 0
        """Candidates dropped as a duplicate of a kept face so far."""

    def begin_media(self) -> None:
        """A new input starts (passed on to the candidates' detector, `begin_media`)."""
        begin_media(self.candidates)

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        """Every verified face in an (H, W, 3) uint8 RGB image, most confident first."""
        return self.select(image_rgb, self.examine(image_rgb))

    def examine(self, image_rgb: np.ndarray) -> list[ExaminedFace]:
        """Every candidate, most confident first, with its fitted mesh (the landmark box,
        `landmarks_xy`, `presence`) and second look; none dropped yet (`select` does that)."""
        candidates = sorted(self.candidates.detect(image_rgb), key=lambda f: -f.confidence)
        examined = []
        for candidate in candidates:
            mesh, box = self._fit(image_rgb, candidate)
            face = replace(
                candidate,
                box_xyxy=box,
                landmarks_xy=np.ascontiguousarray(mesh.points, dtype=np.float32),
                presence=float(mesh.presence),
            )
            sure = candidate.confidence >= self.config.second_look_below
            look = 1.0 if sure else self._second_look(image_rgb, box)
            examined.append(ExaminedFace(face, look))
        return examined

    def select(
        self,
        image_rgb: np.ndarray,
        examined: list[ExaminedFace],
        min_presence: float | None = None,
        min_second_look: float | None = None,
    ) -> list[FaceDetection]:
        """The faces among `examine`'s candidates: presence and second look, then duplicates.

        The thresholds override the config's (benchmarks sweep them over one `examine`).
        """
        cfg = self.config
        presence_floor = cfg.min_presence if min_presence is None else min_presence
        look_floor = cfg.min_second_look if min_second_look is None else min_second_look
        kept: list[FaceDetection] = []
        for item in examined:
            face = item.face
            if (face.presence or 0.0) < presence_floor or item.second_look < look_floor:
                self.rejected += 1
                continue
            if kept and box_iou(
                np.array([face.box_xyxy]), np.array([k.box_xyxy for k in kept])
            ).max() > (cfg.same_face_iou):
                self.merged += 1
                continue
            look = appearance_descriptor(image_rgb, face.box_xyxy, item.landmarks_xy)
            kept.append(replace(face, appearance=look))
        return kept

    def _second_look(self, image_rgb: np.ndarray, box: Sequence[float]) -> float:
        """Confidence of the second-look detector on the face's re-centred square."""
        if self.second_look is None:
            return 1.0
        from deepfake_analyzer.faces.crop import crop_face

        square = crop_face(image_rgb, box, SECOND_LOOK_MARGIN, SECOND_LOOK_SIZE)
        middle, tolerance = SECOND_LOOK_SIZE / 2.0, SECOND_LOOK_CENTER_TOLERANCE * SECOND_LOOK_SIZE
        return max(
            (
                f.confidence
                for f in self.second_look.detect(square)
                if abs(f.center[0] - middle) <= tolerance and abs(f.center[1] - middle) <= tolerance
            ),
            default=0.0,
        )

    def _fit(
        self, image_rgb: np.ndarray, candidate: FaceDetection
    ) -> tuple[FaceLandmarks, tuple[float, float, float, float]]:
        """The mesh of a candidate and its landmark box, refined until the box settles.

        A refinement pass whose box centre leaves the candidate's centre by more than
        `MAX_DRIFT` candidate widths is not taken: the mesh has slid onto a neighbouring face.
        """
        box, keypoints = candidate.box_xyxy, candidate.keypoints
        limit = MAX_DRIFT * candidate.width
        mesh = self._run(image_rgb, box, keypoints)
        settled = _iou(box_from_landmarks(mesh.points), box) >= SETTLED_IOU
        box = box_from_landmarks(mesh.points)
        for _ in range(MAX_MESH_PASSES - 1):
            if settled:
                break
            new_mesh = self._run(image_rgb, box, eye_keypoints(mesh.points))
            new_box = box_from_landmarks(new_mesh.points)
            if _distance(_center(new_box), candidate.center) > limit:
                break
            settled = _iou(new_box, box) >= SETTLED_IOU
            mesh, box = new_mesh, new_box
        return mesh, box

    def _run(
        self, image_rgb: np.ndarray, box: Sequence[float], keypoints: np.ndarray | None
    ) -> FaceLandmarks:
        return self.mesh.run(
            image_rgb, box, keypoints, normalize_brightness=self.config.normalize_brightness
        )

    def close(self) -> None:
        """Close the candidate detector, the mesh and the second-look detector."""
        try:
            self.candidates.close()
        finally:
            self.mesh.close()
            if self.second_look is not None:
                self.second_look.close()


APPEARANCE_SIZE = 64
"""Side in pixels of the face square whose colours `appearance_descriptor` samples."""


def appearance_descriptor(
    image_rgb: np.ndarray, box_xyxy: Sequence[float], points_xy: np.ndarray
) -> np.ndarray:
    """(468 * 3,) float32 in [0, 1]: CIELAB colours at the mesh points, lightly smoothed.

    The face square (1.2x the box) is cut, resized to `APPEARANCE_SIZE` px (so the descriptor
    does not depend on the face's size), blurred 3x3 and sampled at the landmarks. Measured on
    59 real clips of `wild/videos/real/` at 2 fps: a frame's RMS distance to its own clip's
    mean descriptor is <= 0.044 in 95 % of frames; to another person's clip mean >= 0.052 in
    99 % of pairs (benchmarks/bench_faces.py; `FaceTracker` re-identifies at 0.05). Lighting
    changes it, so it re-identifies within a clip, not across clips.
    """
    import cv2

    from deepfake_analyzer.faces.crop import cut_region, resize_square, square_region

    region = square_region(box_xyxy, 1.2)
    square = resize_square(cut_region(image_rgb, region), APPEARANCE_SIZE)
    lab = cv2.cvtColor(cv2.blur(square, (3, 3)), cv2.COLOR_RGB2LAB)
    scale = APPEARANCE_SIZE / region.side
    local = (np.asarray(points_xy, np.float64) - (region.x0, region.y0)) * scale
    cols = np.clip(np.round(local).astype(np.int64), 0, APPEARANCE_SIZE - 1)
    return (lab[cols[:, 1], cols[:, 0]].astype(np.float32) / 255.0).reshape(-1)


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    return float(box_iou(np.array([a]), np.array([b]))[0, 0])


def _center(box: Sequence[float]) -> tuple[float, float]:
    return ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)


def centre_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """Pixels between the centres of two (x0, y0, x1, y1) boxes."""
    return _distance(_center(a), _center(b))


def _distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))


RIGHT_EYE_POINTS = (33, 133)
LEFT_EYE_POINTS = (362, 263)
"""Mesh points at the corners of the subject's right eye (image left) and left eye."""


def eye_keypoints(points_xy: np.ndarray) -> np.ndarray:
    """(2, 2) float32 eye centres from mesh points, in BlazeFace's keypoint order."""
    points = np.asarray(points_xy, dtype=np.float32)
    return np.stack(
        [points[list(RIGHT_EYE_POINTS)].mean(axis=0), points[list(LEFT_EYE_POINTS)].mean(axis=0)]
    )


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
