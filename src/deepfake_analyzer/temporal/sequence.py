"""A track's landmark sequence: 468 face-mesh points per sampled frame, with decoder times.

`LandmarkSequence` is the one type that crosses from extraction (training's cache, or the
analyzer's per-track landmarks) into `temporal.features`. Points are in image pixels; times
come from the decoder (`Frame.timestamp_s`), never from index / fps, and must strictly
increase. An empty sequence (no face found) is valid: it has zero frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MESH_POINTS = 468


@dataclass(frozen=True)
class LandmarkSequence:
    """`points` (N, 468, 2|3) float32 image pixels (x, y[, z]); `timestamps_s` (N,) float64
    strictly increasing; `presence` (N,) face-mesh presence probabilities in [0, 1]."""

    points: np.ndarray
    timestamps_s: np.ndarray
    presence: np.ndarray

    def __post_init__(self) -> None:
        points = np.asarray(self.points)
        times = np.asarray(self.timestamps_s, dtype=np.float64).reshape(-1)
        presence = np.asarray(self.presence, dtype=np.float32).reshape(-1)
        if points.size == 0 and points.ndim != 3:
            points = points.reshape(0, MESH_POINTS, 2)
        if points.ndim != 3 or points.shape[1] != MESH_POINTS or points.shape[2] not in (2, 3):
            raise ValueError(f"points must be (N, {MESH_POINTS}, 2|3), got {points.shape}")
        if len(times) != len(points) or len(presence) != len(points):
            raise ValueError(
                f"{len(points)} frames of points but {len(times)} timestamps and "
                f"{len(presence)} presence values"
            )
        if len(times) > 1 and not np.all(np.diff(times) > 0):
            raise ValueError("timestamps_s must strictly increase")
        if not np.isfinite(points).all() or not np.isfinite(times).all():
            raise ValueError("points and timestamps_s must be finite")
        object.__setattr__(self, "points", points.astype(np.float32, copy=False))
        object.__setattr__(self, "timestamps_s", times)
        object.__setattr__(self, "presence", presence)

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def duration_s(self) -> float:
        return float(self.timestamps_s[-1] - self.timestamps_s[0]) if len(self) > 1 else 0.0

    def thinned(self, fps: float) -> LandmarkSequence:
        """The frames of a denser sequence nearest to a grid of `fps` points per second from
        its first frame (each grid point takes the nearest frame within half a grid step, each
        frame at most once). A sequence no denser than `fps` comes back unchanged."""
        if len(self) < 2 or self.median_interval_s() >= 1.0 / fps * 0.999:
            return self
        times = self.timestamps_s
        grid = np.arange(times[0], times[-1] + 0.5 / fps, 1.0 / fps)
        nearest = np.clip(np.searchsorted(times, grid), 1, len(times) - 1)
        left = times[nearest - 1]
        nearest = np.where(
            np.abs(grid - left) <= np.abs(times[nearest] - grid), nearest - 1, nearest
        )
        close = np.abs(times[nearest] - grid) <= 0.5 / fps + 1e-9
        keep = np.unique(nearest[close])
        return LandmarkSequence(self.points[keep], times[keep], self.presence[keep])

    def between(self, start_s: float, end_s: float) -> LandmarkSequence:
        """The frames with start_s <= time < end_s."""
        keep = (self.timestamps_s >= start_s) & (self.timestamps_s < end_s)
        return LandmarkSequence(self.points[keep], self.timestamps_s[keep], self.presence[keep])

    def median_interval_s(self) -> float:
        """Median time between consecutive frames (0 with fewer than 2 frames)."""
        return float(np.median(np.diff(self.timestamps_s))) if len(self) > 1 else 0.0

    @classmethod
    def empty(cls) -> LandmarkSequence:
        return cls(np.zeros((0, MESH_POINTS, 3), np.float32), np.zeros(0), np.zeros(0))

    def save(self, path: Path) -> None:
        """Write an `.npz` atomically (a crash never leaves a half-written file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp, points=self.points, timestamps_s=self.timestamps_s, presence=self.presence
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LandmarkSequence:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["points"], data["timestamps_s"], data["presence"])
