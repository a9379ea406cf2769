"""Landmark sequences of training videos, cached per video: decode, detect, face mesh.

`extract_sequences(items, cache_dir)` decodes each video with the analyzer's own decoder
(`media.open.open_media`, `SamplingOptions(fps=8, end_s=10)` by default), detects faces with
`faces.detector.create_detector`, keeps the largest face per frame and takes its 468 mesh
points: those the verified detection carries (`FaceDetection.landmarks_xy`, the same points the
analyzer's pipeline sees), else from `faces.landmarks.FaceMesh` run on the box (rotated by
BlazeFace's eye keypoints). Only x and y are kept. One `LandmarkSequence` per video is stored
as `<cache>/<config key>/<hash>.npz`; a video whose `.npz` exists is skipped, so an interrupted
run resumes where it stopped. Frames with no face, or whose mesh presence is below
`min_presence`, are left out (times keep the gap).
A file that cannot be decoded is reported through the hook and cached as an empty sequence.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.events import Message, NullHook, ProgressHook, StageProgress
from deepfake_analyzer.temporal.config import SequenceConfig
from deepfake_analyzer.temporal.sequence import LandmarkSequence

STAGE = "landmarks"
_NULL_HOOK = NullHook()
_DEFAULT_SEQUENCE = SequenceConfig()


def default_temporal_cache() -> Path:
    """`~/.cache/deepfake-analyzer/temporal`."""
    from deepfake_analyzer.paths import user_cache_dir

    return user_cache_dir() / "temporal"


def cache_name(path: Path) -> str:
    """The cache file name of a video: a hash of its absolute path and size."""
    resolved = Path(path).resolve()
    size = resolved.stat().st_size if resolved.exists() else -1
    return hashlib.sha1(f"{resolved}:{size}".encode()).hexdigest()[:20] + ".npz"


def sequence_from_frames(
    frames: Iterable[Any], detector: Any, face_mesh: Any, min_presence: float = 0.5
) -> LandmarkSequence:
    """The largest face's landmarks in each frame (`Frame`s from the decoder).

    `detector.detect(image)` gives `FaceDetection`s; `face_mesh.run(image, box, keypoints)`
    gives `FaceLandmarks` and is only called for detections without `landmarks_xy` (tests
    pass fakes of both). `landmarks_only` frames (the `followed` landmarks' dense window) are
    not detected: the face's mesh is followed through them (temporal/follow.py), as the
    analyzer does at its default rate.
    """
    from deepfake_analyzer.temporal.follow import LandmarkFollower
    from deepfake_analyzer.temporal.tracks import LandmarkCollector

    collector = LandmarkCollector()
    follower = LandmarkFollower(getattr(detector, "mesh", None) or face_mesh, min_presence)
    for frame in frames:
        if frame.landmarks_only:
            follower.follow(collector, frame.image, frame.timestamp_s)
            continue
        faces = detector.detect(frame.image)
        if not faces:
            continue
        face = max(faces, key=lambda d: d.width * d.height)
        xy, score = detection_landmarks(face)
        if xy is None:
            keypoints = face.keypoints if len(face.keypoints) >= 2 else None
            mesh = face_mesh.run(frame.image, face.box_xyxy, keypoints)
            xy, score = mesh.points, mesh.presence
        if score >= min_presence:
            collector.add_points(0, frame.timestamp_s, np.asarray(xy)[:, :2], score, detected=True)
    return collector.sequence(0) or LandmarkSequence.empty()


def detection_landmarks(face: Any) -> tuple[np.ndarray | None, float]:
    """The mesh points a verified detection already carries (faces/verify.py), with their
    presence, or (None, 0) for a bare BlazeFace detection."""
    xy = getattr(face, "landmarks_xy", None)
    if xy is None:
        return None, 0.0
    presence = getattr(face, "presence", None)
    return xy, 1.0 if presence is None else float(presence)


def read_video_sequence(
    path: Path, config: SequenceConfig, detector: Any, face_mesh: Any
) -> LandmarkSequence:
    """Decode `path` per `config` and return its landmark sequence."""
    from deepfake_analyzer.media.open import open_media
    from deepfake_analyzer.media.types import SamplingOptions

    max_frames = max(1, int(round(config.fps * config.max_seconds)))
    followed = config.landmarks == "followed"
    sampling = SamplingOptions(
        fps=config.detect_fps if followed else config.fps,
        max_frames=max_frames,
        end_s=config.max_seconds,
        dense_fps=config.fps if followed else None,
        dense_seconds=config.max_seconds if followed else 0.0,
    )
    source = open_media(path, sampling)
    try:
        return sequence_from_frames(source.frames(), detector, face_mesh, config.min_presence)
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class SequenceCache:
    """Where each video's cached sequence lives."""

    root: Path

    def path_for(self, video: Path) -> Path:
        return self.root / cache_name(video)

    def load(self, video: Path) -> LandmarkSequence | None:
        path = self.path_for(video)
        return LandmarkSequence.load(path) if path.is_file() else None


def extract_sequences(
    videos: Iterable[Path],
    cache_dir: Path | None = None,
    config: SequenceConfig = _DEFAULT_SEQUENCE,
    hook: ProgressHook = _NULL_HOOK,
    detector: Any = None,
    face_mesh: Any = None,
) -> SequenceCache:
    """Cache the landmark sequence of every video in `videos` and return the cache.

    `detector` and `face_mesh` are created from the faces package when not given.
    """
    root = Path(cache_dir or default_temporal_cache()) / config.key()
    root.mkdir(parents=True, exist_ok=True)
    cache = SequenceCache(root)
    videos = [Path(v) for v in videos]
    todo = [v for v in videos if not cache.path_for(v).is_file()]
    hook(Message(str(root), f"{len(videos) - len(todo)} of {len(videos)} videos already cached"))
    if not todo:
        return cache
    own_detector, own_mesh = detector is None, face_mesh is None
    if detector is None:
        from deepfake_analyzer.faces.detector import create_detector

        # the largest faces, cut as the cached crops and landmarks were: no crowd probes
        detector = create_detector(
            config.detector, config.min_confidence, config.min_face_px, crowd_probe_every=None
        )
    if face_mesh is None:
        from deepfake_analyzer.faces.landmarks import FaceMesh

        face_mesh = FaceMesh()  # for detectors whose faces carry no landmarks
    started = time.monotonic()
    try:
        for done, video in enumerate(todo, start=1):
            try:
                sequence = read_video_sequence(video, config, detector, face_mesh)
            except AnalyzerError as exc:
                hook(Message(str(video), f"skipped: {exc.message}", level="warning"))
                sequence = LandmarkSequence.empty()
            sequence.save(cache.path_for(video))
            hook(StageProgress(str(video), STAGE, done, len(todo)))
    finally:
        if own_detector:
            detector.close()
        if own_mesh:
            face_mesh.close()
    elapsed = time.monotonic() - started
    hook(Message(str(root), f"extracted {len(todo)} videos in {elapsed:.0f} s"))
    return cache
