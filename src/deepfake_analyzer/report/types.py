"""The analysis result: frozen dataclasses returned by `deepfake_analyzer.analyze`.

Dicts appear only when a report is written (`Report.to_dict`), following the JSON schema in
`docs/report-schema.md` (version `SCHEMA_VERSION`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from deepfake_analyzer.provenance.types import Provenance
from deepfake_analyzer.report.reliability import Reliability, reliability_of, trust_note

SCHEMA_VERSION = "1.6"

VerdictLabel = Literal["real", "suspicious", "fake", "no-face"]
VERDICT_LABELS: tuple[str, ...] = ("real", "suspicious", "fake", "no-face")


def _check_score(score: float | None) -> None:
    if score is not None and not 0.0 <= score <= 1.0:
        raise ValueError(f"score {score} outside [0, 1]")


MAX_GAP_FACTOR = 2.5
"""A step between a track's faces longer than this x its median step is a gap (`gap_breaks`)."""


@dataclass(frozen=True)
class RaisedThresholds:
    """The thresholds a video verdict read because it followed the most suspicious of `faces`
    faces (scoring/aggregate.py; `Thresholds.for_faces`): raised from the model's so that a
    real video of that many people reaches each label about as often as one of one person."""

    faces: int
    suspicious: float
    fake: float

    def __post_init__(self) -> None:
        if self.faces < 2:
            raise ValueError(f"raised thresholds are for 2 or more faces, got {self.faces}")
        if not 0.0 < self.suspicious <= self.fake < 1.0:
            raise ValueError("thresholds need 0 < suspicious <= fake < 1")

    def to_dict(self) -> dict[str, Any]:
        return {
            "faces": self.faces,
            "suspicious": round(self.suspicious, 4),
            "fake": round(self.fake, 4),
        }


@dataclass(frozen=True)
class Verdict:
    """A label and the manipulation probability behind it (None for `no-face`).

    `track_id` is the track the verdict follows: a track's own id on its verdict, and on the
    video verdict the track that decided it (scoring/aggregate.py). None for `no-face`, and
    on a report read back from JSON, which does not store it; it takes no part in equality.
    `raised` is set on a video verdict over several faces read against raised thresholds.
    """

    label: VerdictLabel
    score: float | None
    track_id: int | None = field(default=None, compare=False)
    raised: RaisedThresholds | None = None

    def __post_init__(self) -> None:
        if self.label not in VERDICT_LABELS:
            raise ValueError(f"unknown verdict label {self.label!r}")
        _check_score(self.score)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": self.label, "score": _round(self.score)}
        if self.raised is not None:
            out["raised_thresholds"] = self.raised.to_dict()
        return out


@dataclass(frozen=True)
class Segment:
    """A contiguous time range of one track above the suspicious threshold."""

    start_s: float
    end_s: float
    peak: float
    peak_s: float

    def __post_init__(self) -> None:
        if self.end_s < self.start_s:
            raise ValueError("segment ends before it starts")
        _check_score(self.peak)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": _round(self.start_s),
            "end_s": _round(self.end_s),
            "peak": _round(self.peak),
            "peak_s": _round(self.peak_s),
        }


@dataclass(frozen=True)
class TrackPoint:
    """One track's face score at one sampled frame, and the face's value of the model's track
    head (`FaceResult.texture`; None without one)."""

    frame_index: int
    timestamp_s: float
    score: float
    texture: float | None = None


def gap_breaks(
    times_s: Sequence[float] | np.ndarray, max_gap_factor: float = MAX_GAP_FACTOR
) -> list[slice]:
    """Split sorted times into pieces where a step exceeds `max_gap_factor` x the median step.

    With fewer than 3 points (no reliable median step) nothing is split. Scoring never smooths
    across a gap; the HTML timeline breaks its line there.
    """
    times = np.asarray(times_s, dtype=np.float64)
    n = times.size
    if n < 3:
        return [slice(0, n)] if n else []
    steps = np.diff(times)
    positive = steps[steps > 0]
    if positive.size == 0:
        return [slice(0, n)]
    limit = max_gap_factor * float(np.median(positive))
    cut_after = np.nonzero(steps > limit + 1e-9)[0]
    starts = [0, *(int(i) + 1 for i in cut_after)]
    ends = [*(int(i) + 1 for i in cut_after), n]
    return [slice(a, b) for a, b in zip(starts, ends, strict=True)]


TEMPORAL_REASONS: tuple[str, ...] = (
    "",
    "no-landmarks",
    "too-few-frames",
    "too-short",
    "sparse-sampling",
    "outside-window",
)
"""Why a track has no temporal score ("" when it has one)."""


@dataclass(frozen=True)
class TemporalWindow:
    """The temporal model's score for one stretch of a track (`start_s` to `end_s`)."""

    start_s: float
    end_s: float
    score: float

    def __post_init__(self) -> None:
        if self.end_s < self.start_s:
            raise ValueError("temporal window ends before it starts")
        _check_score(self.score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": _round(self.start_s),
            "end_s": _round(self.end_s),
            "score": _round(self.score),
        }


@dataclass(frozen=True)
class TemporalEvidence:
    """What the temporal (face-mesh motion) model said about one track.

    `score` is its probability in [0, 1] that the track's motion is generated, or None with
    `reason` saying why there is none (`no-landmarks`: the detector gave no face-mesh points;
    `too-few-frames` / `too-short`: too little of the track; `sparse-sampling`: frames too far
    apart for the model's training rate; `outside-window`: the face is not in the stretch the
    analyzer samples densely for the model). `frame_score` is the track score
    from the face crops alone and `track_score` the one behind the track's verdict: the two
    differ only when `combined` (see docs/report-schema.md, Aggregation). `frames` counts the
    landmark frames the model read; `message` explains a missing score in words. `windows`
    are the stretches the model scored (as long as its training clips, half overlapping; one
    for a short track); `score` is their mean.
    """

    score: float | None
    frame_score: float
    track_score: float
    frames: int
    combined: bool = False
    reason: str = ""
    message: str = ""
    windows: tuple[TemporalWindow, ...] = ()

    def __post_init__(self) -> None:
        _check_score(self.score)
        _check_score(self.frame_score)
        _check_score(self.track_score)
        if self.reason not in TEMPORAL_REASONS:
            raise ValueError(f"unknown temporal reason {self.reason!r}")
        if (self.score is None) != bool(self.reason):
            raise ValueError("a temporal score comes without a reason, a missing one with one")
        if self.combined and self.score is None:
            raise ValueError("only a temporal score can be combined into the track score")
        if not self.combined and self.track_score != self.frame_score:
            raise ValueError("without combining, the track score is the frame score")

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": _round(self.score),
            "frame_score": _round(self.frame_score),
            "track_score": _round(self.track_score),
            "combined": self.combined,
            "frames": self.frames,
            "reason": self.reason,
            "message": self.message,
            "windows": [w.to_dict() for w in self.windows],
        }


TEXTURE_REASONS: tuple[str, ...] = ("", "too-few-faces")
"""Why a track's texture evidence was not added to its score ("" when it was)."""


@dataclass(frozen=True)
class TrackTexture:
    """What the model's track head said about one track (models/blend.py, `TrackHead`): a
    linear read of the face's texture statistics averaged over the whole track, fitted on
    videos, which no single face's score sees.

    `shift` is the log-odds it added to the track score: the plain mean of the track's faces'
    values (`FaceResult.texture`), or None with `reason` when it was not added (`too-few-faces`:
    a track shorter than the videos the head was fitted on, e.g. a still's face). `before` is
    the track score without it (the faces' score, with the temporal evidence when that was
    combined); `track_score` the one behind the track's verdict. `faces` counts the faces read.
    """

    shift: float | None
    faces: int
    before: float
    track_score: float
    reason: str = ""

    def __post_init__(self) -> None:
        _check_score(self.before)
        _check_score(self.track_score)
        if self.reason not in TEXTURE_REASONS:
            raise ValueError(f"unknown texture reason {self.reason!r}")
        if self.shift is not None and not math.isfinite(self.shift):
            raise ValueError(f"texture shift {self.shift} is not finite")
        if self.faces < 0:
            raise ValueError(f"faces must be >= 0, got {self.faces}")
        if (self.shift is None) != bool(self.reason):
            raise ValueError("a texture shift comes without a reason, a missing one with one")
        if self.shift is None and self.track_score != self.before:
            raise ValueError("without a texture shift, the track score is the one before it")

    def to_dict(self) -> dict[str, Any]:
        return {
            "shift": _round(self.shift),
            "faces": self.faces,
            "before": _round(self.before),
            "track_score": _round(self.track_score),
            "reason": self.reason,
        }


Members = tuple[tuple[str, float], ...]
"""A blended model's evidence per member: (member model name, calibrated log-odds it adds), in
the blend's member order (models/blend.py, `Blend.evidence`); () for a single model."""


def members_dict(members: Members) -> dict[str, float | None]:
    """Members as JSON: {member name: evidence rounded to 4 decimals}."""
    return {name: _round(value) for name, value in members}


@dataclass(frozen=True)
class Track:
    """One person followed across frames, with its score timeline and verdict.

    `temporal` is the temporal model's evidence, None when it was not run (images, or the
    option is off). `members`: a blend's evidence per member, the mean over the faces the
    track score reads (its top quarter); () for a single model. `texture`: the model's track
    head's evidence (`TrackTexture`), None for a model without one.
    """

    id: int
    verdict: Verdict
    segments: tuple[Segment, ...] = ()
    timeline: tuple[TrackPoint, ...] = ()
    temporal: TemporalEvidence | None = None
    members: Members = ()
    texture: TrackTexture | None = None

    @property
    def first_s(self) -> float:
        return self.timeline[0].timestamp_s if self.timeline else 0.0

    @property
    def last_s(self) -> float:
        return self.timeline[-1].timestamp_s if self.timeline else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict.to_dict(),
            "first_s": _round(self.first_s),
            "last_s": _round(self.last_s),
            "num_faces": len(self.timeline),
            "segments": [s.to_dict() for s in self.segments],
            "temporal": None if self.temporal is None else self.temporal.to_dict(),
            "members": members_dict(self.members),
            "texture": None if self.texture is None else self.texture.to_dict(),
        }


@dataclass(frozen=True)
class FaceResult:
    """One face in one sampled frame with its score and track; `members`, a blend's evidence
    per member for this face (() for a single model); `texture`, its value of the model's track
    head on the calibrated log-odds scale (its share of the track's `TrackTexture.shift`; None
    for a model without one)."""

    track_id: int
    box_xyxy: tuple[float, float, float, float]
    score: float
    detection_confidence: float
    members: Members = ()
    texture: float | None = None

    def __post_init__(self) -> None:
        _check_score(self.score)

    def to_dict(self) -> dict[str, Any]:
        return {
            "track_id": self.track_id,
            "box_xyxy": [round(float(v), 1) for v in self.box_xyxy],
            "score": _round(self.score),
            "detection_confidence": _round(self.detection_confidence),
            "members": members_dict(self.members),
            "texture": _round(self.texture),
        }


@dataclass(frozen=True)
class FrameResult:
    """One sampled frame: its decoder index and time, and the faces found in it."""

    index: int
    timestamp_s: float
    faces: tuple[FaceResult, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "timestamp_s": _round(self.timestamp_s),
            "faces": [f.to_dict() for f in self.faces],
        }


@dataclass(frozen=True)
class InputSummary:
    """The analyzed input as decoded (displayed size, after rotation)."""

    path: str
    kind: Literal["video", "image"]
    duration_s: float
    width: int
    height: int
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "duration_s": _round(self.duration_s),
            "width": self.width,
            "height": self.height,
            "sha256": self.sha256,
        }


THRESHOLD_NAMES: tuple[str, ...] = ("suspicious", "fake")


@dataclass(frozen=True)
class ModelSummary:
    """Which model scored the faces, with its provenance and thresholds.

    `thresholds` holds the `suspicious` and `fake` thresholds the verdicts were read against
    (the model spec's); a summary without them is refused.
    """

    name: str
    sha256: str
    input_size: int
    thresholds: dict[str, float]
    provenance: dict[str, Any] = field(default_factory=dict)
    views: int = 1
    """How many views of each face crop it read (models/views.py): all of them for a still's
    face, one per face along a video's track."""

    def __post_init__(self) -> None:
        missing = [name for name in THRESHOLD_NAMES if name not in self.thresholds]
        if missing:
            raise ValueError(f"model summary lacks the {' and '.join(missing)} threshold")

    @property
    def suspicious_threshold(self) -> float:
        return float(self.thresholds["suspicious"])

    @property
    def fake_threshold(self) -> float:
        return float(self.thresholds["fake"])

    def reliability(self, medium: str) -> Reliability | None:
        """The model's leave-generator-out figures for `medium` ("video" or "image") at these
        thresholds, read from its spec's metrics (report/reliability.py); None without them."""
        return reliability_of(self.provenance.get("metrics") or {}, self.thresholds, medium)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sha256": self.sha256,
            "input_size": self.input_size,
            "thresholds": dict(self.thresholds),
            "provenance": dict(self.provenance),
            "views": self.views,
        }


@dataclass(frozen=True)
class Thumbnail:
    """A face crop kept for the HTML report (JPEG bytes), with where it came from."""

    track_id: int
    frame_index: int
    timestamp_s: float
    score: float
    jpeg: bytes
    heatmap_jpeg: bytes | None = None


@dataclass(frozen=True)
class Report:
    """The whole result of analyzing one input."""

    input: InputSummary
    model: ModelSummary
    verdict: Verdict
    tracks: tuple[Track, ...] = ()
    frames: tuple[FrameResult, ...] = ()
    timings_s: dict[str, float] = field(default_factory=dict)
    errors: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    thumbnails: tuple[Thumbnail, ...] = ()
    created_utc: str = ""
    analyzer_version: str = ""
    warnings: tuple[str, ...] = ()
    provenance: Provenance = Provenance()

    def trust_note(self) -> str:
        """What this verdict is worth on generators and people the model never saw, from its
        own leave-generator-out figures ("" when it has none): a sentence, and one on faces
        of the deciding face's size where the figures have that row (`trust_note`)."""
        found = self.model.reliability(self.input.kind)
        if found is None:
            return ""
        return trust_note(found, self.verdict.label, self.deciding_face_width())

    def deciding_face_width(self) -> float | None:
        """The median width (source pixels) of the faces of the track the verdict follows;
        None without one."""
        track = self.verdict.track_id
        widths = [
            face.box_xyxy[2] - face.box_xyxy[0]
            for frame in self.frames
            for face in frame.faces
            if face.track_id == track
        ]
        return float(np.median(widths)) if track is not None and widths else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "analyzer_version": self.analyzer_version,
            "created_utc": self.created_utc,
            "input": self.input.to_dict(),
            "model": self.model.to_dict(),
            "verdict": self.verdict.to_dict(),
            "provenance": self.provenance.to_dict(),
            "tracks": [t.to_dict() for t in self.tracks],
            "frames": [f.to_dict() for f in self.frames],
            "timings_s": {k: _round(v) for k, v in self.timings_s.items()},
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "options": dict(self.options),
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)
