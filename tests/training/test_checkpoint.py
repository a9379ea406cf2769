"""Checkpoint state: `state.json` keeps the format earlier runs wrote, so they resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.training.checkpoint import TrainState, atomic_write_text, read_state

# The shape of a state.json written before TrainState existed (a --minutes run, abridged).
EARLIER_STATE = {
    "step": 2200,
    "total_steps": 0,
    "elapsed_s": 4581.456810920998,
    "history": [
        {"step": 2189, "elapsed_s": 4513.4, "sbi": 0.813, "train_loss": 0.3573},
        {"step": 2200, "elapsed_s": 4581.5, "sbi": 0.7836, "val/face-swap": 0.9828},
    ],
    "counts": {"train_real_crops": 3243, "val_files": 289},
    "precision": "mixed_bfloat16",
    "skipped_steps": 3,
}


def test_an_earlier_state_reads_and_writes_back_unchanged(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "state.json", json.dumps(EARLIER_STATE, indent=1) + "\n")
    state = read_state(tmp_path)
    assert (state.step, state.total_steps, state.precision, state.skipped_steps) == (
        2200,
        0,
        "mixed_bfloat16",
        3,
    )
    assert state.final_metrics() == {"sbi": 0.7836, "val/face-swap": 0.9828}
    written = state.to_json()
    assert written == EARLIER_STATE and list(written) == list(EARLIER_STATE)


def test_a_fresh_state_omits_skipped_steps_and_has_no_final_metrics() -> None:
    state = TrainState(step=3, counts={"a": 1})
    assert "skipped_steps" not in state.to_json()
    assert state.final_metrics() == {}
    assert TrainState.from_json({"step": 1, "history": []}).precision == "float32"


def test_reading_a_run_without_a_checkpoint_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no checkpoint"):
        read_state(tmp_path)
