"""The temporal model's training settings and defaults, apart from the code that uses them
(no NumPy), so that `train-temporal --help` reads them importing nothing heavy."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import cast

from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.paths import MODELS_DIR

DEFAULT_TEMPORAL_MODEL = MODELS_DIR / "temporal_v1.json"
DEFAULT_FOLDS = 5
DEFAULT_REAL_QUANTILE = 0.95
LANDMARK_SOURCES = ("verified-detection", "followed")


@dataclass(frozen=True)
class SequenceConfig:
    """How landmark sequences are sampled from a video."""

    fps: float = 8.0
    max_seconds: float = 10.0
    detector: str = AnalyzeOptions.detector
    min_confidence: float = AnalyzeOptions.min_confidence
    min_face_px: float = float(AnalyzeOptions.min_face)
    min_presence: float = 0.5
    landmarks: str = "verified-detection"
    """Where points come from, part of the cache key (a change re-extracts): `verified-detection`
    detects every sampled frame; `followed` detects `detect_fps` frames a second and follows
    the face's mesh through the frames between, as the analyzer does at its default rate
    (temporal/follow.py)."""
    detect_fps: float = cast(float, AnalyzeOptions.fps)  # a rate by default, never None
    """With `followed`: frames per second the detector sees (the analyzer's sampling rate)."""

    def __post_init__(self) -> None:
        if not 0.5 <= self.fps <= 60.0:
            raise ValueError(f"sequence fps {self.fps} outside 0.5..60")
        if self.max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        if not 0.0 <= self.min_presence <= 1.0:
            raise ValueError(f"min_presence {self.min_presence} outside [0, 1]")
        if self.landmarks not in LANDMARK_SOURCES:
            raise ValueError(f"landmarks must be one of {', '.join(LANDMARK_SOURCES)}")
        if not 0.0 < self.detect_fps <= self.fps:
            raise ValueError(f"detect_fps {self.detect_fps} outside (0, fps]")

    def key(self) -> str:
        """A short name for the settings: the cache sub-folder."""
        fields: tuple[object, ...] = (
            self.fps,
            self.max_seconds,
            self.detector,
            self.min_confidence,
            self.min_face_px,
            self.min_presence,
            self.landmarks,
        )
        if self.landmarks == "followed":  # keeps the other settings' cache folders
            fields += (self.detect_fps,)
        return (
            f"fps{self.fps:g}_t{self.max_seconds:g}_"
            + hashlib.sha1(repr(fields).encode()).hexdigest()[:8]
        )
