"""Hand-built Report objects for the report writer tests (no pipeline, no models)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from deepfake_analyzer.models.spec import Thresholds
from deepfake_analyzer.report.types import (
    FaceResult,
    FrameResult,
    InputSummary,
    ModelSummary,
    Report,
    Thumbnail,
    Verdict,
)
from deepfake_analyzer.scoring.aggregate import FaceScore, aggregate

THRESHOLDS = Thresholds(suspicious=0.5, fake=0.7)
MODEL = ModelSummary(
    name="test-xception",
    sha256="ab" * 32,
    input_size=299,
    thresholds={"suspicious": 0.5, "fake": 0.7},
    provenance={"trained_on": "synthetic blends", "epochs": 3},
)

# Track 0 is real throughout; track 1 is swapped from 1.0 s to 2.0 s.
TRACK0 = [0.10, 0.12, 0.08, 0.11, 0.09, 0.10]
TRACK1 = [0.20, 0.30, 0.90, 0.95, 0.85, 0.20]


def _jpeg(value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), value, np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_video_report(path: str = "clips/interview.mp4", **overrides: object) -> Report:
    face_scores = []
    frames = []
    for i, (s0, s1) in enumerate(zip(TRACK0, TRACK1, strict=True)):
        t = i * 0.5
        face_scores += [FaceScore(i, t, 0, s0), FaceScore(i, t, 1, s1)]
        frames.append(
            FrameResult(
                index=i,
                timestamp_s=t,
                faces=(
                    FaceResult(0, (10.0, 20.0, 110.0, 140.0), s0, 0.93),
                    FaceResult(1, (300.0, 40.0, 380.0, 150.0), s1, 0.88),
                ),
            )
        )
    frames.append(FrameResult(index=6, timestamp_s=3.0, faces=()))  # a frame with no face
    agg = aggregate(face_scores, THRESHOLDS)
    thumbs = (
        Thumbnail(1, 3, 1.5, 0.95, _jpeg(200), heatmap_jpeg=_jpeg(90)),
        Thumbnail(1, 2, 1.0, 0.90, _jpeg(180)),
        Thumbnail(0, 2, 1.0, 0.08, _jpeg(60)),
    )
    values: dict[str, object] = dict(
        input=InputSummary(path, "video", 3.2, 640, 360),
        model=MODEL,
        verdict=agg.verdict,
        tracks=agg.tracks,
        frames=tuple(frames),
        timings_s={"decode": 0.5, "detect": 0.25, "classify": 1.25, "total": 2.1},
        errors=("frames after 3.1 s could not be decoded (truncated file)",),
        warnings=("track 7 was short",),
        options={"fps": 2.0, "max_frames": 300},
        thumbnails=thumbs,
        created_utc="2026-11-25T17:00:00+00:00",
        analyzer_version="0.1.0",
    )
    values.update(overrides)
    return Report(**values)  # type: ignore[arg-type]


def make_image_report(path: str = "photo.jpg") -> Report:
    agg = aggregate([FaceScore(0, 0.0, 0, 0.62)], THRESHOLDS)
    return Report(
        input=InputSummary(path, "image", 0.0, 800, 600),
        model=MODEL,
        verdict=agg.verdict,
        tracks=agg.tracks,
        frames=(FrameResult(0, 0.0, (FaceResult(0, (1.0, 2.0, 50.0, 60.0), 0.62, 0.9),)),),
        timings_s={"total": 0.3},
    )


def make_no_face_report(path: str = "landscape.png") -> Report:
    return Report(
        input=InputSummary(path, "image", 0.0, 320, 200),
        model=MODEL,
        verdict=Verdict("no-face", None),
        frames=(FrameResult(0, 0.0, ()),),
    )


@pytest.fixture
def video_report() -> Report:
    return make_video_report()


@pytest.fixture
def image_report() -> Report:
    return make_image_report()


@pytest.fixture
def no_face_report() -> Report:
    return make_no_face_report()


@pytest.fixture
def make_report():
    """Factory: `make_report(path=..., **Report fields)` builds the two-track video report."""
    return make_video_report
