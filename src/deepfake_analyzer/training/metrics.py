"""Binary detection metrics in pure numpy: ROC, AUC, AP, EER, log loss, rates at thresholds.

Conventions: `labels` are 1 for fake (the positive class) and 0 for real; `scores` are fake
probabilities; a sample is called fake when `score >= threshold`. Metrics that need both classes
(AUC, AP, EER) are NaN when one class is missing; reports write NaN as null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

LOG_LOSS_EPS = 1e-7
"""Probabilities are clipped to [eps, 1 - eps] before the logarithm (as `Calibration` does)."""


def _check(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels and scores differ in length: {y.size} vs {s.size}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite (no NaN or inf)")
    return y.astype(np.int64), s


@dataclass(frozen=True)
class RocCurve:
    """Points of the ROC curve, from (0, 0) to (1, 1).

    `thresholds[i]` is the lowest score called fake at point i (decreasing; the first is +inf,
    where nothing is called fake). Only thresholds where the curve turns are kept.
    """

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray

    def __post_init__(self) -> None:
        if not (self.fpr.shape == self.tpr.shape == self.thresholds.shape):
            raise ValueError("fpr, tpr and thresholds must have the same length")


def roc_curve(labels: Any, scores: Any) -> RocCurve:
    """The ROC curve at every distinct score (ties move the curve diagonally, as they should)."""
    y, s = _check(labels, scores)
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    if n_pos == 0 or n_neg == 0:
        nan = np.array([math.nan])
        return RocCurve(fpr=nan, tpr=nan.copy(), thresholds=np.array([math.inf]))
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    # Last index of each run of equal scores: the curve moves once per distinct score.
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[last]
    fps = (last + 1) - tps
    fpr = np.r_[0.0, fps / n_neg]
    tpr = np.r_[0.0, tps / n_pos]
    thresholds = np.r_[math.inf, s_sorted[last]]
    # Drop collinear interior points so the curve stays small for plotting and JSON.
    keep = np.ones(fpr.size, dtype=bool)
    if fpr.size > 2:
        d_fpr, d_tpr = np.diff(fpr), np.diff(tpr)
        cross = d_fpr[:-1] * d_tpr[1:] - d_tpr[:-1] * d_fpr[1:]
        keep[1:-1] = np.abs(cross) > 1e-15
    return RocCurve(fpr=fpr[keep], tpr=tpr[keep], thresholds=thresholds[keep])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of the ranks they span (as in Mann-Whitney U)."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    starts = np.r_[0, np.nonzero(np.diff(sorted_values))[0] + 1]
    ends = np.r_[starts[1:], sorted_values.size]  # exclusive
    mean_rank = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(labels: Any, scores: Any) -> float:
    """Area under the ROC curve = P(score of a fake > score of a real) + 0.5 P(tie).

    Computed as the Mann-Whitney U statistic over average ranks, which equals the trapezoidal
    area under `roc_curve`.
    """
    y, s = _check(labels, scores)
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = _average_ranks(s)
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def average_precision(labels: Any, scores: Any) -> float:
    """AP = sum over distinct thresholds of (recall step) x (precision there), fakes positive.

    The step-wise (not interpolated) definition used by scikit-learn and most detection papers.
    """
    y, s = _check(labels, scores)
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        return math.nan
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    tps = np.cumsum(y_sorted)[last]
    precision = tps / (last + 1)
    recall = tps / n_pos
    recall_steps = np.diff(np.r_[0.0, recall])
    return float(np.sum(recall_steps * precision))


def accuracy_at(labels: Any, scores: Any, threshold: float | np.ndarray) -> float:
    """Share of samples labeled correctly when `score >= threshold` means fake (`threshold`
    may hold one value per sample)."""
    y, s = _check(labels, scores)
    if y.size == 0:
        return math.nan
    return float(np.mean((s >= threshold).astype(np.int64) == y))


def false_positive_rate_at(labels: Any, scores: Any, threshold: float | np.ndarray) -> float:
    """Share of real samples called fake (`score >= threshold`, one value or one per sample)."""
    y, s = _check(labels, scores)
    called = s >= threshold
    return float(np.mean(called[y == 0])) if (y == 0).any() else math.nan


def true_positive_rate_at(labels: Any, scores: Any, threshold: float | np.ndarray) -> float:
    """Share of fake samples called fake (`score >= threshold`, one value or one per sample):
    the detection rate."""
    y, s = _check(labels, scores)
    called = s >= threshold
    return float(np.mean(called[y == 1])) if (y == 1).any() else math.nan


def equal_error_rate(labels: Any, scores: Any) -> tuple[float, float]:
    """(EER, threshold) where the false-positive rate equals the false-negative rate.

    Found on the ROC curve, interpolating linearly between the two points whose FPR - FNR
    changes sign; the threshold is interpolated the same way (finite scores only).
    """
    y, s = _check(labels, scores)
    curve = roc_curve(y, s)
    if math.isnan(curve.fpr[0]):
        return math.nan, math.nan
    # Use every distinct-score point (not the pruned curve) to interpolate thresholds well.
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[np.nonzero(np.diff(s_sorted))[0], s_sorted.size - 1]
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    tps = np.cumsum(y_sorted)[last]
    fpr = np.r_[0.0, ((last + 1) - tps) / n_neg]
    fnr = 1.0 - np.r_[0.0, tps / n_pos]
    thr = np.r_[s_sorted[0], s_sorted[last]]  # the first point stands for "just above the max"
    diff = fpr - fnr  # rises from -1 to +1 along the curve
    i = int(np.argmax(diff >= 0))
    if diff[i] == 0 or i == 0:
        return float(fpr[i]), float(thr[i])
    w = -diff[i - 1] / (diff[i] - diff[i - 1])
    eer = fpr[i - 1] + w * (fpr[i] - fpr[i - 1])
    threshold = thr[i - 1] + w * (thr[i] - thr[i - 1])
    return float(eer), float(threshold)


def log_loss(labels: Any, probabilities: Any, eps: float = LOG_LOSS_EPS) -> float:
    """Mean binary cross-entropy in nats, probabilities clipped to [eps, 1 - eps]."""
    y, p = _check(labels, probabilities)
    if y.size == 0:
        return math.nan
    p = np.clip(p, eps, 1.0 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1.0 - p)))


@dataclass(frozen=True)
class ScoreHistogram:
    """Counts of real and fake scores in equal-width bins over [0, 1] (`edges` has bins + 1)."""

    edges: np.ndarray
    real_counts: np.ndarray
    fake_counts: np.ndarray

    def __post_init__(self) -> None:
        if not (self.edges.size - 1 == self.real_counts.size == self.fake_counts.size):
            raise ValueError("a histogram needs len(edges) - 1 counts per class")

    def to_dict(self) -> dict[str, Any]:
        return {
            "edges": [round(float(e), 6) for e in self.edges],
            "real": [int(c) for c in self.real_counts],
            "fake": [int(c) for c in self.fake_counts],
        }


def score_histogram(labels: Any, scores: Any, bins: int = 20) -> ScoreHistogram:
    """Per-class histogram of scores in `bins` equal bins on [0, 1]; the last bin includes 1."""
    if bins < 1:
        raise ValueError("bins must be >= 1")
    y, s = _check(labels, scores)
    edges = np.linspace(0.0, 1.0, bins + 1)
    clipped = np.clip(s, 0.0, 1.0)
    real, _ = np.histogram(clipped[y == 0], bins=edges)
    fake, _ = np.histogram(clipped[y == 1], bins=edges)
    return ScoreHistogram(edges=edges, real_counts=real, fake_counts=fake)


@dataclass(frozen=True)
class ThresholdMetrics:
    """Accuracy and error rates when `score >= threshold` is called fake; `raised` samples
    (files whose verdict weighed several faces) were read at their own raised form of it."""

    name: str
    threshold: float
    accuracy: float
    false_positive_rate: float
    true_positive_rate: float
    raised: int = 0

    def to_dict(self) -> dict[str, Any]:
        return json_fields(self)


@dataclass(frozen=True)
class BinaryMetrics:
    """Every summary metric of one set of (label, score) pairs."""

    num_real: int
    num_fake: int
    auc: float
    average_precision: float
    eer: float
    eer_threshold: float
    log_loss: float
    at_thresholds: tuple[ThresholdMetrics, ...] = ()

    def __post_init__(self) -> None:
        if self.num_real < 0 or self.num_fake < 0:
            raise ValueError("sample counts must be >= 0")

    @property
    def num_samples(self) -> int:
        return self.num_real + self.num_fake

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_real": self.num_real,
            "num_fake": self.num_fake,
            "auc": json_number(self.auc),
            "average_precision": json_number(self.average_precision),
            "eer": json_number(self.eer),
            "eer_threshold": json_number(self.eer_threshold),
            "log_loss": json_number(self.log_loss),
            "at_thresholds": [t.to_dict() for t in self.at_thresholds],
        }


RAISED_INDEX = {"suspicious": 0, "fake": 1}
"""Where each threshold sits in a verdict's raised (suspicious, fake) pair."""


def thresholds_read(
    raised: Sequence[tuple[float, float] | None], threshold: float, name: str
) -> np.ndarray:
    """The threshold each file's verdict read: `threshold` (named `name`, 'suspicious' or
    'fake'), or its raised form in `raised[i]` where that file's verdict weighed several faces
    (None: it did not)."""
    which = RAISED_INDEX[name]
    return np.array([threshold if r is None else r[which] for r in raised], dtype=np.float64)


def compute_metrics(
    labels: Any,
    scores: Any,
    thresholds: Mapping[str, float] | None = None,
    per_sample: Mapping[str, Any] | None = None,
) -> BinaryMetrics:
    """All summary metrics; `thresholds` maps a name (e.g. 'fake') to a score threshold, and
    `per_sample` optionally a name to the threshold each sample is read at (one per sample:
    the named threshold, or its raised form where a verdict weighed several faces)."""
    y, s = _check(labels, scores)
    eer, eer_threshold = equal_error_rate(y, s)
    own = per_sample or {}

    def at_threshold(name: str, value: float) -> ThresholdMetrics:
        read = np.asarray(own[name], dtype=np.float64) if name in own else np.full(s.shape, value)
        if read.shape != s.shape:
            raise ValueError(f"per-sample '{name}' thresholds need one value per score")
        return ThresholdMetrics(
            name=name,
            threshold=float(value),
            accuracy=accuracy_at(y, s, read),
            false_positive_rate=false_positive_rate_at(y, s, read),
            true_positive_rate=true_positive_rate_at(y, s, read),
            raised=int((read != value).sum()),
        )

    at = tuple(at_threshold(name, value) for name, value in (thresholds or {}).items())
    return BinaryMetrics(
        num_real=int((y == 0).sum()),
        num_fake=int((y == 1).sum()),
        auc=roc_auc(y, s),
        average_precision=average_precision(y, s),
        eer=eer,
        eer_threshold=eer_threshold,
        log_loss=log_loss(y, s),
        at_thresholds=at,
    )


def json_number(value: float, digits: int = 6) -> float | None:
    """JSON-safe number: rounded to `digits`; NaN and inf become None."""
    return round(float(value), digits) if math.isfinite(value) else None


def json_fields(obj: Any, digits: int = 6) -> dict[str, Any]:
    """A flat dataclass as JSON: its fields in order, those annotated `float` through
    `json_number` (the others as they are)."""
    return {
        f.name: json_number(value, digits) if f.type == "float" else value
        for f in fields(obj)
        for value in (getattr(obj, f.name),)
    }
