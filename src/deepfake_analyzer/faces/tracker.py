"""Link face detections across sampled frames into person tracks (pure numpy, no models).

Each live track predicts where its face is now (last box moved by its smoothed velocity), and
detections are matched to predictions greedily by a cost of `(1 - IoU) + centre distance /
face size`, among pairs that overlap or whose centres are close and whose sizes are alike.
A track can be matched again after up to `max_gap_frames` sampled frames without it, or
while at most `max_gap_s` seconds passed since it was last seen, whichever allows more.

Re-identification: a track unseen for longer than that is not forgotten but kept aside for
`reid_max_gap_s` seconds (20 s). A detection that no live track takes is compared with these
by appearance (faces/verify.py's `appearance_descriptor`, which verified detections carry):
the kept-aside track with the nearest appearance takes it back, when the RMS distance is at
most `reid_max_distance` and the sizes differ at most `reid_max_size_ratio`. Position does not
gate this (a person may come back anywhere in the frame). Limits: detections without an
appearance (an unverified detector) are never re-identified; after `reid_max_gap_s` a person
gets a new id; the descriptor is colour at the face's landmarks, so two people of similar
skin tone and lighting who take turns in front of the camera can share an id, and a strong
lighting change during the absence can give the same person a new one.

Unmatched detections start new tracks, numbered from 1 in left-to-right order,
so ids do not depend on the detector's output order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from deepfake_analyzer.faces.types import FaceDetection


@dataclass(frozen=True)
class TrackerConfig:
    """Matching and survival rules of `FaceTracker`."""

    max_gap_frames: int = 2
    max_gap_s: float = 1.5
    max_center_distance: float = 1.0
    """Largest centre distance, in face sizes, for a match without overlap."""
    max_size_ratio: float = 2.0
    """Largest ratio between the sizes of matched faces (zoom between two samples)."""
    velocity_smoothing: float = 0.5
    """Weight of the newest velocity estimate in the running average (0: no motion model)."""
    reid_max_gap_s: float = 20.0
    """How long a lost track can be re-identified by appearance (seconds; 0: never)."""
    reid_max_distance: float = 0.05
    """Largest RMS appearance distance of a re-identified face (see the module docstring)."""
    reid_max_size_ratio: float = 3.0
    """Largest ratio between the sizes of a lost face and the face that re-identifies it."""
    appearance_smoothing: float = 0.2
    """Weight of the newest appearance in a track's running mean."""

    def __post_init__(self) -> None:
        if self.max_gap_frames < 0 or self.max_gap_s < 0:
            raise ValueError("max_gap_frames and max_gap_s must be non-negative")
        if self.max_center_distance <= 0:
            raise ValueError("max_center_distance must be positive")
        if self.max_size_ratio < 1:
            raise ValueError("max_size_ratio must be at least 1")
        if not 0.0 <= self.velocity_smoothing <= 1.0:
            raise ValueError("velocity_smoothing must be in [0, 1]")
        if self.reid_max_gap_s < 0 or self.reid_max_distance < 0:
            raise ValueError("reid_max_gap_s and reid_max_distance must be non-negative")
        if self.reid_max_size_ratio < 1:
            raise ValueError("reid_max_size_ratio must be at least 1")
        if not 0.0 < self.appearance_smoothing <= 1.0:
            raise ValueError("appearance_smoothing must be in (0, 1]")


@dataclass
class _Track:
    track_id: int
    box: np.ndarray  # (4,) xyxy of the last matched detection
    timestamp_s: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # xyxy per second
    missed: int = 0
    appearance: np.ndarray | None = None  # running mean of the matched faces' descriptors

    def predicted(self, timestamp_s: float, max_dt: float) -> np.ndarray:
        dt = min(max(timestamp_s - self.timestamp_s, 0.0), max_dt)
        return self.box + self.velocity * dt


class FaceTracker:
    """Assigns a stable integer track id to each face, frame after frame.

    Call `update` once per sampled frame, in time order, even when the frame has no faces
    (that is how missed detections are counted).
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._lost: list[_Track] = []
        self._next_id = 1
        self.reidentified = 0
        """How many times a lost track was taken back by appearance (for benchmarks)."""
        self._last_timestamp_s: float | None = None

    @property
    def live_track_ids(self) -> list[int]:
        """Ids of tracks that can still be matched."""
        return [t.track_id for t in self._tracks]

    @property
    def track_count(self) -> int:
        """How many tracks were started so far."""
        return self._next_id - 1

    def update(self, timestamp_s: float, detections: Sequence[FaceDetection]) -> list[int]:
        """Match this frame's detections to tracks; returns one track id per detection."""
        if self._last_timestamp_s is not None and timestamp_s < self._last_timestamp_s:
            raise ValueError(
                f"timestamps must not decrease: {timestamp_s} after {self._last_timestamp_s}"
            )
        self._last_timestamp_s = timestamp_s
        self._drop_stale(timestamp_s)

        boxes = np.array([d.box_xyxy for d in detections], dtype=np.float64).reshape(-1, 4)
        looks = [d.appearance for d in detections]
        ids = [0] * len(boxes)
        matched_tracks: set[int] = set()
        for ti, di in self._match(timestamp_s, boxes):
            track = self._tracks[ti]
            self._observe(track, boxes[di], looks[di], timestamp_s)
            ids[di] = track.track_id
            matched_tracks.add(ti)
        for ti, track in enumerate(self._tracks):
            if ti not in matched_tracks:
                track.missed += 1

        unmatched = [i for i, tid in enumerate(ids) if tid == 0]
        revived = self._reidentify(boxes, looks, unmatched)
        for li, di in revived:
            track = self._lost[li]
            track.velocity = np.zeros(4)
            self._observe(track, boxes[di], looks[di], timestamp_s)
            ids[di] = track.track_id
            self.reidentified += 1
        taken_back = {li for li, _ in revived}
        self._tracks += [t for li, t in enumerate(self._lost) if li in taken_back]
        self._lost = [t for li, t in enumerate(self._lost) if li not in taken_back]

        unmatched = [i for i, tid in enumerate(ids) if tid == 0]
        for di in sorted(unmatched, key=lambda i: (_center(boxes[i])[0], _center(boxes[i])[1])):
            track = _Track(self._next_id, boxes[di].copy(), timestamp_s)
            if looks[di] is not None:
                track.appearance = np.asarray(looks[di], dtype=np.float64).copy()
            self._next_id += 1
            self._tracks.append(track)
            ids[di] = track.track_id
        return ids

    def _drop_stale(self, timestamp_s: float) -> None:
        """Tracks past the live window are set aside (when they have an appearance)."""
        cfg = self.config
        live: list[_Track] = []
        stale: list[_Track] = []
        for t in self._tracks:
            fresh = t.missed <= cfg.max_gap_frames or timestamp_s - t.timestamp_s <= cfg.max_gap_s
            (live if fresh else stale).append(t)
        self._tracks = live
        self._lost = [
            t
            for t in [*self._lost, *stale]
            if t.appearance is not None and timestamp_s - t.timestamp_s <= cfg.reid_max_gap_s
        ]

    def _reidentify(
        self, boxes: np.ndarray, looks: list[np.ndarray | None], unmatched: list[int]
    ) -> list[tuple[int, int]]:
        """(lost track index, detection index) pairs, nearest appearance first."""
        cfg = self.config
        candidates: list[tuple[float, int, int]] = []
        for di in unmatched:
            look = looks[di]
            if look is None:
                continue
            size_d = float(_sizes(boxes[di : di + 1])[0])
            for li, track in enumerate(self._lost):
                if track.appearance is None or track.appearance.shape != look.shape:
                    continue
                size_t = float(_sizes(track.box[None])[0])
                ratio = max(size_t, size_d) / max(min(size_t, size_d), 1e-6)
                distance = float(np.sqrt(np.mean((track.appearance - look) ** 2)))
                if ratio <= cfg.reid_max_size_ratio and distance <= cfg.reid_max_distance:
                    candidates.append((distance, li, di))
        pairs: list[tuple[int, int]] = []
        used_l: set[int] = set()
        used_d: set[int] = set()
        for _, li, di in sorted(candidates):
            if li not in used_l and di not in used_d:
                pairs.append((li, di))
                used_l.add(li)
                used_d.add(di)
        return pairs

    def _match(self, timestamp_s: float, boxes: np.ndarray) -> list[tuple[int, int]]:
        if not self._tracks or len(boxes) == 0:
            return []
        cfg = self.config
        max_dt = max(cfg.max_gap_s, 1e-6)
        predicted = np.stack([t.predicted(timestamp_s, max_dt) for t in self._tracks])
        iou = box_iou(predicted, boxes)
        sizes_p = _sizes(predicted)[:, None]
        sizes_d = _sizes(boxes)[None, :]
        dist = np.linalg.norm(_centers(predicted)[:, None, :] - _centers(boxes)[None, :, :], axis=2)
        norm_dist = dist / np.maximum(np.maximum(sizes_p, sizes_d), 1e-6)
        ratio = np.maximum(sizes_p, sizes_d) / np.maximum(np.minimum(sizes_p, sizes_d), 1e-6)
        allowed = ((iou > 0) | (norm_dist <= cfg.max_center_distance)) & (
            ratio <= cfg.max_size_ratio
        )
        cost = (1.0 - iou) + norm_dist
        pairs: list[tuple[int, int]] = []
        used_t: set[int] = set()
        used_d: set[int] = set()
        # Greedy by cost; ties broken by track order then detection order (deterministic).
        for flat in np.lexsort((np.arange(cost.size), cost.ravel())):
            ti, di = divmod(int(flat), cost.shape[1])
            if not allowed[ti, di] or ti in used_t or di in used_d:
                continue
            pairs.append((ti, di))
            used_t.add(ti)
            used_d.add(di)
        return pairs

    def _observe(
        self, track: _Track, box: np.ndarray, look: np.ndarray | None, timestamp_s: float
    ) -> None:
        dt = timestamp_s - track.timestamp_s
        if dt > 0:
            alpha = self.config.velocity_smoothing
            new_velocity = (box - track.box) / dt
            track.velocity = alpha * new_velocity + (1.0 - alpha) * track.velocity
        track.box = box.copy()
        track.timestamp_s = timestamp_s
        track.missed = 0
        if look is not None:
            look = np.asarray(look, dtype=np.float64)
            if track.appearance is None or track.appearance.shape != look.shape:
                track.appearance = look.copy()
            else:
                beta = self.config.appearance_smoothing
                track.appearance = beta * look + (1.0 - beta) * track.appearance


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `a` (N, 4) with every box in `b` (M, 4)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    ix0 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix1 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def _centers(boxes: np.ndarray) -> np.ndarray:
    return np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, (boxes[:, 1] + boxes[:, 3]) / 2.0], axis=1)


def _center(box: np.ndarray) -> tuple[float, float]:
    return float((box[0] + box[2]) / 2.0), float((box[1] + box[3]) / 2.0)


def _sizes(boxes: np.ndarray) -> np.ndarray:
    sizes: np.ndarray = np.sqrt(
        np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    )
    return sizes
