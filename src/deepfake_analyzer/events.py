"""Progress events the pipeline emits, and the hook protocol that receives them.

The pipeline never imports a UI: it calls `hook(event)` and the CLI (or the web service)
decides how to show it. `NullHook` is what quiet mode plugs in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class FileStarted:
    """A file begins: `index` of `total` in the batch (1-based)."""

    path: str
    index: int
    total: int


@dataclass(frozen=True)
class StageProgress:
    """A stage of one file advanced: `done` of `total` units (total 0 when unknown)."""

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
    the one-line summary of the file's own origin labels (C2PA, EXIF/XMP), never scored."""

    path: str
    verdict: str | None
    score: float | None
    error: str | None = None
    report_paths: tuple[str, ...] = ()
    provenance: str = ""


@dataclass(frozen=True)
class Message:
    """A one-line note for the user (warnings such as frames lost to corruption)."""

    path: str
    text: str
    level: str = "info"


Event = FileStarted | StageProgress | TrackUpdate | FileFinished | Message


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
