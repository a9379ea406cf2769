"""Face meshes carried through the dense window's landmark-only frames.

The temporal model reads a face's mesh about 8 times a second (`models/temporal_v1.md`); the
analyzer classifies 2 frames a second by default. So, for the first `temporal_seconds` of a
video (options.py, default 5), the decoder also yields the frames between
(`Frame.landmarks_only`, see `media.types.SamplingOptions.dense_fps`), and `LandmarkFollower`
carries each track's mesh through them the way MediaPipe's own face-mesh tracking does: the face
mesh runs on the box and eye line of the track's latest points
(`faces.verify.box_from_landmarks`, `eye_keypoints`), without the face detector. A face is
followed only while

- its latest detection is at most `MAX_FOLLOW_GAP_S` old (a face lost at a sampled frame is
  not searched for in the frames after it),
- the mesh still finds a face there (presence >= `faces.verify.MIN_PRESENCE`), and
- the new box's centre stays within `faces.verify.MAX_DRIFT` box widths of the old one's (the
  mesh has not slid onto a neighbour; the same rule as verification's refinement).

Each sampled frame re-anchors the track on its verified detection's own mesh.
A mesh run costs ~6 ms where detecting and verifying a frame costs ~30 ms. Still, a 10 s
window added 60 frames to a 10 s clip's 20: on the benchmark's 1080p clip, 1.55 s against 1.00 s
with `--temporal off` (0.36 s of mesh runs, the `landmarks` stage of
benchmarks/bench_pipeline.py, and 0.23 s more decoding; models/temporal_v1.md). The default
window is 5 s since 2026-12-04 (30 frames).
"""

from __future__ import annotations

import numpy as np

from deepfake_analyzer.faces.verify import (
    MAX_DRIFT,
    MIN_PRESENCE,
    Landmarker,
    box_from_landmarks,
    centre_distance,
    eye_keypoints,
)
from deepfake_analyzer.temporal.tracks import LandmarkCollector

MAX_FOLLOW_GAP_S = 0.75
"""Longest time since a track's latest detection for it to be followed (1.5 intervals at 2 fps)."""


class LandmarkFollower:
    """Adds each followed track's mesh in a landmark-only frame to a `LandmarkCollector`."""

    def __init__(
        self,
        mesh: Landmarker,
        min_presence: float = MIN_PRESENCE,
        max_gap_s: float = MAX_FOLLOW_GAP_S,
    ) -> None:
        self.mesh = mesh
        self.min_presence = min_presence
        self.max_gap_s = max_gap_s

    def follow(
        self, collector: LandmarkCollector, image_rgb: np.ndarray, timestamp_s: float
    ) -> int:
        """Follow every recent track into this frame; returns how many were found."""
        found = 0
        for track_id, (detected_s, points) in collector.latest().items():
            if not 0.0 < timestamp_s - detected_s <= self.max_gap_s:
                continue
            box = box_from_landmarks(points)
            mesh = self.mesh.run(image_rgb, box, eye_keypoints(points))
            if mesh.presence < self.min_presence or not np.isfinite(mesh.points).all():
                continue
            moved = centre_distance(box_from_landmarks(mesh.points), box)
            if moved > MAX_DRIFT * (box[2] - box[0]):
                continue
            collector.add_points(track_id, timestamp_s, mesh.points, mesh.presence)
            found += 1
        return found
