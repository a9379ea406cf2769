"""Cluster-bootstrap intervals of an AUC and of two models' AUC difference."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.training.bootstrap import (
    auc_difference,
    auc_interval,
    cluster_weights,
    pair_matrix,
    share_interval,
    weighted_auc,
)
from deepfake_analyzer.training.metrics import roc_auc


def test_a_resample_draws_whole_clusters() -> None:
    clusters = ["a", "a", "a", "b", "c"]
    weights = cluster_weights(clusters, 500, np.random.default_rng(0))
    assert weights.shape == (500, 5)
    assert (weights[:, 0] == weights[:, 1]).all() and (weights[:, 1] == weights[:, 2]).all()
    # three clusters drawn per resample, whatever their sizes
    assert (weights[:, [0, 3, 4]].sum(axis=1) == 3).all()


def test_unit_weights_give_the_plain_auc() -> None:
    rng = np.random.default_rng(1)
    real, fake = rng.normal(0, 1, 30), rng.normal(0.5, 1, 20)
    fake[:3] = real[:3]  # ties count one half, as in roc_auc
    pairs = pair_matrix(real, fake)
    auc = weighted_auc(pairs, np.ones((1, 30)), np.ones((1, 20)))[0]
    labels = np.r_[np.zeros(30), np.ones(20)]
    assert auc == pytest.approx(roc_auc(labels, np.r_[real, fake]))


def test_an_interval_widens_when_files_cluster() -> None:
    rng = np.random.default_rng(2)
    real = rng.normal(0, 1, 40)
    # 40 fakes from 4 generators whose means differ a lot: the AUC hangs on which are drawn
    fake = np.concatenate([rng.normal(m, 0.2, 10) for m in (-1.0, 0.0, 1.0, 2.0)])
    people = [f"p{i}" for i in range(40)]
    by_file = auc_interval(real, people, fake, [f"f{i}" for i in range(40)])
    by_generator = auc_interval(real, people, fake, [f"g{i // 10}" for i in range(40)])
    assert by_file.value == pytest.approx(by_generator.value)
    assert by_file.low <= by_file.value <= by_file.high
    assert by_generator.high - by_generator.low > 2 * (by_file.high - by_file.low)
    assert np.isnan(auc_interval([], [], [0.5], ["g"]).value)


def test_a_paired_difference_is_surer_than_two_intervals() -> None:
    rng = np.random.default_rng(3)
    real_a, fake_a = rng.normal(0, 1, 50), rng.normal(0.6, 1, 50)
    # model B: the same scores, each fake nudged up a little (a small, consistent gain)
    real_b, fake_b = real_a, fake_a + 0.15
    people, gens = [f"p{i}" for i in range(50)], [f"g{i % 10}" for i in range(50)]
    diff = auc_difference((real_a, real_b), (fake_a, fake_b), people, gens)
    a, b = auc_interval(real_a, people, fake_a, gens), auc_interval(real_b, people, fake_b, gens)
    assert diff.value == pytest.approx(b.value - a.value)
    assert diff.value > 0 and diff.excludes(0.0)  # paired: the gain is clear
    assert a.high > b.low  # unpaired intervals overlap and would hide it
    same = auc_difference((real_a, real_a), (fake_a, fake_a), people, gens)
    assert same.value == 0 and same.low == 0 and same.high == 0


def test_a_share_interval_draws_a_persons_files_together() -> None:
    # 60 real clips of which 9 are called fake: spread over 9 people, or all of one person's
    hits = np.zeros(60, dtype=bool)
    hits[:9] = True
    by_file = share_interval(hits, [f"p{i}" for i in range(60)])
    one_person = share_interval(hits, ["p0"] * 9 + [f"p{i}" for i in range(1, 52)])
    assert by_file.value == pytest.approx(0.15) == one_person.value
    assert by_file.low < 0.15 < by_file.high
    # one person's nine clips come in or stay out together: 0 or 9 of ~60, so far wider
    assert one_person.low == 0.0
    assert one_person.high - one_person.low > 1.5 * (by_file.high - by_file.low)
    assert share_interval(np.ones(4, bool), ["a", "b", "c", "d"]).low == 1.0
    assert np.isnan(share_interval([], []).value)
