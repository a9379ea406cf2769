"""Metrics checked against values computed by hand on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deepfake_analyzer.training.metrics import (
    accuracy_at,
    average_precision,
    compute_metrics,
    equal_error_rate,
    false_positive_rate_at,
    log_loss,
    roc_auc,
    roc_curve,
    score_histogram,
    true_positive_rate_at,
)

# reals score 0.1 and 0.4; fakes 0.35 and 0.8
LABELS = [0, 0, 1, 1]
SCORES = [0.1, 0.4, 0.35, 0.8]


def test_auc_counts_pairs_won_by_the_fake() -> None:
    # fake-real pairs: 0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3 of 4
    assert roc_auc(LABELS, SCORES) == pytest.approx(3 / 4)


def test_auc_counts_a_tie_as_half_a_win() -> None:
    # reals 0.5, 0.2; fakes 0.5, 0.9: (0.5 tie + 1 + 1 + 1) / 4 pairs
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == pytest.approx(3.5 / 4)
    # every score equal: every pair a tie -> chance
    assert roc_auc([0, 1, 1, 0, 1], [0.3] * 5) == pytest.approx(0.5)


def test_auc_of_perfect_and_inverted_rankings() -> None:
    assert roc_auc([0, 0, 1], [0.1, 0.2, 0.3]) == 1.0
    assert roc_auc([1, 1, 0], [0.1, 0.2, 0.3]) == 0.0


def test_auc_equals_the_trapezoid_area_under_the_roc_curve() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.3 * labels, 1)  # rounding makes many ties
    curve = roc_curve(labels, scores)
    trapezoid = float(np.sum(np.diff(curve.fpr) * (curve.tpr[1:] + curve.tpr[:-1]) / 2))
    assert roc_auc(labels, scores) == pytest.approx(trapezoid, abs=1e-12)


def test_auc_is_nan_without_both_classes() -> None:
    assert math.isnan(roc_auc([1, 1], [0.2, 0.9]))
    assert math.isnan(average_precision([0, 0], [0.2, 0.9]))


def test_roc_curve_points() -> None:
    # descending: 0.8 (fake) 0.4 (real) 0.35 (fake) 0.1 (real); 2 reals, 2 fakes
    # >=0.8: tpr 1/2 fpr 0; >=0.4: tpr 1/2 fpr 1/2; >=0.35: tpr 1 fpr 1/2; >=0.1: 1, 1
    curve = roc_curve(LABELS, SCORES)
    np.testing.assert_allclose(curve.fpr, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(curve.tpr, [0, 0.5, 0.5, 1, 1])
    np.testing.assert_allclose(curve.thresholds, [np.inf, 0.8, 0.4, 0.35, 0.1])


def test_roc_curve_moves_diagonally_through_ties_and_drops_collinear_points() -> None:
    # one real and one fake tied at 0.5, then a fake at 0.2, then a real at 0.1
    # >=0.5: tpr 1/2 fpr 1/2 (diagonal); >=0.2: tpr 1, fpr 1/2; >=0.1: 1, 1
    curve = roc_curve([0, 1, 1, 0], [0.5, 0.5, 0.2, 0.1])
    np.testing.assert_allclose(curve.fpr, [0, 0.5, 0.5, 1])
    np.testing.assert_allclose(curve.tpr, [0, 0.5, 1, 1])
    # the points at >=0.7 and >=0.6 lie on one line from (0,0) to (0,1): only the ends stay
    curve = roc_curve([1, 1, 0], [0.7, 0.6, 0.1])
    np.testing.assert_allclose(curve.fpr, [0, 0, 1])
    np.testing.assert_allclose(curve.tpr, [0, 1, 1])


def test_average_precision_by_hand() -> None:
    # >=0.8: P 1/1 R 1/2; >=0.4: P 1/2 R 1/2; >=0.35: P 2/3 R 1; >=0.1: P 2/4 R 1
    # AP = (1/2 - 0) * 1 + 0 * 1/2 + (1 - 1/2) * 2/3 + 0 * 1/2 = 1/2 + 1/3
    assert average_precision(LABELS, SCORES) == pytest.approx(0.5 + 1 / 3)


def test_average_precision_treats_tied_scores_as_one_threshold() -> None:
    # all tied: one threshold with P 2/4 and R 1 -> AP = 1 * 1/2
    assert average_precision([0, 1, 1, 0], [0.5] * 4) == pytest.approx(0.5)


def test_rates_and_accuracy_at_a_threshold() -> None:
    # threshold 0.4: called fake = 0.4 (real), 0.8 (fake); right: 0.1 real, 0.8 fake -> 2/4
    assert accuracy_at(LABELS, SCORES, 0.4) == pytest.approx(0.5)
    assert false_positive_rate_at(LABELS, SCORES, 0.4) == pytest.approx(0.5)  # 0.4 of {0.1,0.4}
    assert true_positive_rate_at(LABELS, SCORES, 0.4) == pytest.approx(0.5)  # 0.8 of {0.35,0.8}
    # threshold 0.3: reals 0.1 ok, 0.4 wrong; fakes both right -> 3/4
    assert accuracy_at(LABELS, SCORES, 0.3) == pytest.approx(0.75)
    assert math.isnan(false_positive_rate_at([1, 1], [0.2, 0.3], 0.5))


def test_equal_error_rate_interpolates_between_roc_points() -> None:
    # reals 0.2 0.7 0.8, fakes 0.3 0.9. Descending:
    #   >=0.9: FPR 0,   FNR 1/2 -> FPR-FNR = -1/2
    #   >=0.8: FPR 1/3, FNR 1/2 -> -1/6
    #   >=0.7: FPR 2/3, FNR 1/2 -> +1/6
    # sign change halfway between the last two: EER = 1/3 + 1/2 * 1/3 = 1/2, threshold 0.75
    eer, threshold = equal_error_rate([0, 0, 0, 1, 1], [0.2, 0.7, 0.8, 0.3, 0.9])
    assert eer == pytest.approx(0.5)
    assert threshold == pytest.approx(0.75)


def test_equal_error_rate_on_an_exact_crossing_and_perfect_separation() -> None:
    # LABELS/SCORES: >=0.8 FPR 0 FNR 1/2; >=0.4 FPR 1/2 FNR 1/2 -> exact, at threshold 0.4
    assert equal_error_rate(LABELS, SCORES) == pytest.approx((0.5, 0.4))
    eer, _ = equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert eer == 0.0


def test_log_loss_by_hand() -> None:
    # -(ln 0.8 + ln (1 - 0.4)) / 2 = (0.223144 + 0.510826) / 2
    assert log_loss([1, 0], [0.8, 0.4]) == pytest.approx(0.366985, abs=1e-6)
    # clipping keeps a confident mistake finite: -ln(1e-7) = 16.118
    assert log_loss([1], [0.0]) == pytest.approx(16.118096, abs=1e-5)


def test_score_histogram_counts_per_class() -> None:
    hist = score_histogram([0, 0, 1, 1, 1], [0.1, 0.3, 0.6, 0.95, 1.0], bins=4)
    np.testing.assert_allclose(hist.edges, [0, 0.25, 0.5, 0.75, 1.0])
    assert hist.real_counts.tolist() == [1, 1, 0, 0]
    assert hist.fake_counts.tolist() == [0, 0, 1, 2]  # 1.0 falls in the last bin


def test_per_sample_thresholds_read_each_sample_at_its_own() -> None:
    # reals 0.1, 0.4; fakes 0.35, 0.8. At 0.3 alone: FPR 1/2, TPR 2/2. Reading the real 0.4
    # and the fake 0.35 at a raised 0.5 calls neither fake.
    plain = compute_metrics(LABELS, SCORES, {"fake": 0.3}).at_thresholds[0]
    read = compute_metrics(
        LABELS, SCORES, {"fake": 0.3}, {"fake": np.array([0.3, 0.5, 0.5, 0.3])}
    ).at_thresholds[0]
    assert (plain.false_positive_rate, plain.true_positive_rate, plain.raised) == (0.5, 1.0, 0)
    assert (read.false_positive_rate, read.true_positive_rate) == (0.0, 0.5)
    assert read.threshold == 0.3 and read.raised == 2 and read.to_dict()["raised"] == 2
    assert read.accuracy == pytest.approx(0.75)
    with pytest.raises(ValueError, match="one value per score"):
        compute_metrics(LABELS, SCORES, {"fake": 0.3}, {"fake": np.array([0.3])})


def test_compute_metrics_bundles_everything_and_serialises_nan_as_null() -> None:
    m = compute_metrics(LABELS, SCORES, {"fake": 0.4})
    assert (m.num_real, m.num_fake) == (2, 2)
    assert m.auc == pytest.approx(0.75)
    assert m.at_thresholds[0].accuracy == pytest.approx(0.5)
    only_fakes = compute_metrics([1, 1], [0.2, 0.9]).to_dict()
    assert only_fakes["auc"] is None and only_fakes["eer"] is None


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="length"):
        roc_auc([0, 1], [0.5])
    with pytest.raises(ValueError, match="0 \\(real\\) or 1"):
        roc_auc([0, 2], [0.5, 0.6])
    with pytest.raises(ValueError, match="finite"):
        roc_auc([0, 1], [0.5, float("nan")])


def test_auc_and_ap_match_brute_force_definitions() -> None:
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 60)
    scores = np.round(rng.random(60) * 0.6 + 0.4 * labels, 1)  # many ties
    fakes, reals = scores[labels == 1], scores[labels == 0]
    pairs = [(f > r) + 0.5 * (f == r) for f in fakes for r in reals]
    assert roc_auc(labels, scores) == pytest.approx(np.mean(pairs))
    # AP: for each distinct threshold t (descending), recall gain x precision at t
    ap, last_recall = 0.0, 0.0
    for t in sorted(set(scores), reverse=True):
        called = scores >= t
        recall = (called & (labels == 1)).sum() / (labels == 1).sum()
        precision = (called & (labels == 1)).sum() / called.sum()
        ap += (recall - last_recall) * precision
        last_recall = recall
    assert average_precision(labels, scores) == pytest.approx(ap)
