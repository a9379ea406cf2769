"""Progress events of `train`: the trainer emits them to a hook, the CLI renders them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrainStarted:
    """Training begins (or resumes at `start_step`); `counts` are crops per split and kind."""

    run_dir: str
    start_step: int
    total_steps: int
    counts: dict[str, int] = field(default_factory=dict)
    precision: str = "float32"
    input_size: int = 0
    batch_size: int = 0


@dataclass(frozen=True)
class TrainProgress:
    """A training step finished; `total_steps` may still be an estimate under `--minutes`."""

    step: int
    total_steps: int
    epoch: int
    loss: float
    learning_rate: float
    images_per_s: float
    elapsed_s: float
    eta_s: float


@dataclass(frozen=True)
class Evaluated:
    """Validation after `epoch`: AUCs per validation set (e.g. `sbi`, `heldout/<dataset>`)."""

    step: int
    epoch: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckpointSaved:
    step: int
    path: str


@dataclass(frozen=True)
class TrainFinished:
    """Training ended; `spec_path` is the exported model's spec ('' when not exported)."""

    step: int
    spec_path: str
    elapsed_s: float
    metrics: dict[str, float] = field(default_factory=dict)


TrainEvent = TrainStarted | TrainProgress | Evaluated | CheckpointSaved | TrainFinished
