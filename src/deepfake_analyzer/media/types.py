"""Frames and media descriptions that cross the decode boundary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from deepfake_analyzer.options import AnalyzeOptions

MediaKind = Literal["video", "image"]

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".m4v", ".gif"}
)
"""GIF counts as video (ffmpeg decodes its frames with their delays), however it is named."""
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | IMAGE_EXTENSIONS


def require_rgb_uint8(image: np.ndarray, what: str) -> np.ndarray:
    """`image` as an array when it holds (H, W, 3) uint8 RGB pixels, else ValueError naming
    `what`: the one check of the pixel contract (`Frame` makes it when decoded; stages that
    also take pixels from elsewhere, such as detectors and `crop_face`, make it on those)."""
    pixels = np.asarray(image)
    if pixels.ndim != 3 or pixels.shape[2] != 3 or pixels.dtype != np.uint8:
        raise ValueError(
            f"{what} needs an (H, W, 3) uint8 RGB image, got {pixels.shape} {pixels.dtype}"
        )
    return pixels


@dataclass(frozen=True)
class Frame:
    """One decoded frame: RGB uint8 pixels (H, W, 3), its decoder index and time.

    `index` counts sampled frames from 0; `timestamp_s` is the decoder's presentation
    time, never index / nominal fps. A `landmarks_only` frame was decoded for the motion
    model's dense window (`SamplingOptions.dense_fps`), between the sampled frames: only face
    landmarks are read from it, and `index` then counts such frames apart.
    """

    index: int
    timestamp_s: float
    image: np.ndarray
    landmarks_only: bool = False

    def __post_init__(self) -> None:
        require_rgb_uint8(self.image, "Frame.image")
        if self.index < 0 or self.timestamp_s < 0:
            raise ValueError("Frame index and timestamp_s must be non-negative")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True)
class MediaInfo:
    """What we know of an input before decoding its pixels.

    `width`/`height` are the displayed size (after rotation); `duration_s` is 0 for images.
    `warnings` lists non-fatal problems found while probing or decoding.
    """

    path: str
    kind: MediaKind
    width: int
    height: int
    duration_s: float = 0.0
    fps: float | None = None
    rotation_deg: int = 0
    codec: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SamplingOptions:
    """Which frames to decode from a video. `fps=None` means every frame.

    With `dense_fps`, the first `dense_seconds` after `start_s` are also sampled at that
    denser rate: the extra frames come as `Frame.landmarks_only` (the temporal model's window),
    and `max_frames` counts only the others.

    The defaults are `AnalyzeOptions`'; the checks here are the decoder's own invariants."""

    fps: float | None = AnalyzeOptions.fps
    max_frames: int | None = AnalyzeOptions.max_frames
    start_s: float = AnalyzeOptions.start_s
    end_s: float | None = AnalyzeOptions.end_s
    dense_fps: float | None = None
    dense_seconds: float = 0.0

    @property
    def dense(self) -> bool:
        """Whether a dense window adds frames between the sampled ones."""
        return (
            self.fps is not None
            and self.dense_fps is not None
            and self.dense_fps > self.fps
            and self.dense_seconds > 0
        )

    def dense_frame_budget(self) -> int:
        """At most how many landmark-only frames the dense window adds."""
        if not self.dense or self.dense_fps is None:
            return 0
        return math.ceil(self.dense_seconds * self.dense_fps) + 1

    def __post_init__(self) -> None:
        if self.fps is not None and self.fps <= 0:
            raise ValueError("fps must be positive (or None for every frame)")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError("max_frames must be at least 1")
        if self.start_s < 0:
            raise ValueError("start must be >= 0 seconds")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end must be after start")
        if self.dense_fps is not None and self.dense_fps <= 0:
            raise ValueError("dense_fps must be positive")
        if self.dense_seconds < 0:
            raise ValueError("dense_seconds must be >= 0")
