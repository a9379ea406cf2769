"""Temporal features on synthetic face-mesh sequences: meaning, invariance, short tracks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from temporal_synth import FAKE, REAL, Motion, talking_face

from deepfake_analyzer.temporal.features import (
    FEATURE_NAMES,
    MIN_FRAMES,
    NoTemporalScore,
    TemporalFeatures,
    compute_features,
)


def feats(points: np.ndarray, times: np.ndarray) -> dict[str, float]:
    result = compute_features(points, times)
    assert isinstance(result, TemporalFeatures), result
    return result.as_dict()


def test_one_finite_value_per_name() -> None:
    result = compute_features(*talking_face(REAL))
    assert isinstance(result, TemporalFeatures)
    assert len(result.values) == len(FEATURE_NAMES) == len(set(FEATURE_NAMES))
    assert np.isfinite(result.as_array()).all()
    assert result.frames == 80 and result.duration_s == pytest.approx(9.875)


def test_real_talker_blinks_and_moves_jaw_with_mouth() -> None:
    real = feats(*talking_face(REAL))
    # blinks at t = 2.15, 5.15, 8.15 s in a 10 s track
    assert real["blinks_per_s"] == pytest.approx(3 / 9.875, abs=1e-6)
    assert real["ear_min_ratio"] < 0.5
    assert real["eye_sync_corr"] > 0.9
    assert real["mouth_jaw_corr"] > 0.9
    assert real["mouth_cheek_corr"] < -0.5  # cheeks narrow as the jaw opens


def test_fake_talker_frozen_eyes_frozen_jaw_and_jitter() -> None:
    real = feats(*talking_face(REAL))
    fake = feats(*talking_face(FAKE))
    assert fake["blinks_per_s"] == 0.0
    assert fake["ear_std"] < 1e-9 < real["ear_std"]
    assert fake["mouth_jaw_corr"] == 0.0  # a constant jaw has no correlation
    assert fake["pose_speed_mean"] < 1e-9 < real["pose_speed_mean"]


def test_lip_jitter_shows_in_the_mouth_not_the_upper_face() -> None:
    real = feats(*talking_face(REAL))
    jittery = feats(*talking_face(replace(REAL, lip_jitter=0.02)))
    assert jittery["jitter_mouth"] > 1.5 * real["jitter_mouth"]
    assert jittery["jitter_ratio"] > real["jitter_ratio"] + 0.3
    assert jittery["jitter_upper"] == pytest.approx(real["jitter_upper"], rel=0.25)


def test_mouth_moves_at_syllable_rate() -> None:
    real = feats(*talking_face(REAL))
    assert real["mouth_speech_band"] > 0.5
    slow = Motion(fps=8.0)
    points, times = talking_face(slow)
    # the same motion played 4x slower puts its energy below the speech band
    assert feats(points, times * 4.0)["mouth_speech_band"] < 0.2


@pytest.mark.parametrize(
    ("scale", "centre", "angle"),
    [(40.0, (50.0, 60.0), 0.0), (400.0, (900.0, 500.0), 0.0), (120.0, (320.0, 240.0), 0.4)],
)
def test_invariant_to_face_size_position_and_rotation(scale, centre, angle) -> None:
    reference = compute_features(*talking_face(REAL, seed=3)).as_array()
    moved = compute_features(
        *talking_face(REAL, seed=3, scale_px=scale, centre_px=centre, angle_rad=angle)
    ).as_array()
    roll = FEATURE_NAMES.index("roll_std")
    assert np.allclose(moved, reference, rtol=1e-5, atol=1e-7), [
        (n, a, b) for n, a, b in zip(FEATURE_NAMES, reference, moved, strict=True) if a != b
    ]
    assert moved[roll] == pytest.approx(reference[roll], abs=1e-9)


def test_rates_come_from_timestamps_not_frame_indices() -> None:
    points, times = talking_face(REAL)
    base = feats(points, times)
    slowed = feats(points, times * 2.0)  # same frames, twice the time between them
    assert slowed["mouth_speed_mean"] == pytest.approx(base["mouth_speed_mean"] / 2)
    assert slowed["blinks_per_s"] == pytest.approx(base["blinks_per_s"] / 2)
    assert slowed["pose_accel_mean"] == pytest.approx(base["pose_accel_mean"] / 4)


def test_variable_frame_rate_sampling_measures_the_same_motion() -> None:
    rng = np.random.default_rng(7)
    uniform = feats(*talking_face(REAL, times_s=np.arange(0, 10, 1 / 12)))
    irregular_times = np.cumsum(rng.uniform(1 / 20, 1 / 8, 160))
    irregular_times = irregular_times[irregular_times < 10]
    irregular = feats(*talking_face(REAL, times_s=irregular_times))
    for name in ("blinks_per_s", "mouth_open_mean", "ear_mean", "mouth_jaw_corr"):
        assert irregular[name] == pytest.approx(uniform[name], rel=0.15, abs=0.02), name


def test_short_tracks_get_no_score_with_a_reason() -> None:
    points, times = talking_face(REAL)
    few = compute_features(points[: MIN_FRAMES - 1], times[: MIN_FRAMES - 1])
    assert isinstance(few, NoTemporalScore)
    assert few.reason == "too-few-frames" and few.frames == MIN_FRAMES - 1
    assert str(MIN_FRAMES) in few.message
    dense = compute_features(*talking_face(Motion(fps=30.0, seconds=1.0)))
    assert isinstance(dense, NoTemporalScore) and dense.reason == "too-short"
    assert compute_features(points[:0], times[:0]).reason == "too-few-frames"


def test_rejects_bad_shapes_and_times() -> None:
    points, times = talking_face(REAL)
    with pytest.raises(ValueError, match="468"):
        compute_features(points[:, :100], times)
    with pytest.raises(ValueError, match="timestamps"):
        compute_features(points, times[:-1])
    with pytest.raises(ValueError, match="increase"):
        compute_features(points, times[::-1].copy())


def test_two_dimensional_points_give_the_same_features() -> None:
    points, times = talking_face(REAL)
    assert np.array_equal(
        compute_features(points, times).as_array(),
        compute_features(points[:, :, :2], times).as_array(),
    )
