"""Calibration: temperature or Platt scaling fit on a validation split, and thresholds for
target false-positive rates on real media, written into a new model spec.

Both fits work on the model's logit z = log(p / (1 - p)) (p clipped as `Calibration.apply`
clips it) and minimise the log loss with a damped Newton loop (convex problems: one parameter
for temperature, two for Platt). As in Platt (1999), the targets are smoothed to
(N+ + 1) / (N+ + 2) for fakes and 1 / (N- + 2) for reals, so perfectly separated validation
data gives a finite temperature instead of an infinitely sharp one.

By default the two classes are weighted equally (`balanced=True`): a validation split with
twenty fakes per real would otherwise teach the calibration that most faces are fake. The
calibrated score is then the fake probability under an even prior, whatever the split's mix.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from deepfake_analyzer.errors import OutputExistsError, UsageError
from deepfake_analyzer.models.spec import Calibration, ModelSpec, Thresholds, clipped, logits
from deepfake_analyzer.training.metrics import log_loss

FitMethod = Literal["temperature", "platt"]
FIT_METHODS: tuple[str, ...] = ("temperature", "platt")

DEFAULT_SUSPICIOUS_FPR = 0.10
DEFAULT_FAKE_FPR = 0.02
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.01, 100.0
THRESHOLD_FLOOR, THRESHOLD_CEIL = 1e-4, 1.0 - 1e-4
"""Thresholds stay strictly inside (0, 1) as `Thresholds` requires."""
SPACING_VALUES = 5
"""Distinct real scores whose mean gap sets the margin above the highest real."""
MIN_REALS_FOR_SPREAD = 20
"""Fewer real samples than this give no `real_mean` / `real_std` (no thresholds raised for
several faces): their spread would be a guess."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for large |z|


def _nll(z: np.ndarray, t: np.ndarray, w: np.ndarray) -> float:
    # -[t log s(z) + (1 - t) log(1 - s(z))] = softplus(z) - t z, computed stably.
    return float(np.sum(w * (np.logaddexp(0.0, z) - t * z)) / np.sum(w))


def _weights(labels: np.ndarray, balanced: bool) -> np.ndarray:
    if not balanced:
        return np.ones(labels.size)
    n_pos = int(labels.sum())
    n_neg = int(labels.size - n_pos)
    return np.where(labels == 1, labels.size / (2.0 * n_pos), labels.size / (2.0 * n_neg))


def _targets(labels: np.ndarray) -> np.ndarray:
    n_pos = int(labels.sum())
    n_neg = int(labels.size - n_pos)
    hi = (n_pos + 1.0) / (n_pos + 2.0)
    lo = 1.0 / (n_neg + 2.0)
    return np.where(labels == 1, hi, lo)


def _check_fit_inputs(probabilities: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    z = logits(np.ravel(probabilities))
    y = np.asarray(labels).ravel().astype(np.int64)
    if y.shape != z.shape:
        raise ValueError(f"labels and probabilities differ in length: {y.size} vs {z.size}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if y.sum() == 0 or y.sum() == y.size:
        raise UsageError(
            "calibration needs both real and fake samples in the validation split; "
            "add labeled data of the missing class"
        )
    return z, y


def _newton(
    params: np.ndarray,
    features: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    max_iter: int = 100,
) -> np.ndarray:
    """Minimise the weighted mean of softplus(f @ p) - t (f @ p) by damped Newton steps."""
    w = weights / weights.sum()
    loss = _nll(features @ params, targets, w)
    for _ in range(max_iter):
        q = _sigmoid(features @ params)
        grad = features.T @ (w * (q - targets))
        hess = (features.T * (w * q * (1.0 - q))) @ features
        hess += 1e-9 * np.eye(params.size)
        step = np.linalg.solve(hess, grad)
        scale = 1.0
        while scale > 1e-6:
            candidate = params - scale * step
            new_loss = _nll(features @ candidate, targets, w)
            if new_loss <= loss + 1e-15:
                break
            scale *= 0.5
        else:
            break
        params, improvement, loss = candidate, loss - new_loss, new_loss
        if improvement < 1e-12 and np.max(np.abs(scale * step)) < 1e-9:
            break
    return params


def fit_temperature(probabilities: Any, labels: Any, balanced: bool = True) -> Calibration:
    """Temperature t minimising the log loss of sigmoid(z / t), t kept in [0.01, 100].

    A model whose scores rank reals above fakes would need a negative temperature; it is
    clamped to the largest one (scores squeezed towards 0.5).
    """
    z, y = _check_fit_inputs(probabilities, labels)
    (inverse,) = _newton(np.array([1.0]), z[:, None], _targets(y), _weights(y, balanced))
    if inverse <= 1.0 / MAX_TEMPERATURE:
        temperature = MAX_TEMPERATURE
    else:
        temperature = float(np.clip(1.0 / inverse, MIN_TEMPERATURE, MAX_TEMPERATURE))
    return Calibration(method="temperature", temperature=temperature)


def fit_platt(probabilities: Any, labels: Any, balanced: bool = True) -> Calibration:
    """Platt scaling: (a, b) minimising the log loss of sigmoid(a z + b)."""
    z, y = _check_fit_inputs(probabilities, labels)
    features = np.stack([z, np.ones_like(z)], axis=1)
    a, b = _newton(np.array([1.0, 0.0]), features, _targets(y), _weights(y, balanced))
    return Calibration(method="platt", a=float(a), b=float(b))


def fit_calibration(
    probabilities: Any, labels: Any, method: FitMethod, balanced: bool = True
) -> Calibration:
    """`fit_temperature` or `fit_platt` by name."""
    if method == "temperature":
        return fit_temperature(probabilities, labels, balanced)
    if method == "platt":
        return fit_platt(probabilities, labels, balanced)
    raise UsageError(f"calibration method must be one of {', '.join(FIT_METHODS)}, not {method!r}")


def threshold_for_fpr(real_scores: Any, target_fpr: float) -> float:
    """The lowest threshold whose false-positive rate on `real_scores` is at most `target_fpr`.

    With n reals, at most k = floor(target_fpr x n) of them may score >= the threshold; the
    threshold is set halfway between the (k+1)-th highest real score and the next distinct real
    score above it, which is within the target on these reals and leaves a margin for new ones.
    When no real scores above it, the next one is expected one typical spacing higher: the mean
    gap between the highest distinct real scores (up to `SPACING_VALUES` of them), so that the
    margin follows the scores' own scale (halfway to 1 when all reals tie). Clamped to
    [1e-4, 1 - 1e-4].
    """
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError(f"target false-positive rate must be in [0, 1), got {target_fpr}")
    scores = np.sort(np.asarray(real_scores, dtype=np.float64).ravel())[::-1]
    if scores.size == 0:
        raise UsageError("choosing thresholds needs real samples; add labeled real media")
    k = int(math.floor(target_fpr * scores.size + 1e-9))
    if k >= scores.size:
        return THRESHOLD_FLOOR
    pivot = scores[k]
    above = scores[scores > pivot]
    upper = float(above.min()) if above.size else _next_expected_above(scores)
    value = (pivot + upper) / 2.0
    if value <= pivot:  # pivot and upper one float apart
        value = float(np.nextafter(pivot, 2.0))
    return float(np.clip(value, THRESHOLD_FLOOR, THRESHOLD_CEIL))


def _next_expected_above(scores_desc: np.ndarray) -> float:
    """Where a real above the highest of `scores_desc` (sorted descending) is expected: one
    mean spacing of the highest distinct scores above it, capped at 1."""
    distinct = np.unique(scores_desc)[::-1][:SPACING_VALUES]
    if distinct.size < 2:
        return 1.0
    spacing = float(distinct[0] - distinct[-1]) / (distinct.size - 1)
    return min(float(distinct[0]) + spacing, 1.0)


def real_spread(real_scores: np.ndarray) -> tuple[float | None, float | None]:
    """Mean and standard deviation of calibrated real scores' log-odds (`Thresholds.real_mean`,
    `real_std`: how thresholds rise for a verdict over several faces); (None, None) with fewer
    than `MIN_REALS_FOR_SPREAD` scores or no spread."""
    values = logits(real_scores)
    if values.size < MIN_REALS_FOR_SPREAD:
        return None, None
    std = float(values.std(ddof=1))
    if not std > 0:
        return None, None
    return float(values.mean()), std


@dataclass(frozen=True)
class ThresholdChoice:
    """Thresholds chosen on calibrated real scores and the rates they reach there."""

    thresholds: Thresholds
    suspicious_fpr_target: float
    fake_fpr_target: float
    suspicious_fpr: float
    fake_fpr: float
    num_real: int
    notes: tuple[str, ...] = ()
    by_group: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """With grouped reals (e.g. by medium): each group's suspicious and fake rates and size."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "suspicious": round(self.thresholds.suspicious, 6),
            "fake": round(self.thresholds.fake, 6),
            "real_mean": self.thresholds.real_mean,
            "real_std": self.thresholds.real_std,
            "suspicious_fpr_target": self.suspicious_fpr_target,
            "fake_fpr_target": self.fake_fpr_target,
            "suspicious_fpr": round(self.suspicious_fpr, 6),
            "fake_fpr": round(self.fake_fpr, 6),
            "num_real": self.num_real,
            "by_group": {
                name: {k: round(v, 6) for k, v in rates.items()}
                for name, rates in self.by_group.items()
            },
            "notes": list(self.notes),
        }


RealScores = np.ndarray | Mapping[str, np.ndarray]
"""Calibrated scores of real samples, or of several groups of them (e.g. videos and photos)."""


def choose_thresholds(
    real_scores: Any,
    suspicious_fpr: float = DEFAULT_SUSPICIOUS_FPR,
    fake_fpr: float = DEFAULT_FAKE_FPR,
) -> ThresholdChoice:
    """`suspicious` and `fake` thresholds for target false-positive rates on real media.

    `real_scores` must be calibrated scores of real samples (frames or videos, whichever the
    verdict is read from), or a mapping of groups of them (e.g. {"video": ..., "image": ...}):
    then each threshold is the highest of the groups' own, so every group keeps within the
    target rather than their mix. `fake_fpr` must not exceed `suspicious_fpr`. The thresholds
    also carry the spread of the real log-odds (`real_spread`) of the "video" group, or of all
    the reals without one, which raises them for verdicts over several faces.
    """
    if fake_fpr > suspicious_fpr:
        raise UsageError(
            f"the fake false-positive rate ({fake_fpr:g}) must not exceed the suspicious one "
            f"({suspicious_fpr:g})"
        )
    groups = (
        {k: np.asarray(v, dtype=np.float64).ravel() for k, v in real_scores.items()}
        if isinstance(real_scores, Mapping)
        else {"": np.asarray(real_scores, dtype=np.float64).ravel()}
    )
    groups = {k: v for k, v in groups.items() if v.size} or {"": np.zeros(0)}
    suspicious = max(threshold_for_fpr(v, suspicious_fpr) for v in groups.values())
    fake = max(max(threshold_for_fpr(v, fake_fpr) for v in groups.values()), suspicious)
    notes: list[str] = []
    for group, scores in groups.items():
        for name, target in (("fake", fake_fpr), ("suspicious", suspicious_fpr)):
            if target > 0 and scores.size < math.ceil(1.0 / target):
                what = f"{group} real samples" if group else "real samples"
                notes.append(
                    f"only {scores.size} {what}: a {target:.0%} false-positive rate for "
                    f"'{name}' needs at least {math.ceil(1.0 / target)} to be resolved; the "
                    "threshold sits above every one of them"
                )
    every = np.concatenate(list(groups.values()))
    mean, std = real_spread(groups.get("video", every))
    return ThresholdChoice(
        thresholds=Thresholds(suspicious=suspicious, fake=fake, real_mean=mean, real_std=std),
        suspicious_fpr_target=suspicious_fpr,
        fake_fpr_target=fake_fpr,
        suspicious_fpr=float(np.mean(every >= suspicious)),
        fake_fpr=float(np.mean(every >= fake)),
        num_real=int(every.size),
        notes=tuple(notes),
        by_group={
            k: {
                "suspicious_fpr": float(np.mean(v >= suspicious)),
                "fake_fpr": float(np.mean(v >= fake)),
                "num_real": float(v.size),
            }
            for k, v in groups.items()
            if k
        },
    )


@dataclass(frozen=True)
class CalibrationResult:
    """A fitted calibration, the thresholds chosen with it, and the new spec carrying both."""

    spec: ModelSpec
    calibration: Calibration
    threshold_choice: ThresholdChoice
    num_real: int
    num_fake: int
    log_loss_before: float
    log_loss_after: float
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        cal = self.calibration
        return {
            "method": cal.method,
            "temperature": round(cal.temperature, 6),
            "a": round(cal.a, 6),
            "b": round(cal.b, 6),
            "num_real": self.num_real,
            "num_fake": self.num_fake,
            "log_loss_before": round(self.log_loss_before, 6),
            "log_loss_after": round(self.log_loss_after, 6),
            "thresholds": self.threshold_choice.to_dict(),
            "notes": list(self.notes),
        }


def calibrate_spec(
    spec: ModelSpec,
    raw_probabilities: Any,
    labels: Any,
    method: FitMethod = "temperature",
    suspicious_fpr: float = DEFAULT_SUSPICIOUS_FPR,
    fake_fpr: float = DEFAULT_FAKE_FPR,
    threshold_real_scores: Callable[[Calibration], RealScores] | None = None,
    metrics: Mapping[str, Any] | None = None,
    balanced: bool = True,
) -> CalibrationResult:
    """Fit `method` on raw (uncalibrated) validation probabilities, choose thresholds, and
    return a copy of `spec` with `calibration`, `thresholds` and `metrics` filled.

    Thresholds are chosen on calibrated scores of real samples: by default the calibrated
    reals among the fitting samples; `threshold_real_scores(calibration)` can supply others
    instead (e.g. video-level scores aggregated from calibrated frame scores, which is what the
    verdict reads; grouped by medium, see `choose_thresholds`). `metrics` (e.g. held-out
    evaluation figures) is stored in `spec.metrics` beside the calibration summary.
    """
    raw = np.asarray(raw_probabilities, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel().astype(np.int64)
    calibration = fit_calibration(raw, y, method, balanced)
    real_scores: RealScores
    if threshold_real_scores is None:
        real_scores = calibration.apply(raw[y == 0])
    else:
        real_scores = threshold_real_scores(calibration)
    choice = choose_thresholds(real_scores, suspicious_fpr, fake_fpr)
    summary = CalibrationResult(
        spec=spec,
        calibration=calibration,
        threshold_choice=choice,
        num_real=int((y == 0).sum()),
        num_fake=int((y == 1).sum()),
        log_loss_before=log_loss(y, clipped(raw)),
        log_loss_after=log_loss(y, calibration.apply(raw)),
        notes=choice.notes,
    )
    new_metrics = {**spec.metrics, **dict(metrics or {}), "calibration": summary.to_dict()}
    new_spec = replace(
        spec, calibration=calibration, thresholds=choice.thresholds, metrics=new_metrics
    )
    return replace(summary, spec=new_spec)


def write_spec(
    spec: ModelSpec,
    path: Path,
    source_spec_path: Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Save `spec` at `path`, refusing to replace an existing file (or the input spec)
    unless `overwrite`.

    `weights_file` (and `weights_base`) are relative to a spec's folder; when `path` is in
    another folder than `source_spec_path`, they are rewritten relative to the new folder so
    the weights still load.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        what = (
            "the input model spec"
            if source_spec_path is not None and _same_file(path, Path(source_spec_path))
            else "a file"
        )
        raise OutputExistsError(
            f"{what} already exists here; choose another `write_spec` path or pass `overwrite`",
            path,
            option=("write_spec", "overwrite"),
        )
    if source_spec_path is not None and spec.weights_file:
        source_dir = Path(source_spec_path).resolve().parent
        target_dir = path.resolve().parent
        if source_dir != target_dir:

            def moved(name: str) -> str:
                return os.path.relpath(source_dir / name, target_dir) if name else ""

            spec = replace(
                spec,
                weights_file=moved(spec.weights_file),
                weights_base=moved(spec.weights_base),
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    spec.save(path)
    return path


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
