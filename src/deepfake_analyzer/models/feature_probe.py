"""A linear probe on fixed, unfitted features, and the classifier it makes.

The residual model (models/residual.py) and the face-mesh model (models/mesh_probe.py) are both
one of these: features computed the same way at fitting and at analysis time, then
logit = ((features - mean) / scale) . weights + bias. A subclass names its features' size and
version; a probe file fitted on another version is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Self

import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.spec import ModelSpec, verified_weights_file


@dataclass(frozen=True)
class FeatureProbe:
    """logit = ((features - mean) / scale) . weights + bias; stored as float64 in an `.npz`."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    size: ClassVar[int] = 0
    """How many features a crop has (the subclass's)."""
    version: ClassVar[int] = 0
    """The features' version: bumped whenever they change."""
    features: ClassVar[str] = ""
    """Whose features these are, for error messages ("residual": "not a residual probe file")."""
    architecture: ClassVar[str] = ""
    """The `architecture` of its models' specs."""
    weights_format: ClassVar[str] = ""
    """The `weights_format` of its models' specs: the weights file is the probe."""

    def __post_init__(self) -> None:
        shapes = {a.shape for a in (self.mean, self.scale, self.weights)}
        if shapes != {(self.size,)}:
            raise ValueError(f"probe arrays must each hold {self.size} values, got {shapes}")
        arrays = (self.mean, self.scale, self.weights, np.array([self.bias]))
        if not all(np.isfinite(a).all() for a in arrays) or not (self.scale > 0).all():
            raise ValueError("probe values must be finite, with positive scales")

    def logit(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, np.float64) - self.mean) / self.scale
        return np.asarray(z @ self.weights + self.bias)

    def save(self, path: Path) -> Path:
        """Write the probe (float64) to `path` (an `.npz`); returns it."""
        with Path(path).open("wb") as f:
            np.savez(
                f, mean=self.mean, scale=self.scale, weights=self.weights,
                bias=np.array(self.bias), features_version=np.array(self.version),
            )  # fmt: skip
        return Path(path)

    @classmethod
    def load(cls, path: Path) -> Self:
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["features_version"])
                arrays = [np.asarray(data[k], np.float64).reshape(-1) for k in ("mean", "scale")]
                weights = np.asarray(data["weights"], np.float64).reshape(-1)
                bias = float(data["bias"])
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise ModelError(f"not a {cls.features} probe file ({exc})", path) from None
        if version != cls.version:
            raise ModelError(
                f"probe fitted on {cls.features} features version {version}; this code computes "
                f"version {cls.version}: refit it",
                path,
            )
        try:
            return cls(arrays[0], arrays[1], weights, bias)
        except ValueError as exc:
            raise ModelError(str(exc), path) from None


class ProbeClassifier:
    """The `Classifier` of a feature probe: sigmoid(probe.logit(features(crops)))."""

    def __init__(
        self,
        spec: ModelSpec,
        sha256: str,
        probe: FeatureProbe,
        features: Callable[[np.ndarray], np.ndarray],
    ) -> None:
        self.spec = spec
        self.sha256 = sha256
        self.name = spec.name
        self.probe = probe
        self.features = features

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        z = self.probe.logit(self.features(crops_rgb_uint8))
        return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))


def load_probe_model(
    spec: ModelSpec,
    spec_path: Path,
    probe_class: type[FeatureProbe],
    features: Callable[[], Callable[[np.ndarray], np.ndarray]],
) -> ProbeClassifier:
    """The probe model `spec` (read from `spec_path`) describes, its features made by
    `features()`; ModelError when the spec's architecture is not the probe's, or its probe file
    is missing, changed since the spec was written, or not such a probe."""
    if spec.architecture != probe_class.architecture:
        raise ModelError(
            f"weights_format {probe_class.weights_format!r} goes with architecture "
            f"{probe_class.architecture!r}, not {spec.architecture!r}",
            spec_path,
        )
    path, sha = verified_weights_file(spec, spec_path, "probe file")
    return ProbeClassifier(spec, sha, probe_class.load(path), features())
