"""The entry point itself: help is instant (no TensorFlow import), missing model is explained."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deepfake_analyzer.cli.main import main
from deepfake_analyzer.errors import EXIT_USAGE

pytestmark = pytest.mark.slow


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from deepfake_analyzer.cli.main import main\n"
        "try:\n    main(['analyze', '--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'mediapipe') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "HEAVY="


def test_module_entry_point_prints_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deepfake_analyzer", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "deepfake-analyzer" in result.stdout


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert "analyze" in capsys.readouterr().out


def test_missing_default_model_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import deepfake_analyzer.paths as paths

    monkeypatch.setattr(paths, "DEFAULT_CLASSIFIER_SPEC", tmp_path / "none.spec.json")
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    code = main(["analyze", str(image), "-q"])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "--model" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
