"""The temporal model: standardisation + logistic regression + Platt calibration, in one JSON.

Contract: `TemporalModel.score(features) -> float` in [0, 1] (probability that the track is
generated) needs only numpy. The JSON file (`models/temporal_v1.json` by default) holds the
format tag and version, the feature names (which must equal `features.FEATURE_NAMES`, in
order: a model trained on other features is refused with a `ModelError`), per-feature mean
and scale, the clip applied to standardised values, weights and bias, the calibration
`p = sigmoid(a * logit + b)`, the suggested threshold (a quantile of training reals' scores),
the sequence sampling it was trained on, and training counts. It holds no file names.
`fit_logistic` is the small, deterministic trainer (Newton's method with an L2 penalty).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.temporal.config import DEFAULT_TEMPORAL_MODEL
from deepfake_analyzer.temporal.features import FEATURE_NAMES, TemporalFeatures

FORMAT = "deepfake-analyzer/temporal-model"
FORMAT_VERSION = 1
_REQUIRED = ("format", "version", "feature_names", "mean", "scale", "weights", "bias")


@dataclass(frozen=True)
class TemporalModel:
    """A fitted model; see the module docstring for the meaning of each field."""

    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    calibration_a: float = 1.0
    calibration_b: float = 0.0
    clip_z: float = 5.0
    threshold: float = 0.5
    sequence: Mapping[str, Any] = field(default_factory=dict)
    training: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.feature_names)
        for name in ("mean", "scale", "weights"):
            values = getattr(self, name)
            if len(values) != n:
                raise ModelError(f"temporal model: {name} has {len(values)} values, expected {n}")
            if not all(math.isfinite(v) for v in values):
                raise ModelError(f"temporal model: {name} holds non-finite values")
        if any(v <= 0 for v in self.scale):
            raise ModelError("temporal model: every scale must be positive")
        numbers = (self.bias, self.calibration_a, self.calibration_b, self.clip_z, self.threshold)
        if not all(math.isfinite(v) for v in numbers):
            raise ModelError("temporal model: bias, calibration and clip must be finite")
        if self.clip_z <= 0:
            raise ModelError("temporal model: clip_z must be positive")
        if not 0.0 <= self.threshold <= 1.0:
            raise ModelError(f"temporal model: threshold {self.threshold} outside [0, 1]")

    @property
    def fps(self) -> float:
        """The frame rate of the sequences it was trained on (8 when not recorded)."""
        return float(self.sequence.get("fps", 8.0))

    @property
    def max_seconds(self) -> float:
        """The length of its training clips (10 s when not recorded): tracks are scored in
        windows this long."""
        return float(self.sequence.get("max_seconds", 10.0))

    @property
    def prior(self) -> float:
        """The fake share of its training videos: the score that means "no evidence either
        way" (calibration was fitted on them unweighted); 0.5 when not recorded."""
        fake, videos = self.training.get("fake"), self.training.get("videos")
        if isinstance(fake, int | float) and isinstance(videos, int | float) and videos > 0:
            return min(max(float(fake) / float(videos), 0.01), 0.99)
        return 0.5

    def check_features(self, names: tuple[str, ...] = FEATURE_NAMES) -> None:
        """Raise ModelError unless the model was trained on exactly `names`, in order."""
        if tuple(self.feature_names) != tuple(names):
            missing = sorted(set(names) - set(self.feature_names))
            extra = sorted(set(self.feature_names) - set(names))
            raise ModelError(
                "temporal model was trained on other features than this code computes "
                f"(missing {missing}, unknown {extra}, or a different order); retrain it with "
                "`deepfake-analyzer train-temporal`"
            )

    def logit(self, features: TemporalFeatures | np.ndarray) -> float:
        """The calibrated logit of one feature vector."""
        x = features.as_array() if isinstance(features, TemporalFeatures) else features
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        if len(x) != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} features, got {len(x)}")
        z = np.clip((x - np.asarray(self.mean)) / np.asarray(self.scale), -self.clip_z, self.clip_z)
        raw = float(z @ np.asarray(self.weights) + self.bias)
        return self.calibration_a * raw + self.calibration_b

    def score(self, features: TemporalFeatures | np.ndarray) -> float:
        """Probability in [0, 1] that the track's motion is generated."""
        return _sigmoid(self.logit(features))

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "feature_names": list(self.feature_names),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "clip_z": self.clip_z,
            "weights": list(self.weights),
            "bias": self.bias,
            "calibration": {"kind": "platt", "a": self.calibration_a, "b": self.calibration_b},
            "threshold": self.threshold,
            "sequence": dict(self.sequence),
            "training": dict(self.training),
        }

    def save(self, path: Path) -> Path:
        """Write the JSON atomically; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TemporalModel:
        if not isinstance(data, Mapping):
            raise ModelError("temporal model: expected a JSON object")
        if data.get("format") != FORMAT:
            raise ModelError(f"not a temporal model file (format {data.get('format')!r})")
        if data.get("version") != FORMAT_VERSION:
            raise ModelError(
                f"temporal model version {data.get('version')!r} is not supported "
                f"(this code reads version {FORMAT_VERSION}); upgrade deepfake-analyzer"
            )
        missing = [k for k in _REQUIRED if k not in data]
        if missing:
            raise ModelError(f"temporal model: missing keys {missing}")
        calibration = data.get("calibration") or {}
        try:
            return cls(
                feature_names=tuple(str(n) for n in data["feature_names"]),
                mean=tuple(float(v) for v in data["mean"]),
                scale=tuple(float(v) for v in data["scale"]),
                weights=tuple(float(v) for v in data["weights"]),
                bias=float(data["bias"]),
                calibration_a=float(calibration.get("a", 1.0)),
                calibration_b=float(calibration.get("b", 0.0)),
                clip_z=float(data.get("clip_z", 5.0)),
                threshold=float(data.get("threshold", 0.5)),
                sequence=dict(data.get("sequence") or {}),
                training=dict(data.get("training") or {}),
            )
        except (TypeError, ValueError) as exc:
            raise ModelError(f"temporal model: bad value ({exc})") from None


def load_temporal_model(path: Path | str | None = None) -> TemporalModel:
    """Read and validate a temporal model (default `models/temporal_v1.json`)."""
    path = Path(path) if path is not None else DEFAULT_TEMPORAL_MODEL
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelError(
            "no temporal model here; train one with `deepfake-analyzer train-temporal`", path
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read the temporal model ({exc})", path) from None
    try:
        model = TemporalModel.from_dict(data)
        model.check_features()
    except ModelError as exc:
        raise ModelError(exc.message, path) from None
    return model


def _sigmoid(x: float) -> float:
    x = max(-60.0, min(60.0, x))
    return 1.0 / (1.0 + math.exp(-x))


def standardise(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and scale (std, or 1 for a constant column)."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-12, scale, 1.0)


def fit_logistic(
    z: np.ndarray,
    y: np.ndarray,
    l2: float = 1.0,
    sample_weight: np.ndarray | None = None,
    iterations: int = 50,
) -> tuple[np.ndarray, float]:
    """(weights, bias) minimising weighted log loss + `l2`/2 |w|^2 (bias not penalised).

    Newton's method. The Hessian is summed in float32 (half the time of float64 on a thousand
    features; the gradient stays float64, so the steps still end at the same optimum)."""
    z = np.asarray(z, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = z.shape
    weight = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    a = np.hstack([z, np.ones((n, 1))])
    a32 = a.astype(np.float32)
    theta = np.zeros(d + 1)
    penalty = np.full(d + 1, float(l2))
    penalty[-1] = 1e-8
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ theta, -60, 60)))
        grad = a.T @ (weight * (p - y)) + penalty * theta
        curvature = (weight * p * (1 - p)).astype(np.float32)
        hess = ((a32 * curvature[:, None]).T @ a32).astype(np.float64) + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def fit_platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(a, b) so that sigmoid(a * logit + b) is calibrated on (`logits`, `y`)."""
    w, b = fit_logistic(np.asarray(logits, np.float64).reshape(-1, 1), y, l2=1e-3)
    return float(w[0]), b
