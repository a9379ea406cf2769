"""The JSON report has the fields and names the issue requires, and reads back."""

from __future__ import annotations

import json
import math

import pytest

from deepfake_analyzer.report.json_report import (
    read_json,
    report_from_dict,
    report_to_json,
    write_json,
)
from deepfake_analyzer.report.types import SCHEMA_VERSION, Report


def test_required_fields_and_names(video_report: Report) -> None:
    doc = json.loads(report_to_json(video_report))
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["input"] == {
        "path": "clips/interview.mp4",
        "kind": "video",
        "duration_s": 3.2,
        "width": 640,
        "height": 360,
        "sha256": "",
    }
    assert doc["model"]["name"] == "test-xception"
    assert doc["model"]["sha256"] == "ab" * 32
    assert doc["verdict"] == {"label": "fake", "score": pytest.approx(0.925)}
    assert [t["id"] for t in doc["tracks"]] == [0, 1]
    assert doc["tracks"][0]["verdict"]["label"] == "real"
    assert doc["tracks"][0]["segments"] == []
    (segment,) = doc["tracks"][1]["segments"]
    assert segment == {"start_s": 1.0, "end_s": 2.0, "peak": 0.95, "peak_s": 1.5}
    assert len(doc["frames"]) == 7
    first = doc["frames"][0]
    assert first["index"] == 0 and first["timestamp_s"] == 0.0
    assert first["faces"][1] == {
        "track_id": 1,
        "box_xyxy": [300.0, 40.0, 380.0, 150.0],
        "score": 0.2,
        "detection_confidence": 0.88,
        "members": {},
        "texture": None,
    }
    assert doc["tracks"][1]["texture"] is None
    assert doc["frames"][6]["faces"] == []
    assert doc["timings_s"] == {"decode": 0.5, "detect": 0.25, "classify": 1.25, "total": 2.1}
    assert doc["errors"] == ["frames after 3.1 s could not be decoded (truncated file)"]
    assert doc["warnings"] == ["track 7 was short"]


def test_scores_are_probabilities(video_report: Report) -> None:
    doc = json.loads(report_to_json(video_report))
    scores = [f["score"] for fr in doc["frames"] for f in fr["faces"]]
    scores += [t["verdict"]["score"] for t in doc["tracks"]] + [doc["verdict"]["score"]]
    assert scores and all(0.0 <= s <= 1.0 for s in scores)


def test_no_face_verdict_score_is_null(no_face_report: Report) -> None:
    doc = json.loads(report_to_json(no_face_report))
    assert doc["verdict"] == {"label": "no-face", "score": None}
    assert doc["tracks"] == []
    assert doc["frames"] == [{"index": 0, "timestamp_s": 0.0, "faces": []}]


def test_non_finite_numbers_become_null_and_json_stays_strict(make_report) -> None:
    report = make_report(timings_s={"decode": float("nan"), "total": 1.0})
    text = report_to_json(report)
    assert "NaN" not in text
    assert json.loads(text)["timings_s"] == {"decode": None, "total": 1.0}


def test_odd_file_names_survive(make_report, tmp_path) -> None:
    name = 'vidéo \udcff "quoted".mp4'  # non-ASCII and an undecodable byte
    path = write_json(make_report(path=name), tmp_path / "r.json")
    assert path.read_bytes().isascii()
    assert json.loads(path.read_text())["input"]["path"] == name


def test_round_trip(video_report: Report, tmp_path) -> None:
    back = read_json(write_json(video_report, tmp_path / "r.json"))
    assert back.verdict == video_report.verdict
    assert back.input == video_report.input
    assert back.frames == video_report.frames
    assert back.errors == video_report.errors and back.warnings == video_report.warnings
    assert [t.segments for t in back.tracks] == [t.segments for t in video_report.tracks]
    # Timelines come back from the frames.
    assert back.tracks[1].timeline == video_report.tracks[1].timeline
    assert back.tracks[1].verdict.score == pytest.approx(video_report.tracks[1].verdict.score)
    assert back.thumbnails == ()
    assert back.to_dict() == json.loads(report_to_json(video_report))


def test_newer_major_schema_is_refused(video_report: Report) -> None:
    doc = json.loads(report_to_json(video_report))
    doc["schema_version"] = "9.0"
    with pytest.raises(ValueError, match="schema version"):
        report_from_dict(doc)


def test_rounding_keeps_four_decimals(make_report) -> None:
    doc = json.loads(report_to_json(make_report(timings_s={"total": math.pi})))
    assert doc["timings_s"]["total"] == 3.1416


def test_raised_thresholds_are_written_and_read_back(make_report, tmp_path) -> None:
    from deepfake_analyzer.report.types import RaisedThresholds, Verdict

    verdict = Verdict("suspicious", 0.925, 1, RaisedThresholds(2, 0.62, 0.95))
    report = make_report(verdict=verdict)
    doc = json.loads(report_to_json(report))
    assert doc["verdict"]["raised_thresholds"] == {"faces": 2, "suspicious": 0.62, "fake": 0.95}
    assert read_json(write_json(report, tmp_path / "r.json")).verdict == verdict
    assert "raised_thresholds" not in json.loads(report_to_json(make_report()))["verdict"]
    with pytest.raises(ValueError, match="2 or more faces"):
        RaisedThresholds(1, 0.62, 0.95)
