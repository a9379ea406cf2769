"""`deepfake-analyzer analyze` on good and bad inputs: exit codes, one-line errors, reports."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import media_factory as mf
import numpy as np
import pytest
from pipeline_fakes import CLIP_FPS, two_square_frames

from deepfake_analyzer.errors import (
    EXIT_INPUT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VERDICT_REACHED,
)


@pytest.fixture(scope="module")
def fake_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clip with one dim ("real") and one bright ("fake") square face."""
    folder = tmp_path_factory.mktemp("cli_media")
    return mf.make_video_from_frames(folder / "pair.mkv", two_square_frames(), CLIP_FPS, "ffv1")


@pytest.fixture
def dim_image(tmp_path: Path) -> Path:
    """A PNG with one dim square face: verdict real."""
    import cv2

    image = np.full((96, 96, 3), 10, dtype=np.uint8)
    image[20:70, 20:70] = 90
    path = tmp_path / "dim.png"
    cv2.imwrite(str(path), image)
    return path


@pytest.fixture
def faceless_image(tmp_path: Path) -> Path:
    import cv2

    path = tmp_path / "faceless.png"
    cv2.imwrite(str(path), np.full((64, 64, 3), 5, dtype=np.uint8))
    return path


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.slow
def test_video_writes_three_reports_and_exit_0(run_cli, fake_clip: Path, tmp_path: Path) -> None:
    result = run_cli("analyze", str(fake_clip), "-o", str(tmp_path / "out"), "--fps", "5")
    assert result.code == EXIT_OK, result.err
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["pair.report.csv", "pair.report.html", "pair.report.json"]
    report = json.loads((tmp_path / "out" / "pair.report.json").read_text())
    assert report["verdict"]["label"] == "fake"
    assert "fake" in result.err and "pair.report.json" in result.err


def test_json_to_stdout(run_cli, fake_clip: Path) -> None:
    result = run_cli("analyze", str(fake_clip), "--json", "-q", "--no-reports", "--fps", "5")
    assert result.code == EXIT_OK
    data = json.loads(result.out)
    assert data["schema_version"] and data["input"]["kind"] == "video"
    assert result.err == ""


def test_fail_on_fake_returns_3(run_cli, fake_clip: Path, dim_image: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    assert run_cli("analyze", str(fake_clip), "-q", "-o", out, "--fail-on", "fake").code == 3
    real = run_cli("analyze", str(dim_image), "-q", "-o", out, "--fail-on", "suspicious")
    assert real.code == EXIT_OK
    assert EXIT_VERDICT_REACHED == 3


def test_existing_report_is_not_overwritten(run_cli, dim_image: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "dim.report.json"
    existing.write_text("keep me")
    result = run_cli("analyze", str(dim_image), "-q", "-o", str(out))
    assert result.code == EXIT_USAGE
    assert_one_line_error(result.err, "dim.report.json", "--overwrite")
    assert existing.read_text() == "keep me"
    assert run_cli("analyze", str(dim_image), "-q", "-o", str(out), "--overwrite").code == 0
    assert json.loads(existing.read_text())["verdict"]["label"] == "real"


def test_same_command_twice_replaces_its_own_reports(
    run_cli, dim_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    notes = tmp_path / "deepfake-reports" / "notes.txt"
    for _ in range(2):
        result = run_cli("analyze", str(dim_image), "-q")
        assert result.code == EXIT_OK, result.err
        notes.write_text("mine")
    names = sorted(p.name for p in notes.parent.iterdir())
    assert names == ["dim.report.csv", "dim.report.html", "dim.report.json", "notes.txt"]
    assert notes.read_text() == "mine"


def test_json_alone_writes_stdout_only_and_reruns(
    run_cli, dim_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = run_cli("analyze", str(dim_image), "--json", "-q")
        assert result.code == EXIT_OK, result.err
        assert json.loads(result.out)["verdict"]["label"] == "real"
    assert not (tmp_path / "deepfake-reports").exists()
    with_files = run_cli("analyze", str(dim_image), "--json", "-q", "-o", "out")
    assert json.loads(with_files.out)["input"]["path"] == str(dim_image)
    assert (tmp_path / "out" / "dim.report.json").exists()


def test_quiet_prints_one_result_line_per_input_on_stdout(
    run_cli, fake_clip: Path, dim_image: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    gone = tmp_path / "gone.mp4"
    result = run_cli("analyze", str(fake_clip), str(gone), str(dim_image), "-q", "-o", str(out))
    assert result.code == EXIT_INPUT_FAILED
    lines = [line.split("\t") for line in result.out.splitlines()]
    assert [(v, p, r) for v, _, p, r in lines] == [
        ("fake", str(fake_clip), str(out / "pair.report.json")),
        ("real", str(dim_image), str(out / "dim.report.json")),
    ]
    assert all(0.0 <= float(score) <= 1.0 for _, score, _, _ in lines)
    assert result.err.count("\n") == 1 and "gone.mp4" in result.err, "a failure: stderr"

    bare = run_cli("analyze", str(dim_image), "-q", "--no-reports")
    assert bare.out.splitlines() == [f"real\t{lines[1][1]}\t{dim_image}\t-"]


def test_finished_file_gets_a_provenance_line(run_cli, dim_image: Path, tmp_path: Path) -> None:
    from PIL import Image

    tagged = tmp_path / "tagged.jpg"
    exif = Image.Exif()
    exif[271], exif[272] = "Canon", "EOS R5"
    Image.open(dim_image).convert("RGB").save(tagged, exif=exif)
    result = run_cli("analyze", str(tagged), "-o", str(tmp_path / "out"))
    assert result.code == EXIT_OK, result.err
    lines = [line for line in result.err.splitlines() if "provenance" in line]
    assert lines == ["  provenance (evidence, not scored): no C2PA; camera Canon EOS R5"]


def test_finished_file_gets_a_trust_line_from_the_models_figures(
    run_cli, dim_image: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from cli_fakes import FAKE_SPEC
    from metrics_fakes import evaluation_metrics

    import deepfake_analyzer.models.loader as loader_module
    from deepfake_analyzer.models.fake_classifier import FakeClassifier

    thresholds = {"suspicious": FAKE_SPEC.thresholds.suspicious, "fake": FAKE_SPEC.thresholds.fake}
    spec = replace(FAKE_SPEC, metrics=evaluation_metrics(thresholds))
    monkeypatch.setattr(loader_module, "load_classifier", lambda path, **kw: FakeClassifier(spec))
    result = run_cli("analyze", str(dim_image), "-o", str(tmp_path / "out"))
    assert result.code == EXIT_OK, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("  trust: ")]
    assert len(lines) == 1 and "Of 1 fake photo from 1 generator it never saw" in lines[0]
    (report_json,) = (tmp_path / "out").rglob("*.json")
    table = json.loads(report_json.read_text())["model"]["provenance"]["metrics"]["evaluation"]
    kept = table["leave_generator_out"]
    assert {row["by"] for row in kept["rows"]} == {"medium", "family"}, "per-generator rows"
    assert kept["held_out_generators"] == {"video": 3, "image": 1}
    twice = run_cli("analyze", str(dim_image), str(dim_image), "--no-reports")
    trusts = [line for line in twice.err.splitlines() if line.startswith("  trust: ")]
    assert trusts == lines, "a batch says each sentence once"
    assert sum(line.startswith("  real (score") for line in twice.err.splitlines()) == 2


def test_missing_path(run_cli, tmp_path: Path) -> None:
    result = run_cli("analyze", str(tmp_path / "nope.mp4"))
    assert result.code == EXIT_INPUT_FAILED
    assert_one_line_error(result.err, "nope.mp4")


def test_empty_folder(run_cli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run_cli("analyze", str(tmp_path / "empty"))
    assert result.code == EXIT_INPUT_FAILED
    assert_one_line_error(result.err, "empty")


@pytest.mark.parametrize(
    "fixture_name, fragment",
    [
        ("text_as_video", "notes.mp4"),
        ("zero_byte_video", "empty.mp4"),
        ("audio_only_file", "audio_only.mp4"),
        ("undecodable_video", "undecodable.mp4"),
        ("huge_header_png", "pixels"),
    ],
)
def test_bad_single_file(
    run_cli, request, tmp_path: Path, fixture_name: str, fragment: str
) -> None:
    path = request.getfixturevalue(fixture_name)
    result = run_cli("analyze", str(path), "-q", "-o", str(tmp_path))
    assert result.code == EXIT_INPUT_FAILED
    assert "Traceback" not in result.err
    assert fragment in result.err
    assert list(tmp_path.iterdir()) == [], "a failed input writes no report"


def test_unreadable_file(
    run_cli, tmp_path: Path, dim_image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "locked.png"
    shutil.copy(dim_image, target)
    target.chmod(0)
    if os.access(target, os.R_OK):  # root reads anything: make the read fail as it would
        real_open = Path.open

        def denied(self: Path, *args: object, **kwargs: object):
            if self.name == "locked.png":
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", denied)
    try:
        result = run_cli("analyze", str(target), "-q", "-o", str(tmp_path / "o"))
    finally:
        target.chmod(0o644)
    assert result.code == EXIT_INPUT_FAILED
    assert_one_line_error(result.err, "locked.png", "permission")


def test_directory_named_like_a_video_is_walked_not_decoded(run_cli, tmp_path: Path) -> None:
    (tmp_path / "clip.mp4").mkdir()
    result = run_cli("analyze", str(tmp_path / "clip.mp4"), "-q")
    assert result.code == EXIT_INPUT_FAILED
    assert_one_line_error(result.err, "clip.mp4")


def test_truncated_video_analyzes_what_decodes(
    run_cli, truncated_video: Path, tmp_path: Path
) -> None:
    result = run_cli("analyze", str(truncated_video), "-q", "-o", str(tmp_path), "--fps", "10")
    assert result.code == EXIT_OK, result.err
    report = json.loads((tmp_path / "truncated.report.json").read_text())
    assert report["frames"], "the decodable start is analyzed"
    assert report["errors"], "the report says what was lost"


def test_faceless_image_is_no_face_exit_0(run_cli, faceless_image: Path, tmp_path: Path) -> None:
    result = run_cli("analyze", str(faceless_image), "-q", "-o", str(tmp_path))
    assert result.code == EXIT_OK
    report = json.loads((tmp_path / "faceless.report.json").read_text())
    assert report["verdict"] == {"label": "no-face", "score": None}


@pytest.mark.slow
def test_batch_goes_on_past_bad_files(
    run_cli, tmp_path: Path, dim_image: Path, fake_clip: Path, text_as_video: Path
) -> None:
    folder = tmp_path / "batch"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(dim_image, folder / "a.png")
    shutil.copy(fake_clip, folder / "sub" / "b.mkv")
    shutil.copy(text_as_video, folder / "sub" / "c.mp4")
    (folder / "sub" / "d.mp4").write_bytes(b"")
    out = tmp_path / "out"
    result = run_cli("analyze", str(folder), "-o", str(out), "--fps", "5")
    assert result.code == EXIT_INPUT_FAILED
    with open(out / "batch-summary.csv", newline="") as handle:
        rows = {Path(row["path"]).name: row for row in csv.DictReader(handle)}
    assert rows["a.png"]["verdict"] == "real"
    assert rows["b.mkv"]["verdict"] == "fake"
    assert rows["c.mp4"]["verdict"] == "error" and rows["c.mp4"]["error"]
    assert rows["d.mp4"]["verdict"] == "error" and rows["d.mp4"]["error"]
    assert (out / "a.report.json").exists() and (out / "b.report.html").exists()
    assert "summary" in result.err


def test_missing_path_in_batch_is_recorded(run_cli, dim_image: Path, tmp_path: Path) -> None:
    result = run_cli("analyze", str(dim_image), str(tmp_path / "gone.mp4"), "-q", "-o",
                     str(tmp_path / "out"))  # fmt: skip
    assert result.code == EXIT_INPUT_FAILED
    summary = (tmp_path / "out" / "batch-summary.csv").read_text()
    assert "gone.mp4" in summary and "dim.png" in summary


@pytest.mark.parametrize(
    "argv",
    [
        ("analyze", "x.mp4", "--fps", "0"),
        ("analyze", "x.mp4", "--fps", "abc"),
        ("analyze", "x.mp4", "--detector", "huge"),
        ("analyze", "x.mp4", "--format", "pdf"),
        ("analyze",),
    ],
)
def test_usage_errors_exit_2(run_cli, argv: tuple[str, ...]) -> None:
    try:
        code = run_cli(*argv).code
    except SystemExit as exc:  # argparse exits directly
        code = exc.code
    assert code == EXIT_USAGE


def test_end_before_start_is_usage_error(run_cli, dim_image: Path) -> None:
    result = run_cli("analyze", str(dim_image), "--start", "5", "--end", "2")
    assert result.code == EXIT_USAGE
    assert_one_line_error(result.err, "end")
