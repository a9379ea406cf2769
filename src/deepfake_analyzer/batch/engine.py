"""The engine interface and registry: `run(jobs, factory)` yields each clip's outcome as it ends.

An engine decides where workers run (this process, Ray actors); each worker loads the model
once through `factory` and analyzes many clips. Adding an engine is a file and a
`register_engine` call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from deepfake_analyzer.batch.jobs import AnalyzerFactory, ClipJob, ClipOutcome
from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.registry import add_entry, unknown_name


@dataclass(frozen=True)
class EngineOptions:
    """How many workers, where, and how many CPU cores each one claims (Ray)."""

    workers: int | None = None
    address: str | None = None
    cpus_per_worker: float = 1.0

    def __post_init__(self) -> None:
        if self.workers is not None and not 1 <= self.workers <= 10_000:
            raise UsageError("`workers` must be between 1 and 10000", option="workers")
        if not 0 < self.cpus_per_worker <= 1024:
            raise UsageError(
                "`cpus_per_worker` must be between 0 and 1024", option="cpus_per_worker"
            )


class Engine(Protocol):
    """`run` is the one required method; outcomes come back in completion order."""

    name: str

    def run(self, jobs: Sequence[ClipJob], factory: AnalyzerFactory) -> Iterator[ClipOutcome]: ...


EngineBuilder = Callable[[EngineOptions], Engine]


def _local(options: EngineOptions) -> Engine:
    from deepfake_analyzer.batch.local import LocalEngine

    return LocalEngine(options)


def _ray(options: EngineOptions) -> Engine:
    from deepfake_analyzer.batch.ray_engine import RayEngine

    return RayEngine(options)


_REGISTRY: dict[str, EngineBuilder] = {"local": _local, "ray": _ray}


def register_engine(name: str, builder: EngineBuilder) -> None:
    """Make `builder` available as `--engine name`."""
    add_entry(_REGISTRY, "engine", name, builder)


def list_engines() -> list[str]:
    return sorted(_REGISTRY)


def create_engine(name: str, options: EngineOptions | None = None) -> Engine:
    """The registered engine `name`, or a UsageError with a "did you mean"."""
    builder = _REGISTRY.get(name)
    if builder is None:
        raise UsageError(unknown_name("engine", name, _REGISTRY))
    return builder(options or EngineOptions())
