"""What engines move around (input jobs, their outcomes, how workers get a model) and the one
per-input step, `analyze_clip`, that every worker (local, Ray, the web service) runs."""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.events import ProgressHook
from deepfake_analyzer.options import AnalyzeOptions

if TYPE_CHECKING:
    from deepfake_analyzer.report.types import Report


StopOn = Callable[[BaseException], bool]
"""Whether an error stops the whole run instead of failing one input (the CLI's usage errors,
`--debug`); without one, every error is that input's failure record."""


@dataclass(frozen=True)
class ClipJob:
    """One input of a run: its path, the stem its reports are written under, its place
    (`index` of `total`, 1-based; 0 when unknown) and, when the report should name it
    otherwise (an upload's own file name), `display_path`."""

    path: str
    stem: str
    index: int = 0
    total: int = 0
    display_path: str = ""

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("a clip job needs a path")
        if not self.stem or "/" in self.stem or self.stem in (".", ".."):
            raise ValueError(f"invalid report stem {self.stem!r}")


@dataclass(frozen=True)
class ClipOutcome:
    """The result of one job: a report, or the error that stopped it (never both).

    An unexpected error (a bug, not an `AnalyzerError`) also carries its type and traceback
    in `error_type` and `detail`, for a log; `error` is the one-line record.
    """

    job: ClipJob
    report: Report | None = None
    error: str = ""
    elapsed_s: float = 0.0
    worker: str = ""
    error_type: str = ""
    detail: str = ""

    def __post_init__(self) -> None:
        if (self.report is None) == (not self.error):
            raise ValueError("an outcome has either a report or an error")

    @property
    def ok(self) -> bool:
        return self.report is not None


@dataclass(frozen=True)
class WorkerInfo:
    """Who a worker is, reported once its model is loaded."""

    name: str
    classifier: str
    load_s: float


class AnalyzerLike(Protocol):
    """What a worker needs: `pipeline.Analyzer` or a test double."""

    def analyze(self, path: str | Path) -> Report: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class AnalyzerFactory:
    """Builds one `Analyzer` per worker from options; picklable, so Ray can ship it.

    `classifier_threads` caps the worker's CPU threads (`runner.ThreadCap`; None: every core
    this process may use); the Ray engine sets it to the cores each worker reserves, so
    workers sharing a machine do not oversubscribe it.
    """

    options: AnalyzeOptions
    classifier_threads: int | None = None

    def __call__(self) -> AnalyzerLike:
        from deepfake_analyzer.pipeline import Analyzer

        if self.classifier_threads is None:
            return Analyzer(self.options)
        from deepfake_analyzer.models.loader import load_classifier
        from deepfake_analyzer.runner import ThreadCap

        cap = ThreadCap(self.classifier_threads)
        cap.apply_to_process()
        classifier = load_classifier(
            self.options.model_path, self.options.trust_model, self.options.batch_size
        )
        return Analyzer(self.options, classifier=cap.apply_to(classifier))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def analyze_clip(
    analyzer: AnalyzerLike,
    job: ClipJob,
    hook: ProgressHook | None = None,
    stop_on: StopOn | None = None,
    worker: str = "",
) -> ClipOutcome:
    """Analyze one input; every failure becomes the outcome's error (never raised), unless
    `stop_on(error)` says it stops the run. The report names `job.display_path` if set."""
    started = time.perf_counter()
    try:
        if hook is None:
            report = analyzer.analyze(job.path)
        else:
            report = analyzer.analyze(job.path, hook=hook)  # type: ignore[call-arg]
    except Exception as exc:  # a batch of thousands must not stop at one odd clip
        if stop_on is not None and stop_on(exc):
            raise
        unexpected = not isinstance(exc, AnalyzerError)
        return ClipOutcome(
            job,
            error=_error_line(exc),
            elapsed_s=time.perf_counter() - started,
            worker=worker,
            error_type=type(exc).__name__ if unexpected else "",
            detail="".join(traceback.format_exception(exc)) if unexpected else "",
        )
    if job.display_path:
        report = replace(report, input=replace(report.input, path=job.display_path))
    return ClipOutcome(job, report=report, elapsed_s=time.perf_counter() - started, worker=worker)


def _error_line(exc: Exception) -> str:
    if isinstance(exc, AnalyzerError):
        return exc.message or "failed"
    last = traceback.extract_tb(exc.__traceback__)[-1:]
    where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
    return f"unexpected {type(exc).__name__}{where}: {exc}".strip()


class ClipWorker:
    """Holds one loaded analyzer and analyzes jobs one at a time; never raises for a clip.

    The model and detector load in the constructor (so a bad model fails before any clip);
    `run` turns every per-clip failure into a `ClipOutcome` with an error message.
    """

    def __init__(self, factory: AnalyzerFactory | Callable[[], AnalyzerLike]) -> None:
        started = time.perf_counter()
        self._analyzer: AnalyzerLike = factory()
        classifier = getattr(self._analyzer, "classifier", None)  # loads the model now
        getattr(self._analyzer, "detector", None)
        self.info = WorkerInfo(
            name=worker_name(),
            classifier=repr(classifier) if classifier is not None else "",
            load_s=time.perf_counter() - started,
        )

    def ready(self) -> WorkerInfo:
        return self.info

    def run(
        self, job: ClipJob, hook: ProgressHook | None = None, stop_on: StopOn | None = None
    ) -> ClipOutcome:
        return analyze_clip(self._analyzer, job, hook, stop_on, self.info.name)

    def close(self) -> None:
        self._analyzer.close()
