"""How sure an AUC is: cluster-bootstrap intervals, for one model or two models' difference.

The held-out table rests on a few dozen videos of a handful of generators and people, so a
file-by-file bootstrap would overstate what it knows: files of one generator (or one person)
move together. Resampling is therefore by cluster: reals by identity group, fakes by
generator (or by group within one generator). Each resample draws as many clusters as there
are, with replacement, and every file weighs how often its cluster was drawn; the AUC of a
resample is the weighted Mann-Whitney statistic over the pairs (fake, real).

A comparison of two models on the same files uses the same resamples for both (paired), so
the interval is that of their difference, not two overlapping intervals. A share (of held-out
reals a verdict called fake) is resampled the same way (`share_interval`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
INTERVAL = 0.95
"""Central share of the resampled AUCs (or differences) an interval spans (percentiles)."""


def cluster_weights(
    clusters: Sequence[str], resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """(resamples, len(clusters)) weights: per resample, as many clusters drawn as there
    are, with replacement; each file weighs how often its cluster was drawn."""
    names, index = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    counts = rng.multinomial(len(names), np.full(len(names), 1.0 / len(names)), size=resamples)
    return counts[:, index].astype(np.float64)


def pair_matrix(
    real: Sequence[float] | np.ndarray, fake: Sequence[float] | np.ndarray
) -> np.ndarray:
    """(reals, fakes): 1 where the fake scores above the real, 0.5 on a tie, else 0."""
    r = np.asarray(real, dtype=np.float64)[:, None]
    f = np.asarray(fake, dtype=np.float64)[None, :]
    pairs: np.ndarray = (f > r) + 0.5 * (f == r)
    return pairs


def weighted_auc(pairs: np.ndarray, w_real: np.ndarray, w_fake: np.ndarray) -> np.ndarray:
    """AUC of each resample (rows of the weights) from `pair_matrix`."""
    numerator = np.sum((w_real @ pairs) * w_fake, axis=1)
    auc: np.ndarray = numerator / (w_real.sum(axis=1) * w_fake.sum(axis=1))
    return auc


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap interval."""

    value: float
    low: float
    high: float

    def excludes(self, value: float) -> bool:
        return not self.low <= value <= self.high


def _weights(
    real_clusters: Sequence[str], fake_clusters: Sequence[str], resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    w_real = cluster_weights(real_clusters, resamples, rng)
    return w_real, cluster_weights(fake_clusters, resamples, rng)


def _bounds(samples: np.ndarray) -> tuple[float, float]:
    tail = (1.0 - INTERVAL) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return float(low), float(high)


def auc_interval(
    real: Sequence[float],
    real_clusters: Sequence[str],
    fake: Sequence[float],
    fake_clusters: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The AUC of `fake` against `real` and its cluster-bootstrap interval (NaN without both
    classes)."""
    if not len(real) or not len(fake):
        return Interval(float("nan"), float("nan"), float("nan"))
    pairs = pair_matrix(np.asarray(real), np.asarray(fake))
    w_real, w_fake = _weights(real_clusters, fake_clusters, resamples, seed)
    return Interval(float(pairs.mean()), *_bounds(weighted_auc(pairs, w_real, w_fake)))


def auc_difference(
    real: tuple[Sequence[float], Sequence[float]],
    fake: tuple[Sequence[float], Sequence[float]],
    real_clusters: Sequence[str],
    fake_clusters: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """AUC of model B minus AUC of model A on the same files (`real` and `fake` hold (A, B)
    scores in the same order), with a paired cluster-bootstrap interval."""
    if not len(real[0]) or not len(fake[0]):
        return Interval(float("nan"), float("nan"), float("nan"))
    pairs_a = pair_matrix(np.asarray(real[0]), np.asarray(fake[0]))
    pairs_b = pair_matrix(np.asarray(real[1]), np.asarray(fake[1]))
    w_real, w_fake = _weights(real_clusters, fake_clusters, resamples, seed)
    samples = weighted_auc(pairs_b, w_real, w_fake) - weighted_auc(pairs_a, w_real, w_fake)
    return Interval(float(pairs_b.mean() - pairs_a.mean()), *_bounds(samples))


def share_interval(
    hits: Sequence[bool] | np.ndarray,
    clusters: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The share of files that are `hits` and its cluster-bootstrap interval: files of one
    cluster (a person's clips) are drawn together (NaN without files)."""
    return _share(np.asarray(hits, dtype=np.float64), clusters, resamples, seed)


def share_difference(
    hits: tuple[Sequence[bool] | np.ndarray, Sequence[bool] | np.ndarray],
    clusters: Sequence[str],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """Model B's share of hits minus model A's on the same files (`hits` holds (A, B) in the
    same order), with a paired cluster-bootstrap interval (NaN without files)."""
    a, b = (np.asarray(h, dtype=np.float64) for h in hits)
    return _share(b - a, clusters, resamples, seed)


def _share(values: np.ndarray, clusters: Sequence[str], resamples: int, seed: int) -> Interval:
    """The mean of per-file `values` and its cluster-bootstrap interval (NaN without files)."""
    if not len(values):
        return Interval(float("nan"), float("nan"), float("nan"))
    w = cluster_weights(clusters, resamples, np.random.default_rng(seed))
    return Interval(float(values.mean()), *_bounds((w @ values) / w.sum(axis=1)))
