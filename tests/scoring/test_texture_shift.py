"""The texture shift (scoring/aggregate.py): a track whose faces carry their values of the
model's track head adds the values' mean to its score's log-odds, checked against
hand-computed values."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from deepfake_analyzer.models.spec import Thresholds
from deepfake_analyzer.report.types import TemporalEvidence, TrackTexture
from deepfake_analyzer.scoring.aggregate import (
    AggregationRule,
    FaceScore,
    aggregate,
    track_score,
)
from deepfake_analyzer.temporal.tracks import combine_scores

T = Thresholds(suspicious=0.5, fake=0.7)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def faces(
    track_id: int,
    scores: Sequence[float],
    textures: Sequence[float | None] | None = None,
    step_s: float = 0.5,
) -> list[FaceScore]:
    values = textures if textures is not None else [None] * len(scores)
    return [
        FaceScore(i, i * step_s, track_id, s, (), t)
        for i, (s, t) in enumerate(zip(scores, values, strict=True))
    ]


# 5 faces -> k = 2 -> track score mean(0.6, 0.5) = 0.55; texture mean 1.0
SCORES = [0.2, 0.4, 0.6, 0.3, 0.5]
TEXTURES = [0.5, 1.5, 1.2, 0.3, 1.5]
BEFORE = 0.55
SHIFTED = _sigmoid(_logit(0.55) + 1.0)  # 0.7686: fake where 0.55 is suspicious


def test_a_track_adds_the_mean_texture_to_its_log_odds() -> None:
    (track,) = aggregate(faces(0, SCORES, TEXTURES), T).tracks
    assert track.texture is not None
    assert track.texture.shift == pytest.approx(1.0, abs=1e-12)
    assert track.texture.faces == 5 and track.texture.reason == ""
    assert track.texture.before == pytest.approx(BEFORE, abs=1e-12)
    assert track.texture.track_score == pytest.approx(SHIFTED, abs=1e-12)
    assert track.verdict.score == pytest.approx(SHIFTED, abs=1e-12)
    assert track.verdict.label == "fake"  # 0.55 alone is suspicious


def test_a_negative_shift_lowers_the_track_score() -> None:
    textures = [-2.0, -1.0, -1.5, -1.5, -1.0]  # mean -1.4
    (track,) = aggregate(faces(0, SCORES, textures), T).tracks
    expected = _sigmoid(_logit(BEFORE) - 1.4)
    assert track.verdict.score == pytest.approx(expected, abs=1e-12)
    assert track.verdict.label == "real"
    texture = track.texture
    assert texture is not None and texture.shift == pytest.approx(-1.4, abs=1e-12)
    assert texture.track_score == pytest.approx(expected, abs=1e-12)


def test_timelines_carry_the_textures_and_segments_stay_the_face_scores() -> None:
    (shifted,) = aggregate(faces(0, SCORES, TEXTURES), T).tracks
    (plain,) = aggregate(faces(0, SCORES), T).tracks
    assert [p.texture for p in shifted.timeline] == TEXTURES
    assert [p.score for p in shifted.timeline] == SCORES
    assert shifted.segments == plain.segments
    assert plain.texture is None and all(p.texture is None for p in plain.timeline)
    assert plain.verdict.score == pytest.approx(BEFORE, abs=1e-12)


def test_a_track_with_too_few_faces_keeps_its_score() -> None:
    scores, textures = [0.6, 0.4, 0.5], [3.0, 3.0, 3.0]  # 3 faces < 4
    (track,) = aggregate(faces(0, scores, textures), T).tracks
    assert track.texture == TrackTexture(None, 3, 0.6, 0.6, "too-few-faces")
    assert track.verdict.score == pytest.approx(0.6, abs=1e-12)
    assert track.verdict.label == "suspicious"
    assert [p.texture for p in track.timeline] == textures
    rule = AggregationRule(texture_min_faces=3)
    (track,) = aggregate(faces(0, scores, textures), T, rule).tracks
    assert track.texture is not None and track.texture.shift == pytest.approx(3.0)
    assert track.verdict.score == pytest.approx(_sigmoid(_logit(0.6) + 3.0), abs=1e-12)


def test_four_faces_are_enough_by_default() -> None:
    assert AggregationRule().texture_min_faces == 4
    # 4 faces -> k = 1 -> 0.6
    (track,) = aggregate(faces(0, [0.6, 0.2, 0.3, 0.1], [0.5, 0.5, -0.5, 0.3]), T).tracks
    assert track.texture is not None and track.texture.faces == 4
    assert track.texture.shift == pytest.approx(0.2)
    assert track.verdict.score == pytest.approx(_sigmoid(_logit(0.6) + 0.2), abs=1e-12)


def test_a_rule_needs_at_least_one_face_for_the_texture() -> None:
    with pytest.raises(ValueError, match="texture_min_faces must be >= 1"):
        AggregationRule(texture_min_faces=0)


def test_a_track_with_textures_on_only_some_faces_is_refused() -> None:
    with pytest.raises(ValueError, match="track 3: only some of its faces carry a texture"):
        aggregate(faces(3, SCORES, [0.5, None, 1.2, 0.3, 1.5]), T)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_face_texture_must_be_finite(value: float) -> None:
    with pytest.raises(ValueError, match="texture value .* is not finite"):
        FaceScore(0, 0.0, 0, 0.5, (), value)


def test_a_score_at_the_edge_stays_a_probability() -> None:
    (track,) = aggregate(faces(0, [1.0] * 4, [5.0] * 4), T).tracks
    assert track.texture is not None and track.texture.before == 1.0
    assert 0.999 < track.verdict.score <= 1.0  # type: ignore[operator]
    (track,) = aggregate(faces(0, [1.0] * 4, [-20.0] * 4), T).tracks
    assert track.verdict.score == pytest.approx(_sigmoid(_logit(1 - 1e-7) - 20.0), rel=1e-6)


def test_the_shift_applies_after_combined_temporal_evidence() -> None:
    frame = track_score(SCORES)
    combined = combine_scores(frame, 0.8, 0.3)
    assert combined != pytest.approx(frame, abs=1e-3)
    evidence = TemporalEvidence(
        score=0.8, frame_score=frame, track_score=combined, frames=10, combined=True
    )
    (track,) = aggregate(faces(0, SCORES, TEXTURES), T, temporal={0: evidence}).tracks
    assert track.temporal == evidence
    assert track.texture is not None
    assert track.texture.before == pytest.approx(combined, abs=1e-12)
    expected = _sigmoid(_logit(combined) + 1.0)
    assert track.texture.track_score == pytest.approx(expected, abs=1e-12)
    assert track.verdict.score == pytest.approx(expected, abs=1e-12)


def test_temporal_evidence_not_combined_leaves_the_frame_score_before_the_shift() -> None:
    frame = track_score(SCORES)
    evidence = TemporalEvidence(score=0.9, frame_score=frame, track_score=frame, frames=10)
    (track,) = aggregate(faces(0, SCORES, TEXTURES), T, temporal={0: evidence}).tracks
    assert track.texture is not None and track.texture.before == pytest.approx(BEFORE)
    assert track.verdict.score == pytest.approx(SHIFTED, abs=1e-12)


def test_too_few_faces_keep_the_combined_temporal_score() -> None:
    scores = [0.6, 0.4, 0.5]
    frame = track_score(scores)
    combined = combine_scores(frame, 0.2, 0.5)
    evidence = TemporalEvidence(0.2, frame, combined, 10, combined=True)
    (track,) = aggregate(faces(0, scores, [2.0] * 3), T, temporal={0: evidence}).tracks
    assert track.texture == TrackTexture(None, 3, combined, combined, "too-few-faces")
    assert track.verdict.score == pytest.approx(combined, abs=1e-12)


def test_the_video_verdict_follows_the_shifted_track_scores() -> None:
    # track 0: 0.6 but texture -1.5 -> 0.25; track 1: 0.5 but texture +1.0 -> 0.73
    loud = [0.6] * 6
    quiet = [0.5] * 6
    plain = aggregate(faces(0, loud) + faces(1, quiet), T)
    assert plain.verdict.track_id == 0 and plain.verdict.label == "suspicious"
    shifted = aggregate(faces(0, loud, [-1.5] * 6) + faces(1, quiet, [1.0] * 6), T)
    expected = _sigmoid(_logit(0.5) + 1.0)
    assert shifted.verdict.track_id == 1
    assert shifted.verdict.label == "fake"
    assert shifted.verdict.score == pytest.approx(expected, abs=1e-12)
    assert shifted.tracks[0].verdict.score == pytest.approx(_sigmoid(_logit(0.6) - 1.5))
    assert shifted.tracks[0].verdict.label == "real"


def test_the_raised_thresholds_read_the_shifted_score() -> None:
    raised = Thresholds(suspicious=0.5, fake=0.7, real_mean=-2.0, real_std=1.0)
    two = faces(0, [0.5] * 6, [1.0] * 6) + faces(1, [0.1] * 6, [0.0] * 6)
    agg = aggregate(two, raised)
    score = _sigmoid(_logit(0.5) + 1.0)
    read = raised.for_faces(2)
    assert agg.verdict.track_id == 0 and agg.verdict.score == pytest.approx(score, abs=1e-12)
    assert agg.verdict.raised is not None and agg.verdict.raised.faces == 2
    assert agg.verdict.label == read.label(score)
