"""Views: a face scored through reframed and mirrored copies of its crop (a spec's `views`).

The blend's probes were fitted on crops reframed 1.0-1.4x and mirrored
(training/texture_train.py, `FRAMING_ZOOM`), so every view is one they were trained on, and a
face read over several moves less with the box the detector happened to draw (v9 with five
views: median score std under reframing 0.034 against 0.046; models/deepfake_v9.md, "Tried
since shipping"). The shipped default since v12 reads five (models/deepfake_v12.md). `VIEWS`
lists them in the order they are used; a spec's `views` (1, the spec default: the crop alone)
says how many.

- A still image's face is scored through all of the spec's views: its score is the mean of
  their log-odds, and its member evidence (models/blend.py) the mean of theirs.
- A video's face is scored through one view, a track's n-th face through view n modulo
  `views`: a track's frames go round the views and its score (the top-quarter mean) reads
  over all of them, at the cost of one view per face. A single face's score in the timeline
  is that of its own view.

Views are cut from the crop itself (a tighter framing is a centered square of it resized back
to the crop's side), so they need nothing beyond what the classify stage already has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from deepfake_analyzer.models.base import Classifier


@dataclass(frozen=True)
class View:
    """One view of a crop: `zoom` times tighter (1.0: as cropped), mirrored or not."""

    name: str
    zoom: float
    mirror: bool


VIEWS: tuple[View, ...] = (
    View("crop", 1.0, False),
    View("mirrored", 1.0, True),
    View("1.1x tighter", 1.1, False),
    View("1.1x tighter, mirrored", 1.1, True),
    View("1.2x tighter", 1.2, False),
)
"""Every view a spec may ask for, in the order used: a spec's `views` takes the first ones."""
MAX_VIEWS = len(VIEWS)


def check_count(count: int) -> None:
    """ValueError unless `count` (a spec's `views`) is 1 to `MAX_VIEWS`."""
    if not 1 <= count <= MAX_VIEWS:
        raise ValueError(f"views must be 1 to {MAX_VIEWS}, got {count}")


def view_of(crop: np.ndarray, view: View) -> np.ndarray:
    """The (S, S, 3) `crop` seen through `view`."""
    out = np.asarray(crop)
    if view.zoom != 1.0:
        size = out.shape[0]
        side = int(round(size / view.zoom))
        start = (size - side) // 2
        square = out[start : start + side, start : start + side]
        out = cv2.resize(square, (size, size), interpolation=cv2.INTER_AREA)
    if view.mirror:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def face_views(kind: str, count: int, seen: int = 0) -> tuple[int, ...]:
    """The views (indices into `VIEWS`) a face is scored through under a spec's `count`: in a
    still (`kind` "image"), all of them; in a video, one, when `seen` faces of its track came
    before it, `seen` modulo `count`."""
    if kind == "video":
        return (seen % count,)
    return tuple(range(count))


def crops_through_views(crops: np.ndarray, plan: Sequence[tuple[int, ...]]) -> np.ndarray:
    """Every crop through each of its views in `plan` (one tuple of `VIEWS` indices per crop),
    flattened crop by crop; `crops` themselves when every view is the first (the crop as is)."""
    if all(ks == (0,) for ks in plan):
        return np.asarray(crops)
    return np.stack(
        [view_of(crop, VIEWS[k]) for crop, ks in zip(crops, plan, strict=True) for k in ks]
    )


def predict_through_views(
    classifier: Classifier, crops: np.ndarray, plan: Sequence[tuple[int, ...]]
) -> np.ndarray:
    """The classifier's raw probability per crop of `plan`, read through its views
    (`crops_through_views`, then `mean_over_views`)."""
    raw = np.asarray(classifier.predict(crops_through_views(crops, plan)), np.float64)
    return mean_over_views(raw, plan)


def mean_over_views(probabilities: np.ndarray, plan: Sequence[tuple[int, ...]]) -> np.ndarray:
    """One probability per crop of `plan` from those of `crops_through_views`: the mean of its
    views' log-odds (a crop with one view keeps its probability as it is)."""
    from deepfake_analyzer.models.spec import logits  # spec checks its views against VIEWS

    p = np.asarray(probabilities, np.float64).reshape(-1)
    counts, starts = _runs(plan)
    if (counts == 1).all():
        return p
    mean = np.add.reduceat(logits(p), starts) / counts
    single = counts == 1
    out = 1.0 / (1.0 + np.exp(-mean))
    out[single] = p[starts[single]]
    return np.asarray(out)


def mean_evidence_over_views(evidence: np.ndarray, plan: Sequence[tuple[int, ...]]) -> np.ndarray:
    """(members, crops of `plan`) evidence from that of `crops_through_views`: each crop's mean
    over its views (evidence is on the log-odds scale, so it adds up as `mean_over_views`)."""
    e = np.asarray(evidence, np.float64)
    counts, starts = _runs(plan)
    if (counts == 1).all():
        return e
    return np.asarray(np.add.reduceat(e, starts, axis=1) / counts)


def _runs(plan: Sequence[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
    """Each crop's number of views in `plan` and where its run starts in the flattened views."""
    counts = np.array([len(ks) for ks in plan], dtype=np.int64)
    return counts, np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
