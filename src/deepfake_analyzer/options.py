"""Analysis options: the one source of truth for defaults and bounds.

The CLI builds its flags from `OPTION_BOUNDS` and the dataclass defaults; the web service
validates its form fields with `AnalyzeOptions.from_mapping`.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from deepfake_analyzer.errors import UsageError

DetectorChoice = Literal["auto", "short", "full"]
FailOn = Literal["none", "suspicious", "fake"]
TemporalChoice = Literal["combine", "report", "off"]
TEMPORAL_CHOICES: tuple[str, ...] = ("combine", "report", "off")
"""`combine`: the temporal model's score enters each track's score (temporal/tracks.py);
`report`: it is computed and reported, the track score stays the frame score; `off`: not run."""

OPTION_BOUNDS: dict[str, tuple[float, float]] = {
    "fps": (0.01, 240.0),
    "max_frames": (1, 100_000),
    "start_s": (0.0, 1e7),
    "min_face": (8, 4096),
    "min_confidence": (0.05, 0.99),
    "batch_size": (1, 256),
    "max_image_pixels": (1, 1_000_000_000),
}
"""Inclusive bounds of numeric options; `end_s` shares `start_s`'s bounds."""

DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
"""Images above this many pixels (e.g. 10000 x 10000) are refused; smaller ones that are
larger than `DETECT_MAX_SIDE` are downscaled for detection."""

MAX_ASPECT_RATIO = 25
"""Images and videos whose long side is more than this many times their short side (a
1 x 100,000,000 strip) are refused: they cannot hold a face, and decoding them costs memory."""

DECODE_MAX_PIXELS = 16_000_000
"""Larger images are decoded at a reduced size (JPEG: in the decoder; other formats: reduced
right after decoding, before any copy), so an input under the limits stays under 1 GB."""

DECODE_MAX_SIDE = 4096
"""Video frames are scaled down by ffmpeg so that neither side exceeds this (8K -> 4096)."""


@dataclass(frozen=True)
class AnalyzeOptions:
    """How to analyze one input. `fps=None` samples every frame of a video."""

    fps: float | None = 2.0
    max_frames: int | None = 300
    start_s: float = 0.0
    end_s: float | None = None
    detector: DetectorChoice = "auto"
    min_face: int = 40
    min_confidence: float = 0.5
    batch_size: int = 16
    model_path: str | None = None
    trust_model: bool = False
    explain: bool = False
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS
    temporal: TemporalChoice = "combine"

    def __post_init__(self) -> None:
        for name, (low, high) in OPTION_BOUNDS.items():
            value = getattr(self, name, None)
            if value is not None and not low <= value <= high:
                raise UsageError(f"{name.replace('_', '-')} must be between {low:g} and {high:g}")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise UsageError("end must be after start")
        if self.detector not in ("auto", "short", "full"):
            raise UsageError(f"detector must be auto, short or full, not {self.detector!r}")
        if self.temporal not in TEMPORAL_CHOICES:
            raise UsageError(
                f"temporal must be one of {', '.join(TEMPORAL_CHOICES)}, not {self.temporal!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["model_path"] is not None:
            data["model_path"] = str(Path(data["model_path"]))
        return data

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> AnalyzeOptions:
        """Build from user-supplied keys, with a "did you mean" for unknown ones."""
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                hint = difflib.get_close_matches(key, known, n=1)
                raise UsageError(
                    f"unknown option {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                )
        try:
            return cls(**values)
        except TypeError as exc:
            raise UsageError(str(exc)) from None
