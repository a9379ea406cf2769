"""The CSV report: one row per face per sampled frame."""

from __future__ import annotations

import csv
import io

from deepfake_analyzer.report.csv_report import CSV_COLUMNS, report_to_csv, safe_cell, write_csv
from deepfake_analyzer.report.types import Report


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_header_and_one_row_per_face(video_report: Report) -> None:
    text = report_to_csv(video_report)
    assert text.splitlines()[0].split(",") == list(CSV_COLUMNS)
    got = rows(text)
    assert len(got) == 12  # 6 frames x 2 faces; the frame without faces gives no row
    assert got[1] == {
        "file": "clips/interview.mp4",
        "frame_index": "0",
        "timestamp_s": "0.0000",
        "track_id": "1",
        "x0": "300.0",
        "y0": "40.0",
        "x1": "380.0",
        "y1": "150.0",
        "score": "0.2000",
        "detection_confidence": "0.8800",
        "track_verdict": "fake",
        "texture": "",
    }
    assert {r["track_verdict"] for r in got if r["track_id"] == "0"} == {"real"}
    assert [r["frame_index"] for r in got][::2] == ["0", "1", "2", "3", "4", "5"]


def test_no_face_gives_header_only(no_face_report: Report) -> None:
    assert report_to_csv(no_face_report).splitlines() == [",".join(CSV_COLUMNS)]


def test_commas_and_quotes_in_file_name_are_quoted(make_report, tmp_path) -> None:
    name = 'a,b "c".mp4'
    path = write_csv(make_report(path=name), tmp_path / "r.csv")
    got = rows(path.read_text(encoding="utf-8"))
    assert {r["file"] for r in got} == {name}


def test_formula_like_file_names_are_neutralised(make_report) -> None:
    for name, shown in [
        ("=1+2.mp4", "'=1+2.mp4"),
        ("+cmd.mp4", "'+cmd.mp4"),
        ("-2+3.mp4", "'-2+3.mp4"),
        ("@SUM(A1).mp4", "'@SUM(A1).mp4"),
        ("\tx.mp4", "'\tx.mp4"),
        ("plain.mp4", "plain.mp4"),
    ]:
        text = report_to_csv(make_report(path=name))
        assert next(csv.DictReader(io.StringIO(text, newline="")))["file"] == shown


def test_plain_numbers_are_not_neutralised() -> None:
    from deepfake_analyzer.report.csv_report import safe_cell

    assert [safe_cell(v) for v in ("-3.5", "+2", "-1e-3", -2.0, 7)] == [
        "-3.5",
        "+2",
        "-1e-3",
        -2.0,
        7,
    ]
    assert safe_cell("-1+2") == "'-1+2"
    assert safe_cell("\rx.mp4") == "'\rx.mp4"


def test_file_names_with_line_breaks_stay_in_one_row(make_report) -> None:
    for name in ("a\rb.mp4", "a\nb.mp4", "\rx.mp4", "a\r\nb.mp4"):
        text = report_to_csv(make_report(path=name))
        got = list(csv.DictReader(io.StringIO(text, newline="")))
        assert len(got) == 12 and {row["file"] for row in got} == {safe_cell(name)}
