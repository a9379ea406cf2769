"""Per-face scores -> per-track scores, segments and verdicts (pure numpy).

The rules, with their reasons (also in `docs/report-schema.md`):

* **Track score** = the mean of the track's top-k face scores, k = max(1, ceil(25 % of its
  faces)). A few noisy frames cannot flip it: isolated spikes in a real track are diluted by
  the other top-k values, and a few low frames in a fake track (blur, profile, a detector miss)
  are ignored because only the top quarter counts. A swap that shows in only part of a clip
  still reaches the track's verdict when it covers a quarter of the track's faces.
* **Segments** = contiguous runs where the lightly smoothed score (centred mean over 3 points)
  is >= the suspicious threshold; the first and last points repeat themselves as padding so
  a spike does not leak into a low edge point. Smoothing never crosses a gap: consecutive
  points more than `max_gap_factor` x the track's median step apart start a new piece, and a
  run never spans two pieces. A segment runs from its first to its last point's time (one
  point: start = end); its `peak` is the highest raw score inside it.
* **Texture over the track.** With a model that has a track head (models/blend.py,
  `TrackHead`), each face also carries its value of that head (`FaceScore.texture`, on the
  calibrated log-odds scale). A track of at least `texture_min_faces` faces adds the plain
  mean of its faces' values to its score's log-odds (after the temporal evidence, when that
  was combined), and carries the result as `Track.texture` (`TrackTexture`); a shorter track
  (a still's face, a glimpse) keeps its score, with reason `too-few-faces`. The head is linear
  in a face's texture statistics, so this mean is the head read on the track's mean
  statistics: what a video-level probe fitted on whole videos says (scripts/track_probe.py).
* **Video verdict** follows the most suspicious track (highest track score; ties go to the
  track with more faces, then the lower id) and names it in `Verdict.track_id`. A short track
  (fewer than `min_track_faces` faces, e.g. a face glimpsed in 1-2 frames or a false
  detection) only takes part when every one of its faces is >= the fake threshold (confidently
  fake), or when no track is long enough (images, very short clips).
* **Several faces raise the video verdict's thresholds.** Every eligible track is another
  chance for a real video to cross a threshold, so a verdict over k eligible tracks reads the
  model's thresholds raised for k faces (`Thresholds.for_faces`: a real video of k people
  reaches each label about as often as one of one person) and records them in
  `Verdict.raised`. Each track's own verdict keeps the model's thresholds; a note says when
  the decisive track's own label is higher than the video's.
* No face at all -> `Verdict("no-face", None)`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from deepfake_analyzer.models.spec import Thresholds, logits
from deepfake_analyzer.report.types import (
    MAX_GAP_FACTOR,
    Members,
    RaisedThresholds,
    Segment,
    TemporalEvidence,
    Track,
    TrackPoint,
    TrackTexture,
    Verdict,
    gap_breaks,
)


@dataclass(frozen=True)
class FaceScore:
    """One face's calibrated manipulation probability, in one sampled frame, on one track;
    with a blended model, each member's evidence for it (report/types.py, `Members`); with a
    model that has a track head, the face's value of it (`texture`, module docstring)."""

    frame_index: int
    timestamp_s: float
    track_id: int
    score: float
    members: Members = ()
    texture: float | None = None

    def __post_init__(self) -> None:
        if self.frame_index < 0:
            raise ValueError(f"frame_index must be >= 0, got {self.frame_index}")
        if not (math.isfinite(self.timestamp_s) and self.timestamp_s >= 0):
            raise ValueError(f"timestamp_s must be finite and >= 0, got {self.timestamp_s}")
        if self.track_id < 0:
            raise ValueError(f"track_id must be >= 0, got {self.track_id}")
        if not 0.0 <= self.score <= 1.0:  # also rejects NaN
            raise ValueError(f"score {self.score} outside [0, 1]")
        if self.texture is not None and not math.isfinite(self.texture):
            raise ValueError(f"texture value {self.texture} is not finite")


@dataclass(frozen=True)
class AggregationRule:
    """The knobs of the aggregation rules above; defaults are the documented ones."""

    top_fraction: float = 0.25
    min_track_faces: int = 3
    smoothing_window: int = 3
    max_gap_factor: float = MAX_GAP_FACTOR
    texture_min_faces: int = 4
    """The fewest faces a track needs for its texture shift: the track head was fitted on
    videos of at least this many face crops (scripts/track_probe.py, `judged_videos`)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.top_fraction <= 1.0:
            raise ValueError("top_fraction must be in (0, 1]")
        if self.min_track_faces < 1:
            raise ValueError("min_track_faces must be >= 1")
        if self.smoothing_window < 1 or self.smoothing_window % 2 == 0:
            raise ValueError("smoothing_window must be a positive odd number")
        if self.max_gap_factor < 1.0:
            raise ValueError("max_gap_factor must be >= 1")
        if self.texture_min_faces < 1:
            raise ValueError("texture_min_faces must be >= 1")


DEFAULT_RULE = AggregationRule()


@dataclass(frozen=True)
class Aggregation:
    """Tracks (sorted by id) with timelines and segments, and the video verdict.

    The verdict's `track_id` names the track that decided it. `notes` explains decisions a
    reader could find surprising (e.g. a short suspicious track that was left out of the video
    verdict); the pipeline copies them into the report's warnings.
    """

    tracks: tuple[Track, ...]
    verdict: Verdict
    notes: tuple[str, ...] = ()


def top_k_count(num_faces: int, top_fraction: float = DEFAULT_RULE.top_fraction) -> int:
    """k = max(1, ceil(top_fraction x num_faces)) (with a tolerance for float round-off)."""
    return max(1, math.ceil(num_faces * top_fraction - 1e-9))


def top_k_indices(
    scores: Sequence[float] | np.ndarray, top_fraction: float = DEFAULT_RULE.top_fraction
) -> np.ndarray:
    """Indices of the top-k scores (`top_k_count`), the faces a track score reads."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    return np.argsort(values, kind="stable")[-top_k_count(values.size, top_fraction) :]


def track_score(
    scores: Sequence[float] | np.ndarray, top_fraction: float = DEFAULT_RULE.top_fraction
) -> float:
    """Mean of the top-k scores of one track; usable as a running score while analyzing."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("a track needs at least one score")
    return float(np.clip(values[top_k_indices(values, top_fraction)].mean(), 0.0, 1.0))


def smooth(values: np.ndarray, window: int = DEFAULT_RULE.smoothing_window) -> np.ndarray:
    """Centred moving mean; the ends repeat the edge value (so a spike does not leak into a
    low first or last point as it would with a shrinking window)."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or values.size <= 1:
        return values.copy()
    half = window // 2
    padded = np.pad(values, half, mode="edge")
    return np.convolve(padded, np.ones(window) / window, mode="valid")


def find_segments(
    times_s: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    rule: AggregationRule = DEFAULT_RULE,
) -> tuple[Segment, ...]:
    """Contiguous runs of smoothed score >= threshold, never spanning a gap (see module doc)."""
    times = np.asarray(times_s, dtype=np.float64)
    raw = np.asarray(scores, dtype=np.float64)
    segments: list[Segment] = []
    for piece in gap_breaks(times, rule.max_gap_factor):
        t, s = times[piece], raw[piece]
        above = smooth(s, rule.smoothing_window) >= threshold - 1e-12
        i = 0
        while i < above.size:
            if not above[i]:
                i += 1
                continue
            j = i
            while j + 1 < above.size and above[j + 1]:
                j += 1
            run = s[i : j + 1]
            peak_at = i + int(np.argmax(run))
            segments.append(
                Segment(
                    start_s=float(t[i]),
                    end_s=float(t[j]),
                    peak=float(s[peak_at]),
                    peak_s=float(t[peak_at]),
                )
            )
            i = j + 1
    return tuple(segments)


def aggregate(
    face_scores: Iterable[FaceScore],
    thresholds: Thresholds,
    rule: AggregationRule = DEFAULT_RULE,
    temporal: Mapping[int, TemporalEvidence] | None = None,
) -> Aggregation:
    """Aggregate every face score of one input into tracks, segments and a video verdict.

    `temporal` maps track ids to the temporal model's evidence (temporal/tracks.py); a track
    with evidence carries it, and when the evidence is `combined` its verdict uses the
    evidence's `track_score` instead of the frame score (whose value the evidence must
    repeat as `frame_score`). Faces with texture values add their track's texture shift
    (module docstring). Segments and timelines stay those of the face scores.
    """
    temporal = temporal or {}
    faces = sorted(face_scores, key=lambda f: (f.timestamp_s, f.frame_index, f.track_id))
    if not faces:
        return Aggregation(tracks=(), verdict=Verdict("no-face", None))

    by_track: dict[int, list[FaceScore]] = {}
    for face in faces:
        by_track.setdefault(face.track_id, []).append(face)

    tracks: list[Track] = []
    for track_id in sorted(by_track):
        points = by_track[track_id]
        seen: set[int] = set()
        for p in points:
            if p.frame_index in seen:
                raise ValueError(f"track {track_id} has two faces in frame {p.frame_index}")
            seen.add(p.frame_index)
        times = np.array([p.timestamp_s for p in points])
        scores = np.array([p.score for p in points])
        score = track_score(scores, rule.top_fraction)
        evidence = temporal.get(track_id)
        if evidence is not None:
            if abs(evidence.frame_score - score) > 1e-9:
                raise ValueError(
                    f"track {track_id}: temporal evidence was computed for frame score "
                    f"{evidence.frame_score}, the faces give {score}"
                )
            score = evidence.track_score
        texture = _texture(track_id, points, score, rule)
        if texture is not None:
            score = texture.track_score
        tracks.append(
            Track(
                id=track_id,
                verdict=Verdict(thresholds.label(score), score, track_id),  # type: ignore[arg-type]
                segments=find_segments(times, scores, thresholds.suspicious, rule),
                timeline=tuple(
                    TrackPoint(p.frame_index, p.timestamp_s, p.score, p.texture) for p in points
                ),
                temporal=evidence,
                members=_track_members(points, rule.top_fraction),
                texture=texture,
            )
        )

    verdict, notes = _video_verdict(tracks, thresholds, rule)
    return Aggregation(tracks=tuple(tracks), verdict=verdict, notes=notes)


def _texture(
    track_id: int, points: Sequence[FaceScore], before: float, rule: AggregationRule
) -> TrackTexture | None:
    """The track's texture evidence from its faces' values (module docstring); None when its
    faces carry none."""
    values = [p.texture for p in points]
    known = [v for v in values if v is not None]
    if not known:
        return None
    if len(known) != len(values):
        raise ValueError(f"track {track_id}: only some of its faces carry a texture value")
    if len(known) < rule.texture_min_faces:
        return TrackTexture(None, len(known), before, before, "too-few-faces")
    shift = float(np.mean(known))
    return TrackTexture(shift, len(known), before, float(shifted(before, shift)))


def shifted(score: float, shift: Sequence[float] | np.ndarray | float) -> np.ndarray:
    """sigmoid(logit(`score`) + `shift`) for each shift: a score moved along the log-odds."""
    z = float(logits(score)) + np.asarray(shift, np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def _track_members(points: Sequence[FaceScore], top_fraction: float) -> Members:
    """Each member's mean evidence over the faces the track score reads (its top k)."""
    if not points[0].members:
        return ()
    top = top_k_indices([p.score for p in points], top_fraction)
    names = [name for name, _ in points[0].members]
    values = np.array([[value for _, value in points[i].members] for i in top])
    return tuple(zip(names, (float(v) for v in values.mean(0)), strict=True))


def _video_verdict(
    tracks: list[Track], thresholds: Thresholds, rule: AggregationRule
) -> tuple[Verdict, tuple[str, ...]]:
    """The decisive track's verdict (it carries that track's id) and notes on left-out tracks."""
    longest = max(len(t.timeline) for t in tracks)
    all_short = longest < rule.min_track_faces
    eligible: list[Track] = []
    notes: list[str] = []
    for track in tracks:
        short = len(track.timeline) < rule.min_track_faces
        confident = min(p.score for p in track.timeline) >= thresholds.fake
        if all_short or not short or confident:
            eligible.append(track)
        elif track.verdict.label != "real":
            notes.append(
                f"track {track.id} scored {track.verdict.label} ({track.verdict.score:.2f}) on "
                f"only {len(track.timeline)} face(s); too few to decide the video verdict alone"
            )
    # Highest score wins; ties go to the track with more faces, then the lower id.
    decisive = max(eligible, key=lambda t: (t.verdict.score, len(t.timeline), -t.id))
    read = thresholds.for_faces(len(eligible))
    if read == thresholds:
        return decisive.verdict, tuple(notes)
    score = decisive.verdict.score
    assert score is not None  # a track's verdict always has a score
    label = read.label(score)
    if label != decisive.verdict.label:
        notes.append(
            f"track {decisive.id} alone reads {decisive.verdict.label} "
            f"({score:.2f}); with {len(eligible)} faces in the video, the video verdict reads "
            f"thresholds raised for {len(eligible)} faces (suspicious {read.suspicious:.2f}, "
            f"fake {read.fake:.2f}) and is {label}"
        )
    raised = RaisedThresholds(len(eligible), read.suspicious, read.fake)
    return Verdict(label, score, decisive.id, raised), tuple(notes)  # type: ignore[arg-type]
