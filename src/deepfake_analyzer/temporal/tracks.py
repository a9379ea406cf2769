"""Temporal evidence for the analyzer's tracks: their landmarks in, `TemporalEvidence` out.

Contract: `LandmarkCollector` gathers, per track, the face-mesh points that verified detections
carry (`FaceDetection.landmarks_xy`) with their decoder times; `track_evidence(sequence,
frame_score, model)` turns one track's sequence into the report's `TemporalEvidence`.

A track is scored in windows as long as the model's training clips (`max_seconds`, 10 s),
starting every half window (the last one ends at the track's end); the track's temporal score
is the mean of its windows' scores, so a long track is judged on stretches like those the model
was trained on. A track sampled more densely than the model's training rate is thinned to it
(`LandmarkSequence.thinned`); one whose median interval is above `SPARSE_FACTOR` / model fps
(e.g. the analyzer's default 2 fps against a model trained at 8 fps) gets no score, reason
`sparse-sampling`: features such as blink rate and jitter mean something else at that rate.

Combination rule (`combine_scores`), used when `combine` is on and a temporal score exists:

    logit(track) = logit(frame) + TEMPORAL_WEIGHT * (logit(temporal) - logit(prior))

`prior` is the model's training fake share, the score that carries no evidence either way, so
a temporal score at the prior leaves the frame score unchanged, a higher one raises it and a
lower one lowers it; `TEMPORAL_WEIGHT` = 0.5 halves the temporal log-odds because the model is
weak on its own (held-out video AUC ~0.65, models/temporal_v1.md). Probabilities are clipped
to [1e-4, 1 - 1e-4] first so that a 0 or 1 frame score stays finite.
"""

from __future__ import annotations

import math

import numpy as np

from deepfake_analyzer.report.types import TemporalEvidence, TemporalWindow
from deepfake_analyzer.temporal.features import NoTemporalScore, compute_features
from deepfake_analyzer.temporal.model import TemporalModel
from deepfake_analyzer.temporal.sequence import LandmarkSequence

TEMPORAL_WEIGHT = 0.5
SPARSE_FACTOR = 1.5
_EPS = 1e-4


def _logit(p: float) -> float:
    p = min(max(p, _EPS), 1.0 - _EPS)
    return math.log(p / (1.0 - p))


def combine_scores(
    frame_score: float, temporal_score: float, prior: float, weight: float = TEMPORAL_WEIGHT
) -> float:
    """The track score from the frame score and the temporal score (module docstring)."""
    z = _logit(frame_score) + weight * (_logit(temporal_score) - _logit(prior))
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))


class LandmarkCollector:
    """Per-track landmark points and times, in the order frames are analysed."""

    def __init__(self) -> None:
        self._points: dict[int, list[np.ndarray]] = {}
        self._times: dict[int, list[float]] = {}
        self._presence: dict[int, list[float]] = {}
        self._anchored: dict[int, float] = {}

    def add(self, track_id: int, timestamp_s: float, detection: object) -> None:
        """Keep `detection`'s mesh points (ignored when it carries none, or when the track
        already has a point at or after this time)."""
        points = getattr(detection, "landmarks_xy", None)
        if points is None:
            return
        presence = getattr(detection, "presence", None)
        presence = 1.0 if presence is None else presence
        self.add_points(track_id, timestamp_s, points, presence, detected=True)

    def add_points(
        self,
        track_id: int,
        timestamp_s: float,
        points: np.ndarray,
        presence: float,
        detected: bool = False,
    ) -> None:
        """Keep one frame's mesh points of a track (ignored at or before its latest time).
        `detected` points come from a detection and anchor the track (`latest`); followed
        points (temporal/follow.py) do not."""
        times = self._times.setdefault(track_id, [])
        if times and timestamp_s <= times[-1]:
            return
        times.append(float(timestamp_s))
        self._points.setdefault(track_id, []).append(np.asarray(points, dtype=np.float32))
        self._presence.setdefault(track_id, []).append(float(presence))
        if detected:
            self._anchored[track_id] = float(timestamp_s)

    def latest(self) -> dict[int, tuple[float, np.ndarray]]:
        """Each anchored track's latest detection time and latest points."""
        return {tid: (at, self._points[tid][-1]) for tid, at in self._anchored.items()}

    def sequence(self, track_id: int) -> LandmarkSequence | None:
        """The track's sequence, None when none of its faces carried landmarks."""
        if track_id not in self._times:
            return None
        return LandmarkSequence(
            np.stack(self._points[track_id]),
            np.asarray(self._times[track_id]),
            np.asarray(self._presence[track_id]),
        )


def track_evidence(
    sequence: LandmarkSequence | None,
    frame_score: float,
    model: TemporalModel,
    combine: bool = True,
    weight: float = TEMPORAL_WEIGHT,
    span_s: tuple[float, float] | None = None,
) -> TemporalEvidence:
    """What `model` says about one track (see the module docstring for the rules).

    With `span_s`, only the points inside it are read (the analyzer's dense window); a track
    with none there gets reason `outside-window`."""

    def missing(reason: str, frames: int, message: str) -> TemporalEvidence:
        return TemporalEvidence(
            score=None,
            frame_score=frame_score,
            track_score=frame_score,
            frames=frames,
            reason=reason,
            message=message,
        )

    if sequence is None or len(sequence) == 0:
        return missing("no-landmarks", 0, "the face detector gave no face-mesh landmarks")
    if span_s is not None:
        inside = sequence.between(*span_s)
        if len(inside) == 0:
            return missing(
                "outside-window",
                0,
                f"the motion model reads faces from {span_s[0]:.3g} to {span_s[1]:.3g} s; "
                "this face is not there",
            )
        sequence = inside
    interval = sequence.median_interval_s()
    if len(sequence) > 1 and interval > SPARSE_FACTOR / model.fps:
        return missing(
            "sparse-sampling",
            len(sequence),
            f"frames sampled at {1.0 / interval:.3g} per second; the motion model needs at "
            f"least {model.fps / SPARSE_FACTOR:.3g}",
        )
    sequence = sequence.thinned(model.fps)
    windows: list[TemporalWindow] = []
    first_miss: NoTemporalScore | None = None
    for start, stop in window_bounds(sequence.timestamps_s, model.max_seconds):
        piece = sequence.points[start:stop], sequence.timestamps_s[start:stop]
        features = compute_features(*piece, sequence.presence[start:stop])
        if isinstance(features, NoTemporalScore):
            first_miss = first_miss or features
            continue
        times = sequence.timestamps_s
        windows.append(TemporalWindow(times[start], times[stop - 1], model.score(features)))
    if not windows:
        miss = first_miss or NoTemporalScore("too-few-frames", 0, 0.0)  # no window at all
        return missing(miss.reason, miss.frames, miss.message)
    score = float(np.mean([w.score for w in windows]))
    track_score = frame_score
    if combine:
        track_score = combine_scores(frame_score, score, model.prior, weight)
    return TemporalEvidence(
        score=score,
        frame_score=frame_score,
        track_score=track_score,
        frames=len(sequence),
        combined=combine,
        windows=tuple(windows),
    )


def window_bounds(times_s: np.ndarray, window_s: float) -> list[tuple[int, int]]:
    """(start, stop) index ranges of windows `window_s` long, starting every `window_s / 2`;
    the last one ends at the last frame. A track no longer than `window_s` is one window."""
    times = np.asarray(times_s, dtype=np.float64)
    n = len(times)
    if n == 0:
        return [(0, 0)]
    if times[-1] - times[0] <= window_s:
        return [(0, n)]
    starts = list(np.arange(times[0], times[-1] - window_s, window_s / 2.0))
    starts.append(times[-1] - window_s)
    bounds = []
    for begin in starts:
        start = int(np.searchsorted(times, begin - 1e-9))
        stop = int(np.searchsorted(times, begin + window_s + 1e-9))
        if (start, stop) not in bounds and stop > start:
            bounds.append((start, stop))
    return bounds
