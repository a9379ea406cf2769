"""Provenance in the report: its own JSON/HTML section and a dashboard line, never in the score."""

from __future__ import annotations

from pathlib import Path

from pipeline_fakes import SquareFaceDetector

from deepfake_analyzer.models.fake_classifier import FakeClassifier
from deepfake_analyzer.pipeline import analyze
from deepfake_analyzer.report.html_report import report_to_html
from deepfake_analyzer.report.json_report import report_from_dict, report_to_dict


def fake_analysis(path: Path):
    return analyze(path, classifier=FakeClassifier(), face_detector=SquareFaceDetector())


def test_signed_and_unsigned_copies_get_the_same_score(
    ai_signed_jpeg: Path, unlabeled_jpeg: Path
) -> None:
    signed, plain = fake_analysis(ai_signed_jpeg), fake_analysis(unlabeled_jpeg)
    assert signed.verdict == plain.verdict, "provenance never enters the score"
    assert signed.provenance.c2pa.status == "valid"
    assert plain.provenance.c2pa.status == "absent"
    assert "provenance" in signed.timings_s


def test_json_section_round_trips(ai_signed_jpeg: Path) -> None:
    report = fake_analysis(ai_signed_jpeg)
    data = report_to_dict(report)
    section = data["provenance"]
    assert section["c2pa"]["status"] == "valid"
    assert section["generated_claims"] == ["c2pa"]
    assert section["summary"] == report.provenance.summary()
    assert report_from_dict(data).provenance == report.provenance


def test_html_has_a_provenance_section(tampered_signed_jpeg: Path) -> None:
    html = report_to_html(fake_analysis(tampered_signed_jpeg))
    section = html.split("<h2>Provenance</h2>", 1)[1].split("<h2>", 1)[0]
    assert ">invalid</span>" in section
    assert "dataHash.mismatch" in section
    assert "trainedAlgorithmicMedia (created by a trained AI model)" in section
    assert "never part of its score" in section
