"""Settings, per-upload options and the `serve` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deepfake_analyzer import paths
from deepfake_analyzer.cli.main import build_parser, main
from deepfake_analyzer.cli.serve import settings_from_args
from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.service.core import job_options
from deepfake_analyzer.service.settings import TOKEN_ENV, ServiceSettings, is_loopback_host
from deepfake_analyzer.service.workers import threads_per_worker


def test_defaults_are_loopback_500_mb_and_no_token(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    args = build_parser().parse_args(["serve", "--data-dir", str(tmp_path)])
    settings = settings_from_args(args)
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.max_upload_bytes == 500 * 1024 * 1024
    assert settings.token is None
    assert settings.is_loopback


def test_token_comes_from_the_flag_or_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    parser = build_parser()
    base = ["serve", "--data-dir", str(tmp_path)]
    assert settings_from_args(parser.parse_args(base)).token == "from-env"
    assert settings_from_args(parser.parse_args([*base, "--token", "flag"])).token == "flag"


def test_help_documents_the_token_variable_and_stays_light() -> None:
    code = (
        "import sys; from deepfake_analyzer.cli.main import main\n"
        "try:\n    main(['serve', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY' if {'fastapi', 'uvicorn', 'tensorflow'} & set(sys.modules) else 'LIGHT')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert TOKEN_ENV in result.stdout
    assert "--max-upload-mb" in result.stdout
    assert result.stdout.strip().endswith("LIGHT")


@pytest.mark.parametrize(
    "argv", [["--workers", "0"], ["--port", "70000"], ["--max-upload-mb", "0"], ["--keep", "x"]]
)
def test_out_of_bounds_flags_are_usage_errors(argv: list[str], tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "--data-dir", str(tmp_path), *argv])
    assert exc.value.code == 2


def test_settings_validate_themselves(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="workers"):
        ServiceSettings(data_dir=tmp_path, workers=0)
    with pytest.raises(UsageError, match="token"):
        ServiceSettings(data_dir=tmp_path, token=" ")
    with pytest.raises(UsageError, match="module:callable"):
        ServiceSettings(data_dir=tmp_path, classifier_factory="no_colon")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.0.0.2", False),
    ],
)
def test_loopback_detection(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_job_options_parse_and_validate_form_fields() -> None:
    base = AnalyzeOptions()
    fields = {"fps": "4", "max_frames": "10", "explain": "yes", "end_s": "", "start_s": "1.5"}
    assert job_options(fields, base) == {
        "fps": 4.0,
        "max_frames": 10,
        "explain": True,
        "start_s": 1.5,
    }
    assert job_options({"fps": "all"}, base) == {"fps": None}
    for bad, message in [
        ({"fps": "0"}, "between"),
        ({"max_frames": "2.5"}, "int"),
        ({"batch_size": "4"}, "unknown option"),
        ({"model_path": "/tmp/x"}, "unknown option"),
        ({"start_s": "5", "end_s": "2"}, "end_s must be after start_s"),
        ({"explain": "maybe"}, "true or false"),
    ]:
        with pytest.raises(UsageError, match=message):
            job_options(bad, base)


def test_serve_refuses_to_start_without_a_model(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(paths, "DEFAULT_CLASSIFIER_SPEC", tmp_path / "missing.spec.json")
    assert main(["serve", "--data-dir", str(tmp_path / "d")]) == 2
    assert "no default model is installed" in capsys.readouterr().err
    assert main(["serve", "--data-dir", str(tmp_path / "d"), "--model", "/no/such.keras"]) == 2
    assert "check the --model path" in capsys.readouterr().err


def test_workers_share_the_cpus() -> None:
    assert threads_per_worker(1, cpus=8) is None
    assert threads_per_worker(2, cpus=8) == 4
    assert threads_per_worker(4, cpus=2) == 1
