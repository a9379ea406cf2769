"""The `local` engine: one worker in this process, one model load, clips one after another."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deepfake_analyzer.batch.engine import EngineOptions
from deepfake_analyzer.batch.jobs import AnalyzerFactory, ClipJob, ClipOutcome, ClipWorker
from deepfake_analyzer.errors import UsageError


class LocalEngine:
    """Runs every clip in this process. Inside one clip, decoding, detection and
    classification already overlap and use every core; for more workers use `--engine ray`."""

    name = "local"

    def __init__(self, options: EngineOptions | None = None) -> None:
        options = options or EngineOptions()
        if options.workers not in (None, 1):
            raise UsageError(
                "the local engine runs one worker; use --engine ray for --workers "
                f"{options.workers} (pip install 'deepfake-analyzer[ray]')"
            )
        if options.address:
            raise UsageError("--address is for --engine ray")
        self.options = options
        self.last_worker: ClipWorker | None = None

    def run(self, jobs: Sequence[ClipJob], factory: AnalyzerFactory) -> Iterator[ClipOutcome]:
        if not jobs:
            return
        worker = ClipWorker(factory)
        self.last_worker = worker
        try:
            for job in jobs:
                yield worker.run(job)
        finally:
            worker.close()
