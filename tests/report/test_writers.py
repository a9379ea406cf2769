"""write_reports / write_batch_summary: names, no clobbering, atomic writes."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import replace

import pytest

from deepfake_analyzer.errors import OutputExistsError, UsageError
from deepfake_analyzer.report import writers
from deepfake_analyzer.report.ownership import is_report_for
from deepfake_analyzer.report.types import Report, Verdict
from deepfake_analyzer.report.writers import (
    BATCH_COLUMNS,
    BatchRow,
    unique_stems,
    write_batch_summary,
    write_reports,
)


def test_writes_three_files_named_after_the_input_stem(video_report: Report, tmp_path) -> None:
    out = tmp_path / "out" / "nested"
    paths = write_reports(video_report, out)
    assert [p.name for p in paths] == [
        "interview.report.json",
        "interview.report.csv",
        "interview.report.html",
    ]
    assert json.loads(paths[0].read_text())["verdict"]["label"] == "fake"
    assert paths[1].read_text().startswith("file,frame_index,")
    assert paths[2].read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files


def test_formats_subset(video_report: Report, tmp_path) -> None:
    assert [p.name for p in write_reports(video_report, tmp_path, formats=("html",))] == [
        "interview.report.html"
    ]
    with pytest.raises(UsageError, match="pdf"):
        write_reports(video_report, tmp_path, formats=("pdf",))


def test_existing_target_refused_before_anything_is_written(video_report: Report, tmp_path) -> None:
    existing = tmp_path / "interview.report.csv"  # only the SECOND target exists
    existing.write_text("precious")
    with pytest.raises(OutputExistsError) as info:
        write_reports(video_report, tmp_path)
    message = str(info.value)
    assert "interview.report.csv" in message and "pass overwrite" in message
    assert existing.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interview.report.csv"]


def test_rerun_replaces_this_inputs_own_reports(video_report: Report, tmp_path) -> None:
    first = write_reports(video_report, tmp_path)
    inodes = [p.stat().st_ino for p in first]
    again = replace(video_report, verdict=Verdict("real", 0.1))
    assert write_reports(again, tmp_path) == first
    assert json.loads(first[0].read_text())["verdict"]["label"] == "real"
    assert all(p.stat().st_ino != inode for p, inode in zip(first, inodes, strict=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in first)


@pytest.mark.parametrize("fmt", ["json", "csv", "html"])
def test_another_inputs_report_is_never_replaced(video_report: Report, tmp_path, fmt) -> None:
    """`a/interview.mp4` then `b/interview.mp4` into one folder: the second is refused."""
    (target,) = write_reports(video_report, tmp_path, formats=(fmt,))
    before = target.read_bytes()
    other = replace(video_report, input=replace(video_report.input, path="b/interview.mp4"))
    with pytest.raises(OutputExistsError, match="pass overwrite"):
        write_reports(other, tmp_path, formats=(fmt,))
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    "fmt, text",
    [
        ("json", '{"input": {"path": "clips/interview.mp4"}}'),  # no schema_version
        ("csv", "file,notes\nclips/interview.mp4,my notes\n"),
        ("html", "<html><title>clips/interview.mp4</title></html>"),
        ("json", "not json"),
    ],
)
def test_user_files_that_mention_the_input_are_kept(
    video_report: Report, tmp_path, fmt: str, text: str
) -> None:
    target = tmp_path / f"interview.report.{fmt}"
    target.write_text(text)
    assert not is_report_for(target, fmt, video_report.input.path)
    with pytest.raises(OutputExistsError):
        write_reports(video_report, tmp_path, formats=(fmt,))
    assert target.read_text() == text


def test_html_reports_from_before_the_meta_tag_are_recognised(
    video_report: Report, tmp_path
) -> None:
    from deepfake_analyzer.report.html_report import report_to_html

    old_style = "\n".join(
        line for line in report_to_html(video_report).splitlines() if "<meta name=" not in line
    )
    target = tmp_path / "interview.report.html"
    target.write_text(old_style)
    assert is_report_for(target, "html", video_report.input.path)
    assert not is_report_for(target, "html", "clips/other.mp4")


def test_same_input_by_absolute_path(video_report: Report, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (target,) = write_reports(video_report, tmp_path, formats=("json",))
    spelled = replace(video_report.input, path=str(tmp_path / "clips" / "interview.mp4"))
    assert is_report_for(target, "json", spelled.path)
    assert not is_report_for(target, "json", "clips/other.mp4")


def test_overwrite_replaces(video_report: Report, tmp_path) -> None:
    write_reports(video_report, tmp_path)
    target = tmp_path / "interview.report.json"
    target.write_text("old")
    write_reports(video_report, tmp_path, overwrite=True)
    assert json.loads(target.read_text())["schema_version"]


def test_failed_write_keeps_old_file_and_leaves_no_partial_set(
    video_report: Report, tmp_path, monkeypatch
) -> None:
    (tmp_path / "interview.report.json").write_text("old json")

    def boom(report: Report) -> bytes:
        raise RuntimeError("renderer failed")

    monkeypatch.setitem(writers._RENDERERS, "html", boom)
    with pytest.raises(RuntimeError):
        write_reports(video_report, tmp_path, overwrite=True)
    # Rendering happens before writing: nothing changed.
    assert (tmp_path / "interview.report.json").read_text() == "old json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["interview.report.json"]


def test_interrupted_write_removes_new_files_and_temp_files(
    video_report: Report, tmp_path, monkeypatch
) -> None:
    real_fsync = os.fsync
    calls = {"n": 0}

    def flaky_fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 3:  # the third file fails mid-write
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(writers.os, "fsync", flaky_fsync)
    with pytest.raises(writers.ReportWriteError, match="No space left"):
        write_reports(video_report, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_output_is_a_file(video_report: Report, tmp_path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        write_reports(video_report, blocker)


def test_stem_override_and_unique_stems(video_report: Report, tmp_path) -> None:
    paths = write_reports(video_report, tmp_path, formats=("json",), stem="a__interview_mp4")
    assert paths[0].name == "a__interview_mp4.report.json"
    root = tmp_path / "in"
    stems = unique_stems(
        [root / "a" / "clip.mp4", root / "b" / "clip.mp4", root / "clip.mov", root / "x.jpg"],
        root=root,
    )
    assert stems == ["a__clip_mp4", "b__clip_mp4", "clip_mov", "x"]
    assert len(set(stems)) == 4


def test_batch_summary_csv(video_report: Report, no_face_report: Report, tmp_path) -> None:
    rows = [
        BatchRow.from_result("clips/interview.mp4", video_report, None),
        BatchRow.from_result("landscape.png", no_face_report, None),
        BatchRow.from_result("broken.mp4", None, "no decodable video frames"),
    ]
    (path,) = write_batch_summary(rows, tmp_path)
    assert path.name == "batch-summary.csv"
    got = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(got[0]) == list(BATCH_COLUMNS)
    assert got[0] == {
        "path": "clips/interview.mp4",
        "verdict": "fake",
        "score": "0.925",
        "tracks": "2",
        "faces": "12",
        "duration_s": "3.2",
        "elapsed_s": "2.1",
        "error": "",
    }
    assert got[1]["verdict"] == "no-face" and got[1]["score"] == ""
    assert got[2]["verdict"] == "error" and got[2]["error"] == "no decodable video frames"

    assert write_batch_summary(rows[:1], tmp_path) == [path], "a rerun replaces its own summary"
    assert len(list(csv.DictReader(path.open(encoding="utf-8")))) == 1
    (tmp_path / "batch-summary.json").write_text('{"mine": true}')
    with pytest.raises(OutputExistsError, match="pass overwrite"):
        write_batch_summary(rows, tmp_path, formats=("csv", "json"))
    assert (tmp_path / "batch-summary.json").read_text() == '{"mine": true}'
    paths = write_batch_summary(rows, tmp_path, overwrite=True, formats=("csv", "json"))
    assert json.loads(paths[1].read_text())[2]["verdict"] == "error"


def test_batch_row_validates() -> None:
    with pytest.raises(ValueError):
        BatchRow(path="x", verdict="maybe")
    with pytest.raises(ValueError):
        BatchRow(path="x", verdict="error")  # an error row needs its message


@pytest.mark.parametrize("char", ["L", "é", "文"])
def test_long_input_names_fit_the_file_name_limit_in_bytes(
    video_report: Report, tmp_path, char: str
) -> None:
    from dataclasses import replace

    name = char * 250
    report = replace(video_report, input=replace(video_report.input, path=f"/in/{name}.mp4"))
    paths = write_reports(report, tmp_path)
    assert all(len(os.fsencode(p.name)) <= writers.MAX_NAME_BYTES for p in paths)
    assert all(p.name.startswith(char * 10) for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)


def test_long_stems_that_share_a_beginning_stay_distinct() -> None:
    prefix = "x" * 300
    stems = unique_stems([f"/a/{prefix}one.mp4", f"/a/{prefix}two.mp4", "/a/short.mp4"])
    assert len(set(stems)) == 3
    assert stems[2] == "short"
    assert all(len(os.fsencode(s)) <= writers.MAX_STEM_BYTES for s in stems)


def test_stems_differing_only_in_case_do_not_share_reports() -> None:
    stems = unique_stems(["/a/Clip.mp4", "/b/clip.mp4"])
    assert len({s.casefold() for s in stems}) == 2


def test_stems_that_clash_after_shortening_get_numbered() -> None:
    long = "y" * 300
    stems = unique_stems([f"{long}.mp4", f"{long}.mov", f"{long}.mkv"], root=".")
    assert len({s.casefold() for s in stems}) == 3
    assert all(len(os.fsencode(s)) <= writers.MAX_STEM_BYTES for s in stems)


def test_batch_summary_neutralises_formula_cells(tmp_path) -> None:
    rows = [
        BatchRow.from_error('=HYPERLINK("http://x").mp4', "@bad"),
        BatchRow(path="-1+2.png", verdict="real", score=0.1),
    ]
    (path,) = write_batch_summary(rows, tmp_path)
    with path.open(newline="") as handle:
        got = list(csv.DictReader(handle))
    assert got[0]["path"].startswith("'=") and got[0]["error"] == "'@bad"
    assert got[1]["path"] == "'-1+2.png" and got[1]["score"] == "0.1"


def test_writers_check_output_dir_accepts_new_nested_folders(tmp_path) -> None:
    from deepfake_analyzer.report.writers import check_output_dir

    check_output_dir(tmp_path / "new" / "nested")
    assert not (tmp_path / "new").exists()  # checked, not created
