"""The `ray` engine: one Ray actor per worker, each loading the model once (`pip install
'deepfake-analyzer[ray]'`).

Connects to a running cluster with `address` (`ray://head:10001` or `auto`), or starts a
local Ray on this machine. Inputs must be readable by every worker at the same path (shared
storage); reports come back to this process, which writes them, so `--output` only has to
exist here. A worker that dies (out of memory, a crash in native code) fails its clip and is
replaced.
"""

from __future__ import annotations

import importlib
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from deepfake_analyzer import errors
from deepfake_analyzer.batch.engine import EngineOptions
from deepfake_analyzer.batch.jobs import (
    AnalyzerFactory,
    ClipJob,
    ClipOutcome,
    ClipWorker,
    WorkerInfo,
)
from deepfake_analyzer.errors import AnalyzerError, UsageError
from deepfake_analyzer.text import first_line

RAY_MISSING_HINT = (
    "the ray engine needs Ray: pip install 'deepfake-analyzer[ray]' (or set `engine` to local)"
)
MAX_REPLACEMENTS_PER_WORKER = 3
"""A worker that keeps dying is replaced at most this many times per worker slot."""


def import_ray() -> Any:
    """`import ray`, or a UsageError that says how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise UsageError(RAY_MISSING_HINT, option="engine") from None


@dataclass(frozen=True)
class _StartupFailure:
    """An error raised while a worker loaded its model, carried back to the driver."""

    error_type: str
    message: str
    path: str | None


class RayClipWorker:
    """The actor: a `ClipWorker`, with start-up errors kept to be re-raised by the driver."""

    def __init__(self, factory: AnalyzerFactory) -> None:
        self._worker: ClipWorker | None = None
        self._failure: _StartupFailure | None = None
        try:
            self._worker = ClipWorker(factory)
        except AnalyzerError as exc:
            self._failure = _StartupFailure(type(exc).__name__, exc.message, exc.path)
        except Exception as exc:  # carried to the driver, raised there
            self._failure = _StartupFailure("AnalyzerError", f"{type(exc).__name__}: {exc}", None)

    def ready(self) -> WorkerInfo | _StartupFailure:
        return self._failure if self._worker is None else self._worker.info  # type: ignore[return-value]

    def run(self, job: ClipJob) -> ClipOutcome:
        if self._worker is None:
            return ClipOutcome(job, error="worker failed to start")
        return self._worker.run(job)


def _raise_startup_failure(failure: _StartupFailure) -> None:
    error_class = getattr(errors, failure.error_type, None)
    if not (isinstance(error_class, type) and issubclass(error_class, AnalyzerError)):
        error_class = AnalyzerError
    raise error_class(f"a Ray worker could not start: {failure.message}", failure.path)


class RayEngine:
    """Analyzes clips on Ray actors; `workers` defaults to the cluster's CPUs // cpus_per_worker."""

    name = "ray"

    def __init__(self, options: EngineOptions | None = None, **init_kwargs: Any) -> None:
        self.options = options or EngineOptions()
        self.init_kwargs = init_kwargs
        self.workers_info: list[WorkerInfo] = []
        import_ray()  # fail at once, before any clip, when Ray is missing

    def _connect(self, ray: Any) -> bool:
        """Start or join Ray; True when this engine started it (and must shut it down)."""
        if ray.is_initialized():
            return False
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "log_to_driver": False,
            "configure_logging": False,
        }
        kwargs.update(self.init_kwargs)
        try:
            ray.init(address=self.options.address, **kwargs)
        except ConnectionError as exc:
            raise UsageError(
                f"cannot connect to the Ray cluster at {self.options.address!r}: {exc}; check "
                "`address` (e.g. ray://head:10001 or auto)",
                option="address",
            ) from None
        return True

    def _worker_count(self, ray: Any, jobs: int) -> int:
        if self.options.workers is not None:
            wanted = self.options.workers
        else:
            cpus = float(ray.cluster_resources().get("CPU", 1.0))
            wanted = max(1, int(cpus // self.options.cpus_per_worker))
        return max(1, min(wanted, jobs))

    def run(self, jobs: Sequence[ClipJob], factory: AnalyzerFactory) -> Iterator[ClipOutcome]:
        if not jobs:
            return
        ray = import_ray()
        started_here = self._connect(ray)
        actor_class = ray.remote(num_cpus=self.options.cpus_per_worker)(RayClipWorker)
        if isinstance(factory, AnalyzerFactory) and factory.classifier_threads is None:
            threads = max(1, int(self.options.cpus_per_worker))
            factory = replace(factory, classifier_threads=threads)
        actors: list[Any] = []
        try:
            count = self._worker_count(ray, len(jobs))
            actors = [actor_class.remote(factory) for _ in range(count)]
            self.workers_info = [
                self._check_ready(ray, info) for info in ray.get([a.ready.remote() for a in actors])
            ]
            yield from self._schedule(ray, actor_class, actors, jobs, factory)
        finally:
            for actor in actors:
                ray.kill(actor, no_restart=True)
            if started_here:
                ray.shutdown()

    @staticmethod
    def _check_ready(ray: Any, info: WorkerInfo | _StartupFailure) -> WorkerInfo:
        if isinstance(info, _StartupFailure):
            _raise_startup_failure(info)
        return info  # type: ignore[return-value]

    def _schedule(
        self,
        ray: Any,
        actor_class: Any,
        actors: list[Any],
        jobs: Sequence[ClipJob],
        factory: AnalyzerFactory,
    ) -> Iterator[ClipOutcome]:
        queue = deque(jobs)
        idle = list(actors)
        running: dict[Any, tuple[Any, ClipJob]] = {}
        replacements_left = MAX_REPLACEMENTS_PER_WORKER * len(actors)
        while queue or running:
            while idle and queue:
                actor = idle.pop()
                job = queue.popleft()
                running[actor.run.remote(job)] = (actor, job)
            if not running:  # every worker is gone
                for job in queue:
                    yield ClipOutcome(job, error="no Ray worker left to analyze this clip")
                return
            done, _ = ray.wait(list(running), num_returns=1)
            ref = done[0]
            actor, job = running.pop(ref)
            try:
                outcome = ray.get(ref)
            except ray.exceptions.RayActorError as exc:
                outcome = ClipOutcome(job, error=f"the Ray worker died: {first_line(exc, 300)}")
                actors.remove(actor)
                if replacements_left > 0:
                    replacements_left -= 1
                    actor = actor_class.remote(factory)
                    actors.append(actor)
                    idle.append(actor)
            except ray.exceptions.RayError as exc:
                outcome = ClipOutcome(job, error=f"Ray error: {first_line(exc, 300)}")
                idle.append(actor)
            else:
                idle.append(actor)
            yield outcome
