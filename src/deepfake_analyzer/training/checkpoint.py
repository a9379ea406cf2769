"""A training run's checkpoint: weights, optimizer variables and `TrainState` (`state.json`),
written atomically so a run can resume, or be exported while it trains; plus the in-memory
copy that undoes a diverged step (`DivergenceGuard`).

`state.json` keeps the format earlier runs wrote (step, total_steps, elapsed_s, history,
counts, precision and, after a restored step, skipped_steps), so their checkpoints resume.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import UsageError

STATE_FILE = "state.json"
WEIGHTS_FILE = "checkpoint.weights.h5"
OPTIMIZER_FILE = "optimizer.npz"

HistoryRow = dict[str, float]
"""One validation: `step`, `elapsed_s` and each validation set's AUC (plus `train_loss`)."""


@dataclass
class TrainState:
    """Where a run stands: steps done, seconds trained, validation history, data counts."""

    step: int = 0
    total_steps: int = 0  # 0 under --minutes (the step count is not known ahead)
    elapsed_s: float = 0.0
    history: list[HistoryRow] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    precision: str = "float32"
    skipped_steps: int = 0  # diverged steps undone by `DivergenceGuard`

    def final_metrics(self) -> dict[str, float]:
        """The last validation's figures, without its step and time."""
        last = self.history[-1] if self.history else {}
        return {k: v for k, v in last.items() if k not in ("step", "elapsed_s")}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "total_steps": self.total_steps,
            "elapsed_s": self.elapsed_s,
            "history": self.history,
            "counts": self.counts,
            "precision": self.precision,
        }
        if self.skipped_steps:
            data["skipped_steps"] = self.skipped_steps
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainState:
        return cls(
            step=int(data.get("step", 0)),
            total_steps=int(data.get("total_steps", 0)),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
            history=list(data.get("history") or []),
            counts=dict(data.get("counts") or {}),
            precision=str(data.get("precision", "float32")),
            skipped_steps=int(data.get("skipped_steps", 0)),
        )


def atomic_write_text(path: Path, text: str) -> None:
    """Write beside `path`, then rename over it: a reader never sees a partial file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def read_state(run_dir: Path) -> TrainState:
    """The run's `state.json`; `UsageError` when the run has no checkpoint."""
    state_path = run_dir / STATE_FILE
    if not state_path.is_file():
        raise UsageError(f"no checkpoint in {run_dir}")
    return TrainState.from_json(json.loads(state_path.read_text()))


def has_checkpoint(run_dir: Path) -> bool:
    return (run_dir / STATE_FILE).is_file()


def save_checkpoint(run_dir: Path, model: Any, optimizer: Any, state: TrainState) -> Path:
    """Weights, optimizer variables and `state` written atomically; returns the weights path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise UsageError(f"refusing to checkpoint non-finite weights over {run_dir}")
    weights = run_dir / WEIGHTS_FILE
    tmp = run_dir / "checkpoint.tmp.weights.h5"
    model.save_weights(tmp)
    os.replace(tmp, weights)
    arrays = {f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
    with open(run_dir / "optimizer.tmp.npz", "wb") as handle:
        np.savez(handle, allow_pickle=False, **arrays)
    os.replace(run_dir / "optimizer.tmp.npz", run_dir / OPTIMIZER_FILE)
    atomic_write_text(run_dir / STATE_FILE, json.dumps(state.to_json(), indent=1) + "\n")
    return weights


def load_checkpoint(run_dir: Path, model: Any, optimizer: Any) -> TrainState:
    """Restore what `save_checkpoint` wrote; the optimizer must already be built."""
    if not has_checkpoint(run_dir):
        raise UsageError(f"nothing to resume: no checkpoint in {run_dir}")
    model.load_weights(run_dir / WEIGHTS_FILE)
    with np.load(run_dir / OPTIMIZER_FILE, allow_pickle=False) as data:
        variables = optimizer.variables
        if len(data.files) != len(variables):
            raise UsageError("checkpoint optimizer state does not match this model; start afresh")
        for i, variable in enumerate(variables):
            variable.assign(data[f"v{i:04d}"])
    return read_state(run_dir)


class DivergenceGuard:
    """Keeps an in-memory copy of the last good weights and optimizer state (every `every`
    steps) and restores it when a step's loss is not finite, so one bad step (an overflow
    under mixed precision) costs at most `every` steps instead of the run. More than
    `max_restores` restores stop the run with a clear error (lower the learning rate)."""

    def __init__(self, model: Any, optimizer: Any, every: int = 50, max_restores: int = 5) -> None:
        self.model, self.optimizer = model, optimizer
        self.every, self.max_restores = every, max_restores
        self.restores = 0
        self.step = -1
        self._weights: list[np.ndarray] = []
        self._slots: list[np.ndarray] = []

    def _snapshot(self, step: int) -> bool:
        """Keep the current state as the last good one; False (nothing kept) when any weight,
        batch-norm statistics included, is not finite: the loss can stay finite while a
        running variance overflows, and only inference mode reads it."""
        weights = [np.array(w) for w in self.model.get_weights()]
        if not all(np.isfinite(w).all() for w in weights):
            return False
        self._weights = weights
        self._slots = [np.array(v.numpy()) for v in self.optimizer.variables]
        self.step = step
        return True

    def after_step(self, step: int, loss: float) -> bool:
        """False when the step diverged and the last good state was restored."""
        if math.isfinite(loss):
            if self.step >= 0 and step - self.step < self.every:
                return True
            if self._snapshot(step):
                return True
            what = "a weight that is not finite"
        else:
            what = f"loss {loss}"
        self.restore(step, what)
        return False

    def restore(self, step: int, what: str) -> None:
        """Put back the last good state after `what` went wrong at `step`; a clear error when
        there is none or this happened too often."""
        self.restores += 1
        if self.restores > self.max_restores or self.step < 0:
            raise UsageError(
                f"training diverged ({what} at step {step}, {self.restores} times): "
                "lower `learning_rate` or use `precision` float32",
                option=("learning_rate", "precision"),
            )
        self.model.set_weights(self._weights)
        for variable, value in zip(self.optimizer.variables, self._slots, strict=True):
            variable.assign(value)
