"""The noise-residual model: how a crop's high-pass residuals co-occur, read by a linear probe.

Contract: a spec with `architecture` `ARCHITECTURE` and `weights_format` `WEIGHTS_FORMAT` names a
small `.npz` (`ResidualProbe`: the features' standardisation, the probe's weights and bias)
beside it; its classifier (models/feature_probe.py) takes (N, S, S, 3) uint8 RGB crops and
returns the probability that each face's noise was rendered rather than filmed. No network and no
downloaded weights: the features are steganalysis statistics (SPAM / rich-model style) in numpy,
about 5 ms a crop, and the probe is the only fitted part.

Features (`residual_features`, `FEATURE_SIZE` = 1,331 per crop, on the 8-bit luma and chroma
of the crop, OpenCV's YCrCb):

- residuals of the luma, each rounded after dividing by its step and clipped to [-`T`, `T`]:
  first order (x[i+1] - x[i], step 1), second order (x[i-1] - 2x[i] + x[i+1], step 2), the 3x3
  "KB" kernel (step 1) and third order (step 3);
- of each residual, the histogram of three neighbouring values (`cooccurrence`, 125 bins): along
  rows for the horizontal residual plus along columns for the vertical one;
- the same first-order histogram for the inner face (the crop's central 60 %), for its central
  70 % and the 15 % border ring around it (and the difference of the two), for both chroma
  channels, and of four neighbours clipped to [-1, 1] (81 bins);
- square roots of the frequencies (each histogram sums to one).

A texture blend (`train-texture --region residual`, models/blend.py) holds it as a member beside
the EfficientNet-Lite0 probes, which read ImageNet statistics of the same crops: this one reads
camera noise and compression against a generator's rendering. The v4 card's section "Tried since
shipping: noise-residual co-occurrences" measured the recipe on the crop path; the shipped
default since v9 holds one (`models/deepfake_v9.md`; since v12 one fitted with
`train-texture --match-resolution`, `models/deepfake_v12.md`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from deepfake_analyzer.models.feature_probe import FeatureProbe, ProbeClassifier, load_probe_model
from deepfake_analyzer.models.spec import ModelSpec

ARCHITECTURE = "noise-residual-cooc"
"""The `architecture` name of the residual model in model specs."""
WEIGHTS_FORMAT = "residual-probe"
"""The `weights_format` of a residual model's spec: its weights file is a `ResidualProbe`."""
FEATURES_VERSION = 1
"""Bumped whenever `residual_features` changes: a probe fitted on other features is refused."""
T = 2
"""Residuals are clipped to [-T, T]: 5 values, 125 bins for three neighbours."""
FOUR_T = 1
"""Four-neighbour histograms clip to [-1, 1]: 81 bins."""
INNER = (0.2, 0.8)
"""The inner face: the crop's central 60 % (rows and columns)."""
RING = (0.15, 0.85)
"""The central 70 % and, outside it, the border ring."""
KB = np.array([[-1, 2, -1], [2, -4, 2], [-1, 2, -1]], np.float32) / 4
BINS = (2 * T + 1) ** 3
FEATURE_SIZE = 10 * BINS + (2 * FOUR_T + 1) ** 4
MIN_SIZE = 32
"""Smallest crop side read: the border ring (15 %) must hold a run of three residuals."""


def _quantised(residual: np.ndarray, step: float, t: int = T) -> np.ndarray:
    return np.clip(np.round(residual / step), -t, t).astype(np.int8)


def cooccurrence(q: np.ndarray, axis: int, t: int = T, order: int = 3) -> np.ndarray:
    """Frequencies of `order` consecutive values of `q` (ints in [-t, t]) along `axis` (1: rows,
    0: columns): (2t + 1) ** order bins, summing to one."""
    base = 2 * t + 1
    bins = base**order
    q = np.asarray(q)
    n = q.shape[axis] - order + 1
    if n <= 0:  # too short for one run of `order` values
        return np.zeros(bins)
    small = bins <= 256  # uint8 bin indices, counted by OpenCV's histogram (the shipped sizes)
    shifted = (q + t).astype(np.uint8 if small else np.int32)

    def run(k: int) -> np.ndarray:  # the k-th value of every run, sliced along `axis`
        return shifted[:, k : k + n] if axis == 1 else shifted[k : k + n]

    index = run(0).copy()
    for k in range(1, order):
        index *= base
        index += run(k)
    if small:
        import cv2

        counts = cv2.calcHist([index], [0], None, [bins], [0, bins]).ravel().astype(np.float64)
    else:
        counts = np.bincount(index.ravel(), minlength=bins).astype(np.float64)
    return np.asarray(counts / max(counts.sum(), 1.0))


def _first_order(x: np.ndarray, t: int = T, order: int = 3) -> np.ndarray:
    """Horizontal first-order residuals along rows plus vertical ones along columns; `x` holds
    whole numbers (8-bit channels as int16), so the residuals need no rounding."""
    h = np.clip(x[:, 1:] - x[:, :-1], -t, t)
    v = np.clip(x[1:] - x[:-1], -t, t)
    return np.asarray(cooccurrence(h, 1, t, order) + cooccurrence(v, 0, t, order))


def _crop_features(rgb: np.ndarray) -> np.ndarray:
    import cv2

    rgb8 = np.ascontiguousarray(rgb, np.uint8)
    ycc = cv2.cvtColor(rgb8, cv2.COLOR_RGB2YCrCb).astype(np.int16)  # first-order residuals exact
    y = ycc[..., 0].astype(np.float32)
    yi = ycc[..., 0]
    n = y.shape[0]
    second_h = _quantised(y[:, :-2] - 2 * y[:, 1:-1] + y[:, 2:], 2)
    second_v = _quantised(y[:-2] - 2 * y[1:-1] + y[2:], 2)
    kb = _quantised(cv2.filter2D(y, -1, KB)[1:-1, 1:-1], 1)
    third_h = _quantised(y[:, 3:] - 3 * y[:, 2:-1] + 3 * y[:, 1:-2] - y[:, :-3], 3)
    third_v = _quantised(y[3:] - 3 * y[2:-1] + 3 * y[1:-2] - y[:-3], 3)
    a, b = (int(f * n) for f in INNER)
    r0, r1 = (int(f * n) for f in RING)
    pairs = [  # each the sum of a horizontal and a vertical histogram
        _first_order(yi),
        cooccurrence(second_h, 1) + cooccurrence(second_v, 0),
        cooccurrence(kb, 1) + cooccurrence(kb, 0),
        _first_order(yi[a:b, a:b]),
        _first_order(ycc[..., 1]),
        _first_order(ycc[..., 2]),
    ]
    inner = np.sqrt(_first_order(yi[r0:r1, r0:r1]) / 2)
    strips = (yi[:r0], yi[r1:], yi[:, :r0], yi[:, r1:])
    ring = np.sqrt(sum((_first_order(s) for s in strips), np.zeros(BINS)) / 8)
    third = np.sqrt((cooccurrence(third_h, 1) + cooccurrence(third_v, 0)) / 2)
    four = np.sqrt(_first_order(yi, FOUR_T, 4) / 2)
    return np.concatenate(
        [np.sqrt(np.concatenate(pairs) / 2), inner, ring, inner - ring, third, four]
    )


def residual_features(crops_rgb_uint8: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 RGB crops -> (N, `FEATURE_SIZE`) float64 (module docstring)."""
    crops = np.asarray(crops_rgb_uint8)
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.shape[1] != crops.shape[2]:
        raise ValueError(f"expected (N, S, S, 3) RGB crops, got shape {crops.shape}")
    if crops.shape[1] < MIN_SIZE:
        raise ValueError(f"crops of {crops.shape[1]} px are too small for residual statistics")
    if not len(crops):
        return np.zeros((0, FEATURE_SIZE))
    return np.stack([_crop_features(c) for c in crops])


class ResidualProbe(FeatureProbe):
    """The probe on `residual_features` (models/feature_probe.py)."""

    size = FEATURE_SIZE
    version = FEATURES_VERSION
    features = "residual"
    architecture = ARCHITECTURE
    weights_format = WEIGHTS_FORMAT


def load_residual(spec: ModelSpec, spec_path: Path) -> ProbeClassifier:
    """The residual model `spec` (read from `spec_path`) describes (`load_probe_model`)."""
    return load_probe_model(spec, spec_path, ResidualProbe, lambda: residual_features)
