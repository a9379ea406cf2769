"""Framing stability: how much a face's score moves when its detector box is scaled or shifted.

Two face detectors (or one detector on two frames) rarely draw the same box around a face.
A detector that is trustworthy gives the face nearly the same score whichever box it gets. For
each face we score the crops of `FRAMINGS`: the box scaled 1.0-1.4x about its centre, and the
box shifted by 10 % of its side left, right, up and down; the face's spread is the standard
deviation of its calibrated scores over those crops (target: <= 0.05).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepfake_analyzer.faces.crop import crop_face
from deepfake_analyzer.models import views
from deepfake_analyzer.models.base import Classifier

SCALES = (1.0, 1.1, 1.2, 1.3, 1.4)
SHIFT = 0.1
FRAMINGS: tuple[tuple[float, float, float], ...] = tuple((s, 0.0, 0.0) for s in SCALES) + (
    (1.0, -SHIFT, 0.0),
    (1.0, SHIFT, 0.0),
    (1.0, 0.0, -SHIFT),
    (1.0, 0.0, SHIFT),
)
"""(scale, dx, dy): box side times `scale`, centre moved by (dx, dy) box sides."""

TARGET_STD = 0.05


def reframe(box_xyxy: Sequence[float], scale: float, dx: float, dy: float) -> tuple[float, ...]:
    """The box scaled by `scale` about its centre and moved by (dx, dy) times its side."""
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    w, h = x1 - x0, y1 - y0
    cx, cy = (x0 + x1) / 2.0 + dx * w, (y0 + y1) / 2.0 + dy * h
    return (cx - w * scale / 2, cy - h * scale / 2, cx + w * scale / 2, cy + h * scale / 2)


def framing_crops(
    image_rgb: np.ndarray, box_xyxy: Sequence[float], margin: float, size: int
) -> np.ndarray:
    """(len(FRAMINGS), size, size, 3) crops of one face, one per framing, as `analyze` cuts."""
    return np.stack([crop_face(image_rgb, reframe(box_xyxy, *f), margin, size) for f in FRAMINGS])


@dataclass(frozen=True)
class FramingStability:
    """Per-face spreads (std of calibrated scores over `FRAMINGS`) and their summary."""

    spreads: np.ndarray  # (faces,)
    mean_scores: np.ndarray  # (faces,)

    @property
    def median(self) -> float:
        return float(np.median(self.spreads)) if self.spreads.size else float("nan")

    @property
    def mean(self) -> float:
        return float(np.mean(self.spreads)) if self.spreads.size else float("nan")

    @property
    def share_within_target(self) -> float:
        return float(np.mean(self.spreads <= TARGET_STD)) if self.spreads.size else float("nan")

    @property
    def relative_spread(self) -> float:
        """Mean per-face spread over the std of the faces' mean scores: how much framing moves
        a score against how much faces differ. Unlike the spreads themselves it does not shrink
        when a higher calibration temperature squeezes every score toward the middle."""
        if self.mean_scores.size < 2:
            return float("nan")
        between = float(np.std(self.mean_scores))
        return self.mean / between if between > 0 else float("inf")


def framing_stability(
    classifier: Classifier, faces: Sequence[tuple[np.ndarray, Sequence[float]]]
) -> FramingStability:
    """Score every face (image, box) under every framing; calibrated scores, per-face std.
    Each framing's crop is scored as the analyzer scores a still's face: through all of the
    views its spec asks for (models/views.py)."""
    spec = classifier.spec
    spreads, means = [], []
    for image, box in faces:
        scores = _still_scores(classifier, framing_crops(image, box, spec.crop_margin,
                                                         spec.input_size))  # fmt: skip
        spreads.append(float(np.std(scores)))
        means.append(float(np.mean(scores)))
    return FramingStability(np.asarray(spreads), np.asarray(means))


def _still_scores(classifier: Classifier, crops: np.ndarray) -> np.ndarray:
    """Calibrated scores of `crops` as the analyzer scores a still's face: through all of the
    views the classifier's spec asks for (models/views.py)."""
    spec = classifier.spec
    plan = [views.face_views("image", spec.views)] * len(crops)
    return np.asarray(spec.calibration.apply(views.predict_through_views(classifier, crops, plan)))


def box_pair_differences(
    classifier: Classifier,
    pairs: Sequence[tuple[np.ndarray, Sequence[float], Sequence[float]]],
) -> np.ndarray:
    """|score with one box - score with the other| per (image, box, other box): the same face
    as two detectors (or two runs) box it, each crop cut and scored as `analyze` does."""
    spec = classifier.spec
    differences = []
    for image, box, other in pairs:
        crops = np.stack([crop_face(image, b, spec.crop_margin, spec.input_size)
                          for b in (box, other)])  # fmt: skip
        first, second = _still_scores(classifier, crops)
        differences.append(abs(float(first) - float(second)))
    return np.asarray(differences)
