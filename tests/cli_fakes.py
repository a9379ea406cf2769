"""The CLI run in-process with fakes: the `run_cli` fixture that tests/cli and tests/hostile share
(their conftests import it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from pipeline_fakes import SquareFaceDetector

from deepfake_analyzer.cli.main import main
from deepfake_analyzer.models.fake_classifier import FakeClassifier
from deepfake_analyzer.models.spec import ModelSpec, Thresholds

FAKE_SPEC = ModelSpec(
    name="fake-brightness", input_size=32, architecture="fake", crop_margin=1.0,
    thresholds=Thresholds(suspicious=0.5, fake=0.7),
)  # fmt: skip


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Call `main(argv)` with the fake classifier and square detector; capture its output."""
    import deepfake_analyzer.faces.detector as detector_module
    import deepfake_analyzer.models.loader as loader_module

    monkeypatch.setattr(
        loader_module, "load_classifier", lambda path, **kwargs: FakeClassifier(FAKE_SPEC)
    )
    monkeypatch.setattr(
        detector_module, "create_detector", lambda *args, **kwargs: SquareFaceDetector()
    )

    def run(*argv: str) -> CliResult:
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
