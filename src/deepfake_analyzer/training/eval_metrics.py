"""Metrics from scored crops: each source file's score (the top-k mean of its crops, as the
analyzer scores a track), frame- and video-level metrics of a subset, the per-dataset and
per-method breakdowns, and the AUC under each perturbation.

Breakdowns: each dataset and each manipulation method is scored on its own fakes and its own
reals; when a subset has fewer than `MIN_OWN_REALS` real files it borrows every real of the
evaluation, and when it has no fakes it borrows every fake; `pooled` records which class was
borrowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepfake_analyzer.scoring.aggregate import DEFAULT_RULE, track_score
from deepfake_analyzer.training.eval_crops import CropInfo, SourceLabels
from deepfake_analyzer.training.metrics import (
    RAISED_INDEX,
    BinaryMetrics,
    compute_metrics,
    json_fields,
    thresholds_read,
)

MIN_OWN_REALS = 5
"""A breakdown subset with fewer real files than this borrows every real of the evaluation."""


@dataclass(frozen=True)
class VideoScore(SourceLabels):
    """One source file's aggregated score (a video, or an image's single crop); `face_width`
    is the median width of its scored faces in the source's pixels (NaN where unknown);
    `raised_thresholds` the (suspicious, fake) thresholds the analyzer's verdict on it read when
    it weighed several faces (`Verdict.raised`), None where it read the model's."""

    num_crops: int
    score: float
    face_width: float = math.nan
    raised_thresholds: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return json_fields(self)


@dataclass(frozen=True)
class LevelMetrics:
    """Metrics of one subset at frame (per crop) and video (per source file) level."""

    frame: BinaryMetrics
    video: BinaryMetrics

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame.to_dict(), "video": self.video.to_dict()}


@dataclass(frozen=True)
class Breakdown:
    """Metrics of one dataset or one manipulation method; `pooled` names a borrowed class."""

    by: str
    name: str
    pooled: str
    metrics: LevelMetrics

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "name": self.name, "pooled": self.pooled, **self.metrics.to_dict()}


@dataclass(frozen=True)
class PerturbationResult:
    """AUC under one perturbation level and its drop from the clean AUC (positive = worse)."""

    key: str
    kind: str
    level: int
    description: str
    frame_auc: float
    video_auc: float
    frame_auc_drop: float
    video_auc_drop: float

    def to_dict(self) -> dict[str, Any]:
        return json_fields(self)


def video_scores(
    crops: Sequence[CropInfo], scores: np.ndarray, top_fraction: float = DEFAULT_RULE.top_fraction
) -> list[VideoScore]:
    """Per source file: `track_score` (top-k mean) of its crops' calibrated scores."""
    by_source: dict[str, list[int]] = {}
    for i, c in enumerate(crops):
        by_source.setdefault(c.source, []).append(i)
    result: list[VideoScore] = []
    for source, idx in by_source.items():
        first = crops[idx[0]]
        result.append(
            VideoScore(
                source=source,
                label=first.label,
                group=first.group,
                dataset=first.dataset,
                method=first.method,
                kind=first.kind,
                num_crops=len(idx),
                score=track_score(scores[idx], top_fraction),
                face_width=_median_width([crops[i].face_width for i in idx]),
            )
        )
    return result


def _median_width(widths: Sequence[float]) -> float:
    known = [w for w in widths if math.isfinite(w)]
    return float(np.median(known)) if known else math.nan


def video_arrays(videos: Sequence[VideoScore]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([v.label for v in videos], dtype=np.int64),
        np.array([v.score for v in videos], dtype=np.float64),
    )


def level_metrics(
    crops: Sequence[CropInfo],
    scores: np.ndarray,
    videos: Sequence[VideoScore],
    thresholds: Mapping[str, float],
) -> LevelMetrics:
    """Frame metrics at `thresholds`; video metrics at each file's own: its raised form
    (`VideoScore.raised_thresholds`) where the verdict weighed several faces, as the verdict
    rates of the protocol table read them."""
    frame_labels = np.array([c.label for c in crops], dtype=np.int64)
    v_labels, v_scores = video_arrays(videos)
    return LevelMetrics(
        frame=compute_metrics(frame_labels, scores, thresholds),
        video=compute_metrics(v_labels, v_scores, thresholds, raised_per_file(videos, thresholds)),
    )


def raised_per_file(
    videos: Sequence[VideoScore], thresholds: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Name -> the threshold each file's verdict read (`thresholds_read`), for the names a
    verdict raises ('suspicious', 'fake'); other names are read as given."""
    raised = [v.raised_thresholds for v in videos]
    return {
        name: thresholds_read(raised, value, name)
        for name, value in thresholds.items()
        if name in RAISED_INDEX
    }


def breakdowns(
    crops: Sequence[CropInfo],
    scores: np.ndarray,
    videos: Sequence[VideoScore],
    thresholds: Mapping[str, float],
    min_own_reals: int = MIN_OWN_REALS,
) -> list[Breakdown]:
    """Per dataset and per fake method (reals: those of the methods' datasets), borrowing
    every real when a subset has fewer than `min_own_reals` real files, and every fake when
    it has none (see the module docstring). A method whose fakes are exactly one dataset's
    fakes is not repeated."""
    results: list[Breakdown] = []
    datasets = sorted({c.dataset for c in crops})

    def add(by: str, name: str, member: Callable[[SourceLabels], bool]) -> None:
        results.append(
            _breakdown(by, name, member, crops, scores, videos, thresholds, min_own_reals)
        )

    for name in datasets:
        add("dataset", name, _in_dataset(name))
    dataset_fakes = [
        frozenset(c.source for c in crops if c.label == 1 and c.dataset == d) for d in datasets
    ]
    for name in sorted({c.method for c in crops if c.label == 1}):
        fakes = frozenset(c.source for c in crops if c.label == 1 and c.method == name)
        if fakes in dataset_fakes:
            continue  # the method is the whole of one dataset: its row is already there
        fake_datasets = {c.dataset for c in crops if c.label == 1 and c.method == name}
        add("method", name, _in_method(name, fake_datasets))
    return results


def _in_dataset(name: str) -> Callable[[SourceLabels], bool]:
    return lambda row: row.dataset == name


def _in_method(name: str, datasets: set[str]) -> Callable[[SourceLabels], bool]:
    """The method's fakes, and the reals of the datasets those fakes are in."""
    return lambda row: row.method == name if row.label == 1 else row.dataset in datasets


def _breakdown(
    by: str,
    name: str,
    member: Callable[[SourceLabels], bool],
    crops: Sequence[CropInfo],
    scores: np.ndarray,
    videos: Sequence[VideoScore],
    thresholds: Mapping[str, float],
    min_own_reals: int,
) -> Breakdown:
    v_inside = np.array([member(v) for v in videos], dtype=bool)
    v_labels = np.array([v.label for v in videos])
    own_reals = int((v_inside & (v_labels == 0)).sum())
    own_fakes = int((v_inside & (v_labels == 1)).sum())
    pooled = ""
    if own_fakes and own_reals < min_own_reals:
        pooled = "reals"
    elif own_reals and not own_fakes:
        pooled = "fakes"

    def keep(rows: Sequence[SourceLabels]) -> np.ndarray:
        inside = np.array([member(r) for r in rows], dtype=bool)
        labels = np.array([r.label for r in rows])
        if pooled == "reals":
            inside |= labels == 0
        elif pooled == "fakes":
            inside |= labels == 1
        return inside

    frame_keep, video_keep = keep(crops), keep(videos)
    sub_crops = [c for c, k in zip(crops, frame_keep, strict=True) if k]
    sub_videos = [v for v, k in zip(videos, video_keep, strict=True) if k]
    metrics = level_metrics(sub_crops, scores[frame_keep], sub_videos, thresholds)
    return Breakdown(by=by, name=name, pooled=pooled, metrics=metrics)
