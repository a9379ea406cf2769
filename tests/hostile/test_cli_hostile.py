"""Hostile inputs on the command line: each gives an exit code, a one-line message naming the
file, and never a traceback; one bad input never stops a batch."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import EXIT_INPUT_FAILED, EXIT_OK, EXIT_USAGE
from deepfake_analyzer.report.writers import MAX_NAME_BYTES


def test_long_input_name_does_not_abort_the_batch(run_cli, face_png: Path, tmp_path: Path) -> None:
    long_input = shutil.copy(face_png, tmp_path / ("L" * 246 + ".png"))
    out = tmp_path / "out"
    result = run_cli("analyze", str(long_input), str(face_png), "-o", str(out), "-q")
    assert result.code == EXIT_OK, result.err
    assert "Traceback" not in result.err
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 7  # three reports per input and the batch summary
    assert all(len(os.fsencode(name)) <= MAX_NAME_BYTES for name in names)
    with (out / "batch-summary.csv").open(newline="") as handle:
        assert [row["verdict"] for row in csv.DictReader(handle)] == ["fake", "fake"]


def test_long_utf8_input_name_fits_in_bytes(run_cli, face_png: Path, tmp_path: Path) -> None:
    long_input = shutil.copy(face_png, tmp_path / ("é" * 120 + ".png"))  # 240 bytes + suffix
    out = tmp_path / "out"
    result = run_cli("analyze", str(long_input), "-o", str(out), "-q")
    assert result.code == EXIT_OK, result.err
    assert all(len(os.fsencode(p.name)) <= MAX_NAME_BYTES for p in out.iterdir())


def test_formula_file_name_is_neutralised_in_every_csv(
    run_cli, face_png: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(face_png, "=1+2.png")
    result = run_cli("analyze", "=1+2.png", str(face_png), "-o", "out", "-q")
    assert result.code == EXIT_OK, result.err
    for name in ("=1+2.report.csv", "batch-summary.csv"):
        with (tmp_path / "out" / name).open(newline="") as handle:
            first_row = list(csv.reader(handle))[1]
        assert first_row[0] == "'=1+2.png"


def test_quiet_still_prints_one_line_per_failed_input(
    run_cli, face_png: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    result = run_cli(
        "analyze", str(face_png), str(empty), str(text), "-o", str(tmp_path / "o"), "-q"
    )
    assert result.code == EXIT_INPUT_FAILED
    lines = result.err.splitlines()
    assert len(lines) == 2, result.err
    assert "empty.png" in lines[0] and "empty" in lines[0].split("empty.png", 1)[1]
    assert "notes.mp4" in lines[1] and "text" in lines[1]
    assert "Traceback" not in result.err


class _NanOnBrightClassifier:
    """Finite on the loader's probe (mid-gray), NaN on bright crops: weights that blow up on
    some inputs."""

    def __init__(self) -> None:
        from deepfake_analyzer.models.fake_classifier import FAKE_SPEC

        self.spec = FAKE_SPEC
        self.sha256 = "0" * 64

    def predict(self, crops: np.ndarray) -> np.ndarray:
        means = crops.reshape(len(crops), -1).mean(axis=1) / 255.0
        return np.where(means > 0.3, np.nan, means)


def test_nan_scores_at_run_time_are_a_model_error(
    run_cli, face_png: Path, tmp_path: Path, monkeypatch
) -> None:
    import deepfake_analyzer.models.loader as loader_module

    nan_model = _NanOnBrightClassifier()
    monkeypatch.setattr(loader_module, "load_classifier", lambda *a, **k: nan_model)
    result = run_cli("analyze", str(face_png), str(face_png), "-o", str(tmp_path / "o"), "-q")
    assert result.code == EXIT_USAGE
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1 and "not probabilities" in lines[0] and "NaN" in lines[0]


def test_unusable_output_folder_fails_before_any_analysis(
    run_cli, face_png: Path, tmp_path: Path, monkeypatch
) -> None:
    from deepfake_analyzer.pipeline import Analyzer

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("analysis ran before the output folder was checked")

    monkeypatch.setattr(Analyzer, "analyze", must_not_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    for output in (blocker, blocker / "reports"):
        result = run_cli("analyze", str(face_png), str(face_png), "-o", str(output), "-q")
        assert result.code == EXIT_USAGE
        (line,) = result.err.splitlines()
        assert str(output) in line and "choose another --output" in line


def test_serve_on_a_busy_port_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import socket

    from deepfake_analyzer.cli.main import main

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(
            ["serve", "--port", str(port), "--data-dir", str(tmp_path / "data"),
             "--classifier-factory", "deepfake_analyzer.models.fake_classifier:FakeClassifier"]
        )  # fmt: skip
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    (line,) = err.splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line
    assert not (tmp_path / "data").exists()  # refused before the service started
