"""`deepfake-analyzer batch`: exit codes, summary files, usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_fakes import FakeAnalyzerFactory

from deepfake_analyzer.batch import jobs
from deepfake_analyzer.cli.main import main


@pytest.fixture
def fake_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jobs, "AnalyzerFactory", FakeAnalyzerFactory)


def test_batch_cli_writes_reports_and_summary_then_resumes(
    fake_models: None, clip_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["batch", str(clip_folder), "--output", str(out), "--max-frames", "3"])
    assert code == 0
    assert (out / "batch-summary.csv").is_file() and (out / "batch-summary.json").is_file()
    assert {p.name for p in out.glob("*.report.html")} == {
        "a.report.html",
        "b.report.html",
        "c.report.html",
    }
    err = capsys.readouterr().err
    assert "[3/3]" in err and "analyzed now" in err

    code = main(["batch", str(clip_folder), "--output", str(out), "--max-frames", "3"])
    assert code == 0
    assert "already reported" in capsys.readouterr().err


def test_batch_cli_exits_1_when_a_clip_fails(
    fake_models: None, clip_folder: Path, broken_clip: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "clips.txt"
    listing.write_text(f"{clip_folder / 'a.mp4'}\n{broken_clip}\n")
    assert main(["batch", str(listing), "-o", str(tmp_path / "out"), "-q"]) == 1
    summary = (tmp_path / "out" / "batch-summary.csv").read_text()
    assert "broken.mp4,error" in summary


def test_batch_cli_quiet_still_prints_each_failure(
    fake_models: None,
    clip_folder: Path,
    broken_clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listing = tmp_path / "clips.txt"
    listing.write_text(f"{clip_folder / 'a.mp4'}\n{broken_clip}\n")
    assert main(["batch", str(listing), "-o", str(tmp_path / "out"), "-q"]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "broken.mp4" in line]
    assert len(lines) == 1 and "failed" in lines[0]
    assert "a.mp4" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--engine", "local", "--workers", "2"], "--engine ray"),
        (["--format", "pdf"], "--format takes"),
        (["--model", "/no/such/model.keras"], "model file not found"),
    ],
)
def test_batch_cli_usage_errors_exit_2(
    clip_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    code = main(["batch", str(clip_folder), "-o", str(tmp_path / "out"), "-q", *extra])
    assert code == 2
    assert message in capsys.readouterr().err


def test_batch_cli_shows_names_that_look_like_markup(
    fake_models: None, clip_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    odd = shutil.copy(clip_folder / "a.mp4", tmp_path / "[bold] x[red.mp4")
    assert main(["batch", str(odd), "-o", str(tmp_path / "out"), "--max-frames", "2"]) == 0
    assert "[bold] x[red.mp4" in capsys.readouterr().err


def test_batch_cli_unusable_output_fails_before_any_clip(
    fake_models: None, clip_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert main(["batch", str(clip_folder), "-o", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "choose another --output" in err and "[1/" not in err
