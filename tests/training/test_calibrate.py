"""Temperature and Platt fits, thresholds for target false-positive rates, spec writing."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from deepfake_analyzer.errors import OutputExistsError, UsageError
from deepfake_analyzer.models.spec import Calibration, ModelSpec, Thresholds
from deepfake_analyzer.training.calibrate import (
    calibrate_spec,
    choose_thresholds,
    fit_platt,
    fit_temperature,
    logits,
    threshold_for_fpr,
    write_spec,
)
from deepfake_analyzer.training.metrics import log_loss


def _overconfident(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z) but reported as sigmoid(3 z): the true temperature is 3."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 2.0, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    return 1 / (1 + np.exp(-3 * z)), labels


def test_temperature_recovers_the_overconfidence_factor() -> None:
    probs, labels = _overconfident()
    cal = fit_temperature(probs, labels)
    assert cal.method == "temperature"
    assert cal.temperature == pytest.approx(3.0, rel=0.1)
    assert log_loss(labels, cal.apply(probs)) < log_loss(labels, probs) - 0.05


def test_temperature_of_a_calibrated_model_stays_near_one() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(0.0, 2.0, 4000)
    labels = (rng.random(z.size) < 1 / (1 + np.exp(-z))).astype(int)
    cal = fit_temperature(1 / (1 + np.exp(-z)), labels)
    assert cal.temperature == pytest.approx(1.0, rel=0.1)


def test_platt_recovers_scale_and_shift() -> None:
    # true p = sigmoid(0.5 * z - 1) for reported logit z (about 3 reals per fake)
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 3.0, 6000)
    labels = (rng.random(z.size) < 1 / (1 + np.exp(-(0.5 * z - 1)))).astype(int)
    probs = 1 / (1 + np.exp(-z))
    plain = fit_platt(probs, labels, balanced=False)
    assert plain.a == pytest.approx(0.5, abs=0.08)
    assert plain.b == pytest.approx(-1.0, abs=0.15)
    # weighting the classes equally moves the prior to 50/50: b gains log(n_real / n_fake)
    balanced = fit_platt(probs, labels)
    n_fake = labels.sum()
    shift = np.log((labels.size - n_fake) / n_fake)
    assert shift > 0.5
    assert balanced.a == pytest.approx(0.5, abs=0.08)
    assert balanced.b == pytest.approx(-1.0 + shift, abs=0.15)


def test_balanced_fit_ignores_the_class_mix() -> None:
    # logits: reals ~ N(-1, 1), fakes ~ N(+1, 1), 20 fakes per real. Under an even prior
    # the posterior logit is log N(z; 1, 1) / N(z; -1, 1) = 2 z: a = 2, b = 0.
    rng = np.random.default_rng(4)
    z = np.r_[rng.normal(-1, 1, 300), rng.normal(1, 1, 6000)]
    labels = np.r_[np.zeros(300, int), np.ones(6000, int)]
    probs = 1 / (1 + np.exp(-z))
    balanced = fit_platt(probs, labels)
    assert balanced.a == pytest.approx(2.0, abs=0.25)
    assert balanced.b == pytest.approx(0.0, abs=0.2)
    # unweighted, the 20:1 mix moves the intercept by log 20 = 3.0
    assert fit_platt(probs, labels, balanced=False).b == pytest.approx(np.log(20), abs=0.25)


def test_separable_data_gives_a_finite_sharp_fit() -> None:
    # Platt's smoothed targets keep the fit finite when classes do not overlap
    probs = np.array([0.4, 0.45, 0.48, 0.52, 0.55, 0.6])
    labels = np.array([0, 0, 0, 1, 1, 1])
    cal = fit_temperature(probs, labels)
    assert 0.01 <= cal.temperature < 1.0  # sharper than the raw scores
    calibrated = cal.apply(probs)
    assert calibrated[labels == 1].min() > 0.5 > calibrated[labels == 0].max()


def test_fits_need_both_classes() -> None:
    with pytest.raises(UsageError, match="both real and fake"):
        fit_temperature([0.2, 0.3], [0, 0])


def test_threshold_for_fpr_by_hand() -> None:
    reals = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    # 10 reals, 10 %: at most 1 may score >= t. 2nd highest is 0.8, next above is 0.9 -> 0.85
    assert threshold_for_fpr(reals, 0.10) == pytest.approx(0.85)
    # 20 %: at most 2 -> between 0.7 and 0.8
    assert threshold_for_fpr(reals, 0.20) == pytest.approx(0.75)
    # 2 % of 10 = 0 reals allowed: above the top real (0.9) by half the mean spacing of the
    # top five distinct reals (0.9 .. 0.5, spacing 0.1)
    assert threshold_for_fpr(reals, 0.02) == pytest.approx(0.95)


def test_threshold_above_every_real_follows_their_scale() -> None:
    # scores squeezed near 0.5 (a high temperature): the margin is their spacing, not half the
    # way to 1, so a fake a little above every real still reaches the threshold
    reals = [0.40, 0.50, 0.51, 0.52, 0.53, 0.54, 0.55]
    assert threshold_for_fpr(reals, 0.0) == pytest.approx(0.555)
    # one distinct value: nothing to measure a spacing on, so halfway to 1
    assert threshold_for_fpr([0.6, 0.6], 0.0) == pytest.approx(0.8)
    # never above 1 - 1e-4
    assert threshold_for_fpr([0.2, 0.6, 0.99], 0.0) < 1.0


def test_threshold_skips_over_ties() -> None:
    # reals 0.5 0.5 0.5 0.1: 25 % allows one, but the top three tie, so none may pass: the
    # threshold sits above 0.5 by half the spacing of the distinct reals (0.5, 0.1)
    assert threshold_for_fpr([0.5, 0.5, 0.5, 0.1], 0.25) == pytest.approx(0.7)


def test_choose_thresholds_meets_targets_and_orders_them() -> None:
    rng = np.random.default_rng(3)
    reals = rng.beta(2, 5, 500)
    choice = choose_thresholds(reals, 0.10, 0.02)
    assert choice.suspicious_fpr <= 0.10 and choice.fake_fpr <= 0.02
    assert choice.suspicious_fpr > 0.09  # not needlessly strict
    assert choice.thresholds.suspicious <= choice.thresholds.fake
    assert choice.notes == ()
    few = choose_thresholds(reals[:20], 0.10, 0.02)
    assert any("needs at least 50" in note for note in few.notes)
    with pytest.raises(UsageError, match="must not exceed"):
        choose_thresholds(reals, 0.01, 0.05)


def test_grouped_reals_each_keep_within_the_target() -> None:
    rng = np.random.default_rng(4)
    videos, photos = rng.beta(5, 4, 100), rng.beta(2, 6, 300)  # videos score higher
    pooled = choose_thresholds(np.r_[videos, photos], 0.10, 0.03)
    assert np.mean(videos >= pooled.thresholds.fake) > 0.03  # the mix hides the videos
    grouped = choose_thresholds({"video": videos, "image": photos}, 0.10, 0.03)
    assert grouped.thresholds == choose_thresholds(videos, 0.10, 0.03).thresholds
    for name, scores in (("video", videos), ("image", photos)):
        rates = grouped.by_group[name]
        assert rates["fake_fpr"] == pytest.approx(np.mean(scores >= grouped.thresholds.fake))
        assert rates["fake_fpr"] <= 0.03 and rates["suspicious_fpr"] <= 0.10
    assert grouped.num_real == 400 and grouped.to_dict()["by_group"]["video"]["num_real"] == 100


def test_thresholds_carry_the_real_videos_spread() -> None:
    rng = np.random.default_rng(5)
    videos = 1 / (1 + np.exp(-rng.normal(0.3, 0.6, 200)))
    photos = 1 / (1 + np.exp(-rng.normal(-1.0, 2.0, 200)))
    grouped = choose_thresholds({"video": videos, "image": photos}, 0.10, 0.03).thresholds
    assert grouped.real_mean == pytest.approx(0.3, abs=0.1)  # the videos', not the photos'
    assert grouped.real_std == pytest.approx(0.6, abs=0.08)
    assert grouped.for_faces(3).fake > grouped.fake
    alone = choose_thresholds(photos, 0.10, 0.03)  # no video group: all the reals
    assert alone.thresholds.real_std == pytest.approx(2.0, abs=0.3)
    assert alone.to_dict()["real_std"] == alone.thresholds.real_std
    few = choose_thresholds(videos[:19], 0.10, 0.05).thresholds
    assert few.real_mean is None and few.real_std is None and few.for_faces(3) is few


def test_calibrate_spec_fills_calibration_thresholds_and_metrics() -> None:
    probs, labels = _overconfident(2000)
    spec = ModelSpec(name="m", weights_file="m.keras", metrics={"trained_on": "x"})
    result = calibrate_spec(spec, probs, labels, method="platt", metrics={"video_auc": 0.9})
    new = result.spec
    assert new.calibration.method == "platt"
    assert new.thresholds == result.threshold_choice.thresholds
    assert new.metrics["video_auc"] == 0.9 and new.metrics["trained_on"] == "x"
    assert new.metrics["calibration"]["num_real"] == int((labels == 0).sum())
    assert result.log_loss_after < result.log_loss_before
    # thresholds are chosen on calibrated real scores
    real_calibrated = new.calibration.apply(probs[labels == 0])
    assert np.mean(real_calibrated >= new.thresholds.fake) <= 0.02
    assert spec.calibration == Calibration()  # the input is untouched


def test_write_spec_refuses_to_overwrite_and_rebases_weights(tmp_path) -> None:
    src_dir = tmp_path / "models"
    src_dir.mkdir()
    source = src_dir / "m.spec.json"
    spec = ModelSpec(name="m", weights_file="m.keras", thresholds=Thresholds(0.3, 0.6))
    spec.save(source)
    with pytest.raises(OutputExistsError, match="input model spec.*pass overwrite"):
        write_spec(spec, source, source_spec_path=source)
    out = write_spec(spec, tmp_path / "out" / "m.spec.json", source_spec_path=source)
    data = json.loads(out.read_text())
    assert data["weights_file"] == "../models/m.keras"
    assert ModelSpec.load(out).thresholds == Thresholds(0.3, 0.6)
    write_spec(spec, source, source_spec_path=source, overwrite=True)
    assert json.loads(source.read_text())["weights_file"] == "m.keras"
    based = replace(
        spec, weights_format="f16-npz", weights_base="b.f16.npz", weights_base_sha256="0" * 64
    )
    data = json.loads(write_spec(based, tmp_path / "o2" / "m.spec.json", source).read_text())
    assert data["weights_file"] == "../models/m.keras"
    assert data["weights_base"] == "../models/b.f16.npz"


def test_logits_clip_like_calibration() -> None:
    assert logits([0.0, 1.0]) == pytest.approx([-16.118, 16.118], abs=1e-3)


def test_thresholds_can_come_from_other_real_scores() -> None:
    probs, labels = _overconfident(500)
    seen = []

    def video_reals(calibration: Calibration) -> np.ndarray:
        seen.append(calibration)
        return np.linspace(0.0, 0.5, 100)  # 100 reals: 2 % allows 2 above the threshold

    result = calibrate_spec(ModelSpec(name="m"), probs, labels, threshold_real_scores=video_reals)
    assert seen == [result.calibration]
    # sorted descending the 3rd real is 0.5 - 2 * 0.5/99; the threshold sits halfway to the 2nd
    assert result.spec.thresholds.fake == pytest.approx(0.5 - 1.5 * 0.5 / 99)
