"""The classify-stage interface: a classifier scores face crops prepared per its spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from deepfake_analyzer.errors import ModelOutputError
from deepfake_analyzer.models.spec import ModelSpec

OUTPUT_COLUMNS = (1, 2)
"""What a model may output per crop: its probability, or its probability and then its part of
a blend's track head (a linear value, models/texture.py `TRACK_ARCHITECTURES`)."""

PROBE_SEED = 12
PROBE_CROPS = 2
"""The loader's probe batch: a mid-gray crop and a seeded noise crop."""


class Classifier(Protocol):
    """`predict` is the one required method.

    It takes (N, S, S, 3) uint8 RGB crops with S = `spec.input_size` and returns (N,) raw
    float probabilities that each face is manipulated. Calibration (`spec.calibration`) is
    applied by the caller, so every classifier stays comparable.
    """

    spec: ModelSpec
    sha256: str

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class CropScores:
    """What a classifier made of members read in a batch of crops (models/blend.py):
    `probability` (N,) raw; `evidence` (members, N), how much each member pushed each crop
    ((0, N) when it cannot say); `track` (N,), each crop's contribution to its track's log-odds
    through the blend's track head (raw log-odds scale; None without a track head)."""

    probability: np.ndarray
    evidence: np.ndarray
    track: np.ndarray | None = None


@runtime_checkable
class MemberEvidenceClassifier(Classifier, Protocol):
    """A classifier made of members that can say how much each pushed a crop's score
    (a blend, models/blend.py): `evidence_names` is () when it cannot; `has_track_head` says
    whether `scores` gives each crop's track contribution."""

    @property
    def evidence_names(self) -> tuple[str, ...]: ...

    @property
    def has_track_head(self) -> bool: ...

    def scores(self, crops_rgb_uint8: np.ndarray) -> CropScores: ...


@runtime_checkable
class ColumnsClassifier(Classifier, Protocol):
    """A classifier that can give every output column of its model (`OUTPUT_COLUMNS`):
    `columns` per crop, the first of which is `predict`'s probability."""

    @property
    def columns(self) -> int: ...

    def predict_outputs(self, crops_rgb_uint8: np.ndarray) -> np.ndarray: ...


def output_columns(classifier: Classifier) -> int:
    """How many columns per crop the classifier's model gives (1 unless it says otherwise)."""
    return classifier.columns if isinstance(classifier, ColumnsClassifier) else 1


def checked_probabilities(raw: np.ndarray, count: int, model_name: str) -> np.ndarray:
    """`raw` as (count,) float64 probabilities; ModelOutputError when any is NaN, inf or
    outside [0, 1] (a model with broken weights), or when there are not `count` of them."""
    values = np.asarray(raw, dtype=np.float64).reshape(-1)
    if values.size != count:
        raise ModelOutputError(
            f"{model_name} gave {values.size} scores for {count} face crops: "
            "it needs one sigmoid output"
        )
    bad = ~np.isfinite(values) | (values < 0.0) | (values > 1.0)
    if bad.any():
        example = values[bad][0]
        raise ModelOutputError(
            f"{model_name} gave {int(bad.sum())} of {count} scores that are not "
            f"probabilities (e.g. {example}): its weights are broken (NaN or inf); retrain or "
            "re-export it"
        )
    return values


def probe_classifier(classifier: Classifier, model_name: str) -> None:
    """Run a small probe batch through a freshly loaded classifier; ModelOutputError when its
    outputs are not probabilities, so a broken model fails at load, not halfway through a file."""
    size = classifier.spec.input_size
    noise = np.random.default_rng(PROBE_SEED).integers(0, 256, (size, size, 3), dtype=np.uint8)
    crops = np.stack([np.full((size, size, 3), 128, dtype=np.uint8), noise])[:PROBE_CROPS]
    checked_probabilities(classifier.predict(crops), len(crops), model_name)
