"""Progress events, the one vocabulary every long run speaks, and the hook that receives them.

The pipeline, the runner (`runner.py`: analyze, batch, service), training and evaluation
never import a UI: they call `hook(event)` with one of the events below, and the CLI (or the
web service) decides how to show it; `cli/dashboard.py` renders every event. `NullHook` is
what quiet library use plugs in.

- per input: `FileStarted`, `StageProgress`, `TrackUpdate`, `FileFinished`;
- per training run: `TrainStarted`, `TrainProgress`, `Evaluated`, `CheckpointSaved`,
  `TrainFinished`;
- anywhere: `Message`, and `StageProgress` outside an input (extraction, scoring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class FileStarted:
    """A file begins: `index` of `total` in the run (1-based)."""

    path: str
    index: int
    total: int


@dataclass(frozen=True)
class StageProgress:
    """A stage advanced: `done` of `total` units (total 0 when unknown). `path` is the input
    (or, outside an input, what the stage works on)."""

    path: str
    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class TrackUpdate:
    """Running scores per track after a batch of frames was classified."""

    path: str
    faces_found: int
    track_scores: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FileFinished:
    """A file is done; `verdict` is a label, or `error` says why it failed. `provenance` is
    the one-line summary of the file's own origin labels (C2PA, EXIF/XMP), never scored;
    `trust` what the verdict is worth on unseen generators (`Report.trust_note`), or "".

    `done` of `total` counts the run's finished inputs (0 when not in a run); `resumed` says
    its earlier report was reused instead of analyzing it again; `worker` names who ran it.
    """

    path: str
    verdict: str | None
    score: float | None
    error: str | None = None
    report_paths: tuple[str, ...] = ()
    provenance: str = ""
    trust: str = ""
    done: int = 0
    total: int = 0
    resumed: bool = False
    worker: str = ""


@dataclass(frozen=True)
class Message:
    """A one-line note for the user (warnings such as frames lost to corruption)."""

    path: str
    text: str
    level: str = "info"


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
    """A training checkpoint was written at `step`."""

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
"""The events only a training run emits."""

Event = FileStarted | StageProgress | TrackUpdate | FileFinished | Message | TrainEvent
"""Every event a hook may receive."""


class ProgressHook(Protocol):
    """Anything callable with one event."""

    def __call__(self, event: Event) -> None: ...


class NullHook:
    """A hook that ignores every event (quiet mode, library use)."""

    def __call__(self, event: Event) -> None:
        return None


class RecordingHook:
    """A hook that keeps every event in a list (tests, the web service's job log)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)
