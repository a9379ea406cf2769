"""The committed MediaPipe models and scripts/extract_mediapipe_models.py (offline parts)."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from script_modules import script_module

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.faces.model_files import MEDIAPIPE_MODEL_FILES, model_file, sha256_of
from deepfake_analyzer.paths import MODELS_DIR


@pytest.fixture(scope="module")
def extract_script() -> ModuleType:
    return script_module("extract_mediapipe_models")


def test_committed_models_match_their_hashes() -> None:
    for spec in MEDIAPIPE_MODEL_FILES.values():
        assert sha256_of(MODELS_DIR / spec.name) == spec.sha256, spec.name


def test_provenance_file_lists_every_hash() -> None:
    text = (MODELS_DIR / "MEDIAPIPE_PROVENANCE.md").read_text()
    assert "Apache License, Version 2.0" in text
    for spec in MEDIAPIPE_MODEL_FILES.values():
        assert spec.sha256 in text and spec.name in text


def test_check_mode_passes_on_the_committed_files(extract_script, capsys) -> None:
    assert extract_script.main(["--check"]) == 0
    assert "are good" in capsys.readouterr().out


def test_check_mode_fails_on_a_changed_or_missing_file(extract_script, tmp_path, capsys) -> None:
    for spec in MEDIAPIPE_MODEL_FILES.values():
        shutil.copy(MODELS_DIR / spec.name, tmp_path / spec.name)
    (tmp_path / "face_landmark.tflite").write_bytes(b"tampered")
    (tmp_path / "face_detection_short_range.tflite").unlink()
    assert extract_script.main(["--check", "--models-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "face_landmark.tflite: sha256" in err
    assert "face_detection_short_range.tflite: missing" in err


def make_wheel(path: Path, tamper: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for spec in MEDIAPIPE_MODEL_FILES.values():
            data = (MODELS_DIR / spec.name).read_bytes()
            archive.writestr(spec.wheel_path, b"x" + data if spec.name == tamper else data)
    return path


def test_extract_writes_files_whose_hash_matches(extract_script, tmp_path) -> None:
    wheel = make_wheel(tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl")
    out = tmp_path / "models"
    assert extract_script.main(["--wheel", str(wheel), "--models-dir", str(out)]) == 0
    assert extract_script.check(out) == []


def test_extract_refuses_a_file_with_the_wrong_hash(extract_script, tmp_path) -> None:
    wheel = make_wheel(tmp_path / "bad.whl", tamper="face_landmark.tflite")
    out = tmp_path / "models"
    assert extract_script.main(["--wheel", str(wheel), "--models-dir", str(out)]) == 1
    assert not (out / "face_landmark.tflite").exists()
    assert (out / "face_detection_short_range.tflite").exists()


def test_model_file_errors_name_the_fix(tmp_path) -> None:
    with pytest.raises(ModelError, match="extract_mediapipe_models"):
        model_file("face_landmark.tflite", tmp_path)
    with pytest.raises(ModelError, match="unknown"):
        model_file("nope.tflite")
