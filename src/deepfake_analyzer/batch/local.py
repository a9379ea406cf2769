"""The `local` engine: one worker in this process, one model load, clips one after another."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deepfake_analyzer.batch.engine import EngineOptions
from deepfake_analyzer.batch.jobs import (
    AnalyzerFactory,
    ClipJob,
    ClipOutcome,
    ClipWorker,
    StopOn,
)
from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import FileStarted, ProgressHook


class LocalEngine:
    """Runs every clip in this process. Inside one clip, decoding, detection and
    classification already overlap and use every core; for more workers use `--engine ray`.

    In this process the pipeline's events can be shown: `hook` receives each clip's
    `FileStarted` and stage progress. `stop_on` picks the errors that stop the run instead of
    failing one clip (see `jobs.StopOn`).
    """

    name = "local"

    def __init__(
        self,
        options: EngineOptions | None = None,
        hook: ProgressHook | None = None,
        stop_on: StopOn | None = None,
    ) -> None:
        options = options or EngineOptions()
        if options.workers not in (None, 1):
            raise UsageError(
                "the local engine runs one worker; use `engine` ray for `workers` "
                f"{options.workers} (pip install 'deepfake-analyzer[ray]')",
                option=("engine", "workers"),
            )
        if options.address:
            raise UsageError("`address` is for `engine` ray", option=("address", "engine"))
        self.options = options
        self.hook = hook
        self.stop_on = stop_on
        self.last_worker: ClipWorker | None = None

    def run(self, jobs: Sequence[ClipJob], factory: AnalyzerFactory) -> Iterator[ClipOutcome]:
        if not jobs:
            return
        worker = ClipWorker(factory)
        self.last_worker = worker
        try:
            for job in jobs:
                if self.hook is not None:
                    self.hook(FileStarted(job.path, job.index, job.total))
                yield worker.run(job, self.hook, self.stop_on)
        finally:
            worker.close()
