"""Per-track temporal evidence: thinning, sparse sampling, the combination rule."""

from __future__ import annotations

import numpy as np
import pytest
from temporal_synth import REAL, talking_face

from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.report.types import TemporalEvidence
from deepfake_analyzer.temporal.model import load_temporal_model
from deepfake_analyzer.temporal.sequence import LandmarkSequence
from deepfake_analyzer.temporal.tracks import (
    LandmarkCollector,
    combine_scores,
    track_evidence,
)

MODEL = load_temporal_model()


def sequence(times: np.ndarray) -> LandmarkSequence:
    points, times = talking_face(REAL, times_s=times)
    return LandmarkSequence(points[:, :, :2], times, np.ones(len(times)))


def test_combination_rule() -> None:
    prior = 0.3
    assert combine_scores(0.6, prior, prior) == pytest.approx(0.6)  # no evidence either way
    assert combine_scores(0.6, 0.8, prior) > 0.6 > combine_scores(0.6, 0.1, prior)
    # logit(track) = logit(frame) + 0.5 (logit(temporal) - logit(prior))
    z = np.log(0.6 / 0.4) + 0.5 * (np.log(0.8 / 0.2) - np.log(0.3 / 0.7))
    assert combine_scores(0.6, 0.8, prior) == pytest.approx(1 / (1 + np.exp(-z)))
    assert 0.0 < combine_scores(0.0, 0.99, prior) < combine_scores(1.0, 0.01, prior) < 1.0


def test_dense_track_is_thinned_to_the_model_rate_and_combined() -> None:
    ev = track_evidence(sequence(np.arange(0, 6, 1 / 25)), 0.4, MODEL)
    assert ev.score is not None and ev.reason == "" and ev.combined
    assert ev.frames == pytest.approx(6 * MODEL.fps, abs=2)
    assert ev.track_score == pytest.approx(combine_scores(0.4, ev.score, MODEL.prior))
    reported = track_evidence(sequence(np.arange(0, 6, 1 / 25)), 0.4, MODEL, combine=False)
    assert reported.score == ev.score and reported.track_score == 0.4 and not reported.combined


def test_sparse_short_and_missing_tracks_get_a_reason() -> None:
    sparse = track_evidence(sequence(np.arange(0, 20, 0.5)), 0.7, MODEL)
    assert sparse.reason == "sparse-sampling" and sparse.score is None
    assert sparse.track_score == 0.7 and "per second" in sparse.message
    short = track_evidence(sequence(np.arange(0, 1.0, 1 / 8)), 0.7, MODEL)
    assert short.reason == "too-few-frames"
    none = track_evidence(None, 0.2, MODEL)
    assert none.reason == "no-landmarks" and none.frames == 0


def test_evidence_type_rejects_inconsistent_values() -> None:
    with pytest.raises(ValueError, match="reason"):
        TemporalEvidence(score=0.5, frame_score=0.2, track_score=0.2, frames=3, reason="too-short")
    with pytest.raises(ValueError, match="frame score"):
        TemporalEvidence(score=0.5, frame_score=0.2, track_score=0.3, frames=3)
    with pytest.raises(ValueError, match="unknown"):
        TemporalEvidence(None, 0.2, 0.2, 0, reason="cosmic-rays")


def test_collector_keeps_landmarked_faces_in_time_order() -> None:
    collector = LandmarkCollector()
    points = np.zeros((468, 2), np.float32)
    bare = FaceDetection((0, 0, 10, 10), 0.9, np.zeros((0, 2), np.float32))
    meshed = FaceDetection((0, 0, 10, 10), 0.9, bare.keypoints, landmarks_xy=points, presence=0.8)
    collector.add(1, 0.0, bare)
    assert collector.sequence(1) is None
    collector.add(1, 0.1, meshed)
    collector.add(1, 0.1, meshed)  # same time twice: kept once
    collector.add(1, 0.3, meshed)
    seq = collector.sequence(1)
    assert seq is not None and seq.timestamps_s.tolist() == [0.1, 0.3]
    assert seq.presence.tolist() == pytest.approx([0.8, 0.8])


@pytest.mark.slow
def test_long_tracks_are_scored_in_windows_as_long_as_the_training_clips() -> None:
    ev = track_evidence(sequence(np.arange(0, 30, 1 / 8)), 0.4, MODEL)
    assert MODEL.max_seconds == 10.0
    starts = [w.start_s for w in ev.windows]
    assert starts == pytest.approx([0, 5, 10, 15, 19.875], abs=0.13)
    assert all(w.end_s - w.start_s <= 10.0 + 1e-9 for w in ev.windows)
    assert ev.windows[-1].end_s == pytest.approx(29.875)
    assert ev.score == pytest.approx(np.mean([w.score for w in ev.windows]))
    short = track_evidence(sequence(np.arange(0, 6, 1 / 8)), 0.4, MODEL)
    assert len(short.windows) == 1 and short.score == short.windows[0].score


def test_a_span_keeps_only_the_dense_window() -> None:
    # dense (8 fps) for the first 10 s, then the analyzer's 2 fps: only the window is read
    times = np.r_[np.arange(0, 10, 1 / 8), np.arange(10, 60, 0.5)]
    ev = track_evidence(sequence(times), 0.4, MODEL, span_s=(0.0, 10.0))
    assert ev.score is not None and ev.frames == 80
    assert track_evidence(sequence(times), 0.4, MODEL).reason == "sparse-sampling"
    later = track_evidence(sequence(np.arange(12, 30, 0.5)), 0.4, MODEL, span_s=(0.0, 10.0))
    assert later.reason == "outside-window" and later.score is None and later.track_score == 0.4
    assert "10 s" in later.message
