"""`train` subcommand: parser, usage errors, and the log/dashboard rendering of train events."""

from __future__ import annotations

from io import StringIO

import pytest
from rich.console import Console

from deepfake_analyzer.cli.dashboard import DashboardHook, LogHook, progress_line
from deepfake_analyzer.cli.main import build_parser, main
from deepfake_analyzer.events import Message
from deepfake_analyzer.training.progress import (
    CheckpointSaved,
    Evaluated,
    TrainFinished,
    TrainProgress,
    TrainStarted,
)

PROGRESS = TrainProgress(
    step=120, total_steps=400, epoch=1, loss=0.4321, learning_rate=5e-4,
    images_per_s=12.5, elapsed_s=3725, eta_s=61,
)  # fmt: skip


def console() -> Console:
    return Console(file=StringIO(), width=200, force_terminal=False, color_system=None)


def test_parser_has_train_with_defaults() -> None:
    args = build_parser().parse_args(["train", "data", "--real", "faces", "--epochs", "2"])
    assert args.command == "train" and args.data == ["data"] and args.real == ["faces"]
    assert args.epochs == 2 and args.input_size == 160 and callable(args.handler)


def test_train_without_data_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train"]) == 2
    assert "DATA folder or --real" in capsys.readouterr().err


def test_bad_input_size_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path) -> None:
    assert main(["train", str(tmp_path), "--input-size", "40", "--epochs", "1"]) == 2
    assert "71..1024" in capsys.readouterr().err


def test_a_missing_backbone_file_is_named_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    missing = tmp_path / "nope.weights.h5"
    assert main(["train", str(tmp_path), "--backbone", str(missing), "--epochs", "1"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "get_backbone.sh" in err and "Traceback" not in err


def test_a_model_to_fine_tune_is_checked_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    from deepfake_analyzer.models.spec import ModelSpec

    spec = tmp_path / "m.spec.json"
    ModelSpec(name="m", input_size=128, scaling="symmetric").save(spec)
    assert main(["train", str(tmp_path), "--init", str(spec), "--input-size", "160"]) == 2
    err = capsys.readouterr().err
    assert str(spec) in err and "--input-size 128" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as usage:
        main(["train", str(tmp_path), "--init", str(spec), "--backbone", "b.h5"])
    assert usage.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_progress_line_shows_step_loss_speed_and_eta() -> None:
    line = progress_line(PROGRESS)
    assert "step 120/400" in line and "loss 0.4321" in line and "12.5 img/s" in line
    assert "elapsed 1:02:05" in line and "eta 0:01:01" in line


def test_log_hook_prints_events_and_throttles_progress() -> None:
    out = console()
    now = [0.0]
    hook = LogHook(out, every_s=60, clock=lambda: now[0])
    hook(TrainStarted("run", 0, 0, {"train_real_crops": 10}, "float32", 96, 8))
    hook(PROGRESS)
    hook(PROGRESS)  # same minute: not printed again
    now[0] = 61.0
    hook(PROGRESS)
    hook(Evaluated(200, 1, {"sbi": 0.8123}))
    hook(CheckpointSaved(200, "ckpt.weights.h5"))
    hook(Message("x.jpg", "no face found", "warning"))
    hook(TrainFinished(200, "model.spec.json", 99.0, {"sbi": 0.8}))
    text = out.file.getvalue()  # type: ignore[attr-defined]
    assert text.count("step 120/400") == 2
    assert "training 96px batch 8 float32" in text and "sbi=0.8123" in text
    assert "checkpoint step 200" in text and "warning: x.jpg: no face found" in text
    assert "finished at step 200: model.spec.json" in text


def test_dashboard_renders_progress_and_auc_table() -> None:
    out = Console(file=StringIO(), width=160, force_terminal=True, color_system=None)
    with DashboardHook(out, transient=False) as hook:
        hook(TrainStarted("runs/x", 0, 400, {"train_real_crops": 10}, "mixed_bfloat16", 128, 32))
        hook(PROGRESS)
        hook(Evaluated(200, 1, {"sbi": 0.75, "heldout/GAN": 0.6}))
        text = "".join(str(part) for part in [hook.render()])
    rendered = out.file.getvalue()  # type: ignore[attr-defined]
    assert "validation AUC" in rendered and "0.750" in rendered and "12.5 img/s" in rendered
    assert text


def test_training_errors_name_options_and_the_cli_says_flags() -> None:
    from deepfake_analyzer.cli.arguments import cli_message
    from deepfake_analyzer.errors import UsageError
    from deepfake_analyzer.training.config import TrainConfig

    with pytest.raises(UsageError) as info:
        TrainConfig(epochs=None, minutes=None)
    assert str(info.value) == "give epochs or minutes"
    assert cli_message(info.value) == "give --epochs or --minutes"
