"""A track's texture evidence in reports (report/types.py `TrackTexture`, `FaceResult.texture`):
what it refuses, how it is written, and that the JSON report reads it back."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deepfake_analyzer.models.spec import Thresholds
from deepfake_analyzer.report.json_report import read_json, report_from_dict, report_to_json
from deepfake_analyzer.report.types import (
    TEXTURE_REASONS,
    FaceResult,
    FrameResult,
    Report,
    TrackPoint,
    TrackTexture,
)
from deepfake_analyzer.scoring.aggregate import FaceScore, aggregate

MakeReport = Callable[..., Report]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"before": 1.5}, "outside"),
        ({"track_score": -0.1}, "outside"),
        ({"reason": "cosmic-rays"}, "unknown texture reason 'cosmic-rays'"),
        ({"reason": "too-few-faces"}, "comes without a reason"),
        ({"shift": None}, "comes without a reason"),
        ({"shift": None, "reason": "too-few-faces"}, "the track score is the one before it"),
    ],
)
def test_a_texture_that_cannot_be_is_refused(values: dict[str, Any], message: str) -> None:
    good: dict[str, Any] = {"shift": 0.8, "faces": 6, "before": 0.4, "track_score": 0.6}
    TrackTexture(**good)  # the good one stands
    with pytest.raises(ValueError, match=message):
        TrackTexture(**(good | values))


def test_a_texture_left_out_keeps_the_score_before_it() -> None:
    texture = TrackTexture(None, 2, 0.4, 0.4, "too-few-faces")
    assert texture.track_score == texture.before and "too-few-faces" in TEXTURE_REASONS


def test_to_dict_rounds_to_four_decimals() -> None:
    texture = TrackTexture(0.123456, 7, 0.555555, 0.678901)
    assert texture.to_dict() == {
        "shift": 0.1235,
        "faces": 7,
        "before": 0.5556,
        "track_score": 0.6789,
        "reason": "",
    }
    left_out = TrackTexture(None, 3, 0.25, 0.25, "too-few-faces").to_dict()
    assert left_out == {
        "shift": None,
        "faces": 3,
        "before": 0.25,
        "track_score": 0.25,
        "reason": "too-few-faces",
    }
    face = FaceResult(0, (1.0, 2.0, 3.0, 4.0), 0.5, 0.9, (), -1.234567).to_dict()
    assert face["texture"] == -1.2346


# Track 0: six faces, texture values with at most four decimals (they survive the JSON exactly);
# track 1: three faces, too few for the texture.
TRACK0 = [(0.30, 0.5), (0.35, 1.25), (0.40, 0.75), (0.38, 1.0), (0.33, 1.5), (0.31, 1.0)]
TRACK1 = [(0.20, -0.5), (0.25, -0.25), (0.22, -0.75)]


def _textured_report(make_report: MakeReport) -> Report:
    scores: list[FaceScore] = []
    frames = []
    for i, (s0, t0) in enumerate(TRACK0):
        scores.append(FaceScore(i, i * 0.5, 0, s0, (), t0))
        faces = [FaceResult(0, (10.0, 20.0, 110.0, 140.0), s0, 0.93, (), t0)]
        if i < len(TRACK1):
            s1, t1 = TRACK1[i]
            scores.append(FaceScore(i, i * 0.5, 1, s1, (), t1))
            faces.append(FaceResult(1, (300.0, 40.0, 380.0, 150.0), s1, 0.88, (), t1))
        frames.append(FrameResult(i, i * 0.5, tuple(faces)))
    agg = aggregate(scores, Thresholds(suspicious=0.5, fake=0.7))
    return make_report(
        verdict=agg.verdict, tracks=agg.tracks, frames=tuple(frames), warnings=(), errors=()
    )


def test_the_json_report_carries_the_texture(make_report: MakeReport) -> None:
    report = _textured_report(make_report)
    doc = json.loads(report_to_json(report))
    shifted, short = doc["tracks"]
    assert shifted["texture"]["shift"] == 1.0  # mean of 0.5, 1.25, 0.75, 1.0, 1.5, 1.0
    assert shifted["texture"]["faces"] == 6 and shifted["texture"]["reason"] == ""
    assert shifted["texture"]["before"] == pytest.approx(0.39, abs=1e-4)  # top 2: 0.40, 0.38
    assert shifted["verdict"]["score"] == shifted["texture"]["track_score"]
    assert shifted["verdict"]["label"] == "suspicious"  # 0.39 alone is real
    assert short["texture"] == {
        "shift": None,
        "faces": 3,
        "before": 0.25,
        "track_score": 0.25,
        "reason": "too-few-faces",
    }
    assert [f["texture"] for f in doc["frames"][0]["faces"]] == [0.5, -0.5]
    assert doc["verdict"]["score"] == shifted["verdict"]["score"]


def test_the_texture_reads_back_from_the_json(make_report: MakeReport, tmp_path: Path) -> None:
    report = _textured_report(make_report)
    path = tmp_path / "r.json"
    path.write_text(report_to_json(report), encoding="ascii")
    back = read_json(path)
    assert back.frames == report.frames  # the faces' textures, exactly
    for got, made in zip(back.tracks, report.tracks, strict=True):
        assert got.texture is not None and made.texture is not None
        assert got.texture.shift == (None if made.texture.shift is None else pytest.approx(1.0))
        assert got.texture.faces == made.texture.faces
        assert got.texture.reason == made.texture.reason
        assert got.texture.before == pytest.approx(made.texture.before, abs=5e-5)
        assert got.texture.track_score == pytest.approx(made.texture.track_score, abs=5e-5)
        assert got.timeline == made.timeline  # rebuilt from the frames, textures included
    assert back.tracks[0].timeline[1] == TrackPoint(1, 0.5, 0.35, 1.25)
    assert back.to_dict() == json.loads(report_to_json(report))


def test_a_report_without_textures_reads_back_without_them(make_report: MakeReport) -> None:
    doc = json.loads(report_to_json(_textured_report(make_report)))
    for track in doc["tracks"]:
        del track["texture"]  # as a report of schema 1.5 was written
    for frame in doc["frames"]:
        for face in frame["faces"]:
            del face["texture"]
    back = report_from_dict(doc)
    assert all(t.texture is None for t in back.tracks)
    assert all(f.texture is None for frame in back.frames for f in frame.faces)
    assert all(p.texture is None for t in back.tracks for p in t.timeline)
    assert back.tracks[0].verdict.score == pytest.approx(doc["tracks"][0]["verdict"]["score"])


def test_the_html_report_says_what_the_texture_added_and_draws_it(make_report: MakeReport) -> None:
    from deepfake_analyzer.report.html_report import report_to_html, texture_curve, texture_line

    report = _textured_report(make_report)
    shifted, short = report.tracks
    assert shifted.texture is not None
    line = texture_line(shifted)
    assert "<b>+1.00</b> log-odds toward fake, read over 6 faces" in line
    assert f"{shifted.texture.before:.3f} without it, {shifted.texture.track_score:.3f}" in line
    assert "not added: 3 faces, too few" in texture_line(short)
    curve = texture_curve(shifted)
    # the running mean of the faces' values: 0.5 after the first face, 1.0 at the end
    assert [t for t, _ in curve] == [p.timestamp_s for p in shifted.timeline]
    odds = shifted.texture.before / (1 - shifted.texture.before) * math.exp(0.5)
    assert curve[0][1] == pytest.approx(odds / (1 + odds))
    assert curve[-1][1] == pytest.approx(shifted.texture.track_score, abs=1e-12)
    assert texture_curve(short) == []
    page = report_to_html(report)
    assert line in page and page.count("track score with the texture over the track") == 1
