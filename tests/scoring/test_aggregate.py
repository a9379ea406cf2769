"""Aggregation rules checked against hand-computed values."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from deepfake_analyzer.models.spec import Thresholds
from deepfake_analyzer.report.types import Segment, Verdict
from deepfake_analyzer.scoring.aggregate import (
    AggregationRule,
    FaceScore,
    aggregate,
    find_segments,
    gap_breaks,
    smooth,
    top_k_count,
    track_score,
)

T = Thresholds(suspicious=0.5, fake=0.7)


def assert_verdict(verdict: Verdict, label: str, score: float) -> None:
    assert verdict.label == label
    assert verdict.score == pytest.approx(score)


def faces(track_id: int, scores: list[float], step_s: float = 0.5, start: int = 0):
    return [
        FaceScore(
            frame_index=start + i, timestamp_s=(start + i) * step_s, track_id=track_id, score=s
        )
        for i, s in enumerate(scores)
    ]


# --- per-track score ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "k"), [(1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (8, 2), (9, 3), (12, 3), (13, 4)]
)
def test_top_k_is_a_quarter_of_the_faces_rounded_up(n: int, k: int) -> None:
    assert top_k_count(n) == k


def test_track_score_is_mean_of_top_quarter() -> None:
    # 8 faces -> k = 2 -> mean(0.9, 0.8) = 0.85
    assert track_score([0.1, 0.9, 0.2, 0.8, 0.3, 0.1, 0.2, 0.4]) == pytest.approx(0.85)


def test_two_noisy_spikes_do_not_make_a_real_track_fake() -> None:
    # 20 faces -> k = 5: (0.95 + 0.9 + 0.2 + 0.2 + 0.2) / 5 = 0.49 -> real
    scores = [0.1] * 15 + [0.2] * 3 + [0.95, 0.9]
    assert track_score(scores) == pytest.approx(0.49)
    agg = aggregate(faces(0, scores), T)
    assert_verdict(agg.tracks[0].verdict, "real", 0.49)


def test_a_few_low_frames_do_not_hide_a_fake_track() -> None:
    # 12 faces -> k = 3: top three of the fake frames -> 0.9
    scores = [0.9, 0.9, 0.9, 0.05, 0.9, 0.1, 0.9, 0.9, 0.05, 0.9, 0.9, 0.9]
    agg = aggregate(faces(0, scores), T)
    assert agg.tracks[0].verdict.label == "fake"
    assert agg.tracks[0].verdict.score == pytest.approx(0.9)


def test_track_score_rejects_empty() -> None:
    with pytest.raises(ValueError):
        track_score([])


# --- smoothing and segments ---------------------------------------------------------------------


def test_smoothing_is_centred_mean_with_edge_padding() -> None:
    got = smooth(np.array([0.1, 0.9, 0.1, 0.4]))
    # [0.1,0.1,0.9]/3, [0.1,0.9,0.1]/3, [0.9,0.1,0.4]/3, [0.1,0.4,0.4]/3
    assert got == pytest.approx([1.1 / 3, 1.1 / 3, 1.4 / 3, 0.9 / 3])


def test_single_spike_is_smoothed_away() -> None:
    times = np.arange(5) * 0.5
    assert find_segments(times, np.array([0.1, 0.1, 0.9, 0.1, 0.1]), 0.5) == ()


def test_segment_after_smoothing_has_start_end_and_raw_peak() -> None:
    times = np.arange(8) * 0.5
    scores = np.array([0.1, 0.2, 0.9, 0.95, 0.8, 0.1, 0.1, 0.1])
    # smoothed: 0.133 0.4 0.683 0.883 0.617 0.333 0.1 0.1 -> run at indices 2..4
    assert find_segments(times, scores, 0.5) == (
        Segment(start_s=1.0, end_s=2.0, peak=0.95, peak_s=1.5),
    )


def test_single_point_segment_has_start_equal_end() -> None:
    times = np.arange(5) * 0.5
    # smoothed index 2: (0.3 + 0.99 + 0.3) / 3 = 0.53; neighbours (0.1+0.3+0.99)/3 = 0.463
    segs = find_segments(times, np.array([0.1, 0.3, 0.99, 0.3, 0.1]), 0.5)
    assert segs == (Segment(start_s=1.0, end_s=1.0, peak=0.99, peak_s=1.0),)


def test_two_runs_give_two_segments() -> None:
    times = np.arange(9) * 1.0
    scores = np.array([0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.8, 0.8, 0.8])
    segs = find_segments(times, scores, 0.5)
    # smoothed: .9 .9 .633 .367 .1 .333 .567 .8 .8
    assert [(s.start_s, s.end_s) for s in segs] == [(0.0, 2.0), (6.0, 8.0)]
    assert [s.peak for s in segs] == [0.9, 0.8]


def test_a_gap_in_time_splits_a_segment_and_stops_smoothing() -> None:
    # Sampled every 0.5 s, face missing from 1.5 s to 5.0 s: two pieces.
    times = np.array([0.0, 0.5, 1.0, 5.0, 5.5, 6.0])
    scores = np.array([0.8, 0.8, 0.8, 0.8, 0.8, 0.8])
    assert gap_breaks(times) == [slice(0, 3), slice(3, 6)]
    segs = find_segments(times, scores, 0.5)
    assert [(s.start_s, s.end_s) for s in segs] == [(0.0, 1.0), (5.0, 6.0)]


def test_one_missed_frame_does_not_split() -> None:
    times = np.array([0.0, 0.5, 1.0, 2.0, 2.5])  # 1.5 s missed: step 1.0 <= 2.5 x 0.5
    assert gap_breaks(times) == [slice(0, 5)]
    segs = find_segments(times, np.full(5, 0.9), 0.5)
    assert [(s.start_s, s.end_s) for s in segs] == [(0.0, 2.5)]


def test_smoothing_does_not_cross_a_gap() -> None:
    # Without the gap rule, 0.9 at t=1.0 would lift 0.3 at t=9.0 to (0.9+0.3+0.3)/3 = 0.5.
    times = np.array([0.0, 0.5, 1.0, 9.0, 9.5, 10.0])
    scores = np.array([0.9, 0.9, 0.9, 0.3, 0.3, 0.3])
    segs = find_segments(times, scores, 0.5)
    assert [(s.start_s, s.end_s) for s in segs] == [(0.0, 1.0)]


# --- frames, tracks and the video verdict ------------------------------------------------------


def test_no_faces_is_no_face_verdict() -> None:
    agg = aggregate([], T)
    assert agg.verdict == Verdict("no-face", None)
    assert agg.tracks == ()


def test_one_fake_face_of_two_makes_the_video_fake() -> None:
    real = faces(0, [0.1, 0.15, 0.1, 0.12, 0.1, 0.1, 0.2, 0.1])
    fake = faces(1, [0.8, 0.9, 0.85, 0.95, 0.9, 0.75, 0.8, 0.9])
    agg = aggregate(real + fake, T)
    assert [t.id for t in agg.tracks] == [0, 1]
    assert agg.tracks[0].verdict.label == "real"
    assert agg.tracks[0].verdict.score == pytest.approx((0.2 + 0.15) / 2)
    assert agg.tracks[1].verdict.score == pytest.approx((0.95 + 0.9) / 2)
    assert_verdict(agg.verdict, "fake", 0.925)
    assert agg.verdict.track_id == 1
    assert len(agg.tracks[1].timeline) == 8
    assert agg.tracks[1].timeline[3].score == 0.95


def test_short_suspicious_track_does_not_decide_a_long_video() -> None:
    real = faces(0, [0.1] * 20)
    glimpse = faces(5, [0.65, 0.6], start=7)  # suspicious, 2 faces
    agg = aggregate(real + glimpse, T)
    assert agg.tracks[1].verdict.label == "suspicious"  # still reported on the track
    assert_verdict(agg.verdict, "real", 0.1)
    assert agg.verdict.track_id == 0
    assert any("track 5" in note for note in agg.notes)


def test_short_but_confidently_fake_track_decides() -> None:
    real = faces(0, [0.1] * 20)
    glimpse = faces(5, [0.92, 0.8], start=7)  # every face >= fake threshold
    agg = aggregate(real + glimpse, T)
    assert_verdict(agg.verdict, "fake", 0.92)
    assert agg.verdict.track_id == 5


def test_short_track_with_one_low_face_is_not_confident() -> None:
    real = faces(0, [0.1] * 20)
    glimpse = faces(5, [0.95, 0.4], start=7)  # max 0.95 but not every face is fake
    agg = aggregate(real + glimpse, T)
    assert agg.verdict.label == "real"


def test_image_single_face_decides() -> None:
    agg = aggregate([FaceScore(0, 0.0, 0, 0.6)], T)
    assert agg.verdict == Verdict("suspicious", 0.6)
    assert agg.tracks[0].segments == (Segment(0.0, 0.0, 0.6, 0.0),)


def test_all_short_tracks_all_count() -> None:
    agg = aggregate(faces(0, [0.2, 0.3]) + faces(1, [0.55, 0.6]), T)
    assert agg.verdict == Verdict("suspicious", 0.6)


def test_verdict_labels_follow_thresholds() -> None:
    for score, label in [(0.49, "real"), (0.5, "suspicious"), (0.69, "suspicious"), (0.7, "fake")]:
        assert aggregate([FaceScore(0, 0.0, 0, score)], T).verdict.label == label


def test_input_order_does_not_matter() -> None:
    items = faces(0, [0.1, 0.9, 0.8, 0.2]) + faces(1, [0.3, 0.3, 0.3, 0.3])
    assert aggregate(items, T) == aggregate(list(reversed(items)), T)


def test_custom_rule_changes_top_fraction() -> None:
    scores = [0.1, 0.2, 0.9, 0.8]
    agg = aggregate(faces(0, scores), T, AggregationRule(top_fraction=1.0))
    assert agg.tracks[0].verdict.score == pytest.approx(0.5)


def test_duplicate_face_on_one_track_in_one_frame_is_a_bug() -> None:
    with pytest.raises(ValueError, match="two faces in frame 0"):
        aggregate([FaceScore(0, 0.0, 0, 0.2), FaceScore(0, 0.0, 0, 0.3)], T)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"frame_index": -1},
        {"timestamp_s": -0.1},
        {"timestamp_s": float("nan")},
        {"track_id": -1},
        {"score": 1.2},
        {"score": float("nan")},
    ],
)
def test_face_score_validates(kwargs: dict) -> None:
    values = {"frame_index": 0, "timestamp_s": 0.0, "track_id": 0, "score": 0.5} | kwargs
    with pytest.raises(ValueError):
        FaceScore(**values)


def test_the_video_verdict_names_its_track_and_ties_go_to_more_faces() -> None:
    few = faces(0, [0.9, 0.1, 0.1, 0.1])  # top-1 of 4: 0.9
    many = faces(1, [0.9, 0.9] + [0.1] * 6)  # top-2 of 8: 0.9
    agg = aggregate(few + many, T)
    assert [t.verdict.track_id for t in agg.tracks] == [0, 1]
    assert_verdict(agg.verdict, "fake", 0.9)
    assert agg.verdict.track_id == 1


# --- several faces: raised thresholds ---------------------------------------------------------

# Real videos' calibrated log-odds: mean 0, std 0.5 -> fake 0.7 has z = logit(0.7) / 0.5.
RAISING = Thresholds(suspicious=0.5, fake=0.7, real_mean=0.0, real_std=0.5)


def test_one_face_or_no_real_statistics_reads_the_models_thresholds() -> None:
    assert RAISING.for_faces(1) is RAISING
    assert T.for_faces(4) is T
    agg = aggregate(faces(0, [0.75] * 8), RAISING)
    assert agg.verdict.label == "fake"
    assert agg.verdict.raised is None


def test_raised_thresholds_keep_a_real_video_of_k_people_as_rare_as_one_of_one() -> None:
    # Under the normal model itself, the most suspicious of k real faces crosses t_k as often
    # as one real face crosses t: checked by sampling, not by the formula.
    rng = np.random.default_rng(0)
    single = np.mean(1 / (1 + np.exp(-rng.normal(0.0, 0.5, 400_000))) >= RAISING.fake)
    for k in (2, 4):
        raised = RAISING.for_faces(k)
        top = (1 / (1 + np.exp(-rng.normal(0.0, 0.5, (400_000, k))))).max(axis=1)
        assert np.mean(top >= raised.fake) == pytest.approx(single, rel=0.05)
        assert np.mean(top >= RAISING.fake) > 1.7 * single  # unraised: nearly k times
    ladder = [RAISING.for_faces(k) for k in range(1, 6)]
    assert all(a.fake < b.fake and a.suspicious < b.suspicious for a, b in pairwise(ladder))
    assert all(t.suspicious <= t.fake < 1.0 for t in ladder)


def test_several_faces_raise_the_video_verdicts_thresholds_not_the_tracks() -> None:
    raised = RAISING.for_faces(2)
    score = (RAISING.fake + raised.fake) / 2  # fake alone, under the raised fake threshold
    agg = aggregate(faces(0, [score] * 6) + faces(1, [0.1] * 6), RAISING)
    assert agg.tracks[0].verdict.label == "fake"  # the track keeps the model's thresholds
    assert agg.verdict.label == "suspicious"
    assert agg.verdict.score == pytest.approx(score)
    assert agg.verdict.track_id == 0
    assert agg.verdict.raised is not None
    assert agg.verdict.raised.faces == 2
    assert agg.verdict.raised.fake == pytest.approx(raised.fake)
    assert any("raised for 2 faces" in note and "track 0" in note for note in agg.notes)
    # far above both: fake either way, raised thresholds recorded, no note
    sure = aggregate(faces(0, [0.99] * 6) + faces(1, [0.1] * 6), RAISING)
    assert sure.verdict.label == "fake"
    assert sure.verdict.raised is not None
    assert not sure.notes


def test_short_tracks_left_out_do_not_count_as_faces() -> None:
    # the glimpsed track (2 faces, not confidently fake) takes no part: one face decides
    agg = aggregate(faces(0, [0.75] * 6) + faces(1, [0.6, 0.6]), RAISING)
    assert agg.verdict.label == "fake"
    assert agg.verdict.raised is None


@pytest.mark.parametrize(
    ("mean", "std", "words"),
    [
        (0.0, None, "go together"),
        (None, 0.5, "go together"),
        (0.0, 0.0, "positive"),
        (float("nan"), 0.5, "finite"),
    ],  # fmt: skip
)
def test_real_statistics_are_checked(mean, std, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Thresholds(suspicious=0.5, fake=0.7, real_mean=mean, real_std=std)
