"""What a batch engine moves around: clip jobs, their outcomes, and how workers get a model."""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.options import AnalyzeOptions

if TYPE_CHECKING:
    from deepfake_analyzer.report.types import Report


@dataclass(frozen=True)
class ClipJob:
    """One input of a batch: its path and the stem its reports are written under."""

    path: str
    stem: str

    def __post_init__(self) -> None:
        if not self.path:
            raise ValueError("a clip job needs a path")
        if not self.stem or "/" in self.stem or self.stem in (".", ".."):
            raise ValueError(f"invalid report stem {self.stem!r}")


@dataclass(frozen=True)
class ClipOutcome:
    """The result of one job: a report, or the error that stopped it (never both)."""

    job: ClipJob
    report: Report | None = None
    error: str = ""
    elapsed_s: float = 0.0
    worker: str = ""

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

    `classifier_threads` caps the LiteRT classifier's threads (None: every core this process
    may use); the Ray engine sets it to the cores each worker reserves, so workers sharing a
    machine do not oversubscribe it.
    """

    options: AnalyzeOptions
    classifier_threads: int | None = None

    def __call__(self) -> AnalyzerLike:
        from deepfake_analyzer.pipeline import Analyzer

        if self.classifier_threads is None:
            return Analyzer(self.options)
        from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
        from deepfake_analyzer.models.loader import load_classifier

        classifier = load_classifier(
            self.options.model_path, self.options.trust_model, self.options.batch_size
        )
        if isinstance(classifier, LiteRTClassifier):
            classifier = classifier.with_threads(self.classifier_threads)
        return Analyzer(self.options, classifier=classifier)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ClipWorker:
    """Holds one loaded analyzer and analyzes jobs one at a time; never raises for a clip.

    The model and detector load in the constructor (so a bad model fails before any clip);
    `run` turns every per-clip failure into a `ClipOutcome` with an error message.
    """

    def __init__(self, factory: AnalyzerFactory | object) -> None:
        started = time.perf_counter()
        self._analyzer: AnalyzerLike = factory()  # type: ignore[operator]
        classifier = getattr(self._analyzer, "classifier", None)  # loads the model now
        getattr(self._analyzer, "detector", None)
        self.info = WorkerInfo(
            name=worker_name(),
            classifier=repr(classifier) if classifier is not None else "",
            load_s=time.perf_counter() - started,
        )

    def ready(self) -> WorkerInfo:
        return self.info

    def run(self, job: ClipJob) -> ClipOutcome:
        started = time.perf_counter()
        try:
            report = self._analyzer.analyze(job.path)
        except AnalyzerError as exc:
            error = exc.message
        except Exception as exc:  # a batch of thousands must not stop at one odd clip
            last = traceback.extract_tb(exc.__traceback__)[-1:]
            where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
            error = f"unexpected {type(exc).__name__}{where}: {exc}".strip()
        else:
            return ClipOutcome(
                job, report=report, elapsed_s=time.perf_counter() - started, worker=self.info.name
            )
        return ClipOutcome(
            job,
            error=error or "failed",
            elapsed_s=time.perf_counter() - started,
            worker=self.info.name,
        )

    def close(self) -> None:
        self._analyzer.close()
