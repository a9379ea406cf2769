"""Tracker on synthetic detection sequences: crossing faces, gaps, faces leaving and entering."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.faces.tracker import FaceTracker, TrackerConfig, box_iou
from deepfake_analyzer.faces.types import FaceDetection


def face(cx: float, cy: float, size: float = 80.0, confidence: float = 0.9) -> FaceDetection:
    half = size / 2
    return FaceDetection((cx - half, cy - half, cx + half, cy + half), confidence, np.zeros((0, 2)))


def run(tracker: FaceTracker, frames: list[tuple[float, list[FaceDetection]]]) -> list[list[int]]:
    return [tracker.update(t, dets) for t, dets in frames]


def crossing_frames() -> list[tuple[float, list[FaceDetection]]]:
    """Face A walks right, face B walks left, 60 px per sample at 2 fps; they overlap mid-way.

    Between samples 4 and 5 they pass each other: at sample 5, B's face is nearer to where
    A was at sample 4 than A's face is.
    """
    frames = []
    for i in range(10):
        a = face(40 + 60 * i, 200)
        b = face(620 - 60 * i, 210)
        # The detector's output order changes from frame to frame: ids must not depend on it.
        frames.append((i * 0.5, [a, b] if i % 2 == 0 else [b, a]))
    return frames


def test_a_steadily_moving_face_keeps_its_id() -> None:
    tracker = FaceTracker()
    ids = run(tracker, [(i / 25, [face(100 + 3 * i, 100 + i)]) for i in range(50)])
    assert ids == [[1]] * 50
    assert tracker.track_count == 1


def test_two_faces_crossing_paths_keep_their_ids() -> None:
    ids = run(FaceTracker(), crossing_frames())
    for i, frame_ids in enumerate(ids):
        a_id, b_id = frame_ids if i % 2 == 0 else frame_ids[::-1]
        assert (a_id, b_id) == (1, 2), f"frame {i}: {frame_ids}"


def test_without_the_motion_model_crossing_faces_swap() -> None:
    """Shows what the crossing test checks: position alone confuses the two faces."""
    ids = run(FaceTracker(TrackerConfig(velocity_smoothing=0.0)), crossing_frames())
    a_ids = [frame_ids[0] if i % 2 == 0 else frame_ids[1] for i, frame_ids in enumerate(ids)]
    assert len(set(a_ids)) > 1


def test_a_short_gap_of_missed_detections_keeps_the_track() -> None:
    tracker = FaceTracker()  # survives 2 missed samples or 1.5 s
    frames = [(i * 0.5, [face(200 + 5 * i, 200)]) for i in range(4)]
    frames += [(2.0, []), (2.5, [])]  # two missed samples
    frames += [(3.0 + i * 0.5, [face(230 + 5 * i, 200)]) for i in range(3)]
    ids = run(tracker, frames)
    assert [x for x in ids if x] == [[1]] * 7
    assert tracker.track_count == 1


def test_a_long_gap_starts_a_new_track() -> None:
    tracker = FaceTracker()
    frames = [(0.0, [face(200, 200)]), (0.5, [face(200, 200)])]
    frames += [(1.0 + i * 0.5, []) for i in range(5)]  # 2.5 s and 5 samples without the face
    frames += [(3.5, [face(200, 200)])]
    assert run(tracker, frames)[-1] == [2]


def test_gap_rule_counts_seconds_at_high_frame_rates() -> None:
    tracker = FaceTracker()
    frames = [(0.0, [face(300, 200)])] + [(i / 25, []) for i in range(1, 30)]
    frames += [(30 / 25, [face(302, 200)])]  # 1.2 s later, 29 empty samples
    assert run(tracker, frames)[-1] == [1]


def test_a_face_leaving_and_a_new_one_entering_get_different_ids() -> None:
    tracker = FaceTracker()
    frames = [(i * 0.5, [face(100 + 40 * i, 200)]) for i in range(4)]  # A walks out
    frames += [(2.0 + i * 0.5, []) for i in range(4)]
    frames += [(4.0 + i * 0.5, [face(500 - 20 * i, 220)]) for i in range(4)]  # B walks in
    ids = [x for x in run(tracker, frames) if x]
    assert ids == [[1]] * 4 + [[2]] * 4


def test_a_new_face_next_to_a_live_track_gets_a_new_id() -> None:
    tracker = FaceTracker()
    assert tracker.update(0.0, [face(100, 200)]) == [1]
    assert tracker.update(0.5, [face(400, 200), face(102, 200)]) == [2, 1]
    assert sorted(tracker.live_track_ids) == [1, 2]


def test_new_ids_go_left_to_right_whatever_the_detector_order() -> None:
    assert FaceTracker().update(0.0, [face(500, 100), face(100, 300), face(300, 200)]) == [3, 1, 2]


def test_very_different_sizes_do_not_match() -> None:
    tracker = FaceTracker()
    tracker.update(0.0, [face(200, 200, size=40)])
    assert tracker.update(0.5, [face(205, 205, size=200)]) == [2]


def test_frames_without_faces_give_no_ids() -> None:
    tracker = FaceTracker()
    assert tracker.update(0.0, []) == []
    assert tracker.track_count == 0


def test_timestamps_must_not_go_back() -> None:
    tracker = FaceTracker()
    tracker.update(1.0, [face(100, 100)])
    with pytest.raises(ValueError, match="decrease"):
        tracker.update(0.5, [face(100, 100)])


def test_box_iou() -> None:
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        TrackerConfig(max_size_ratio=0.5)


# --- re-identification after an absence ---------------------------------------------------


def looks(seed: int) -> np.ndarray:
    """A stand-in appearance descriptor: one per person, in [0, 1]."""
    return np.random.default_rng(seed).random(1404).astype(np.float32)


def seen(cx: float, cy: float, look: np.ndarray, size: float = 80.0) -> FaceDetection:
    half = size / 2
    box = (cx - half, cy - half, cx + half, cy + half)
    return FaceDetection(box, 0.9, np.zeros((0, 2)), appearance=look)


def absent_then_back(back: FaceDetection, gap_s: float = 5.0) -> list[list[int]]:
    tracker = FaceTracker()
    frames = [(i * 0.5, [seen(100 + 10 * i, 200, looks(1))]) for i in range(4)]
    frames += [(1.5 + t, []) for t in np.arange(0.5, gap_s, 0.5)]
    frames += [(1.5 + gap_s, [back])]
    return [x for x in run(tracker, frames) if x]


def test_a_person_back_after_a_long_absence_keeps_their_id() -> None:
    noisy = looks(1) + np.random.default_rng(9).normal(0, 0.02, 1404).astype(np.float32)
    ids = absent_then_back(seen(500, 300, noisy, size=100))  # elsewhere, a little nearer
    assert ids == [[1]] * 5


def test_another_person_after_the_absence_gets_a_new_id() -> None:
    assert absent_then_back(seen(130, 200, looks(2)))[-1] == [2]


def test_re_identification_has_a_time_limit() -> None:
    assert absent_then_back(seen(130, 200, looks(1)), gap_s=25.0)[-1] == [2]


def test_faces_without_appearance_are_not_re_identified() -> None:
    tracker = FaceTracker()
    frames = [(0.0, [face(200, 200)])] + [(t, []) for t in (1.0, 2.0, 3.0, 4.0)]
    frames += [(5.0, [face(200, 200)])]
    assert [x for x in run(tracker, frames) if x] == [[1], [2]]


def test_two_people_back_together_each_get_their_own_id() -> None:
    tracker = FaceTracker()
    a, b = looks(1), looks(2)
    assert tracker.update(0.0, [seen(100, 200, a), seen(400, 200, b)]) == [1, 2]
    for t in (0.5, 1.0, 1.5, 2.0, 2.5):
        tracker.update(t, [])
    assert tracker.update(6.0, [seen(100, 200, b), seen(400, 200, a)]) == [2, 1]  # swapped places
    assert tracker.reidentified == 2 and tracker.track_count == 2
