"""A bounded pool of worker processes, each loading the models once and analyzing jobs.

The parent owns the job store: it claims a queued job only when a worker is idle, sends it
over that worker's inbox, and records the progress, results and failures the workers send
back on a shared outbox. The parent also logs every failure's cause (a bug's traceback
included): workers inherit the CLI's silenced fd 2, so what they print may go nowhere. A
worker that dies takes its job back to the queue (see `JobStore.interrupted`) and is
replaced; a worker whose parent dies exits by itself.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import os
import queue
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from deepfake_analyzer.errors import AnalyzerError, UsageError
from deepfake_analyzer.events import Event, StageProgress
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.runner import ThreadCap, threads_per_worker
from deepfake_analyzer.service.jobs import Job, JobStore

__all__ = ["JobTicket", "PoolStatus", "WorkerConfig", "WorkerPool", "threads_per_worker"]

log = logging.getLogger("deepfake_analyzer.service")

PROGRESS_INTERVAL_S = 0.25
POLL_S = 0.1
MAX_FAILED_STARTS = 3
"""A worker slot that dies this many times in a row before it is ready stops respawning."""


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to build its analyzer (picklable)."""

    base_options: dict[str, Any]
    classifier_factory: str | None = None
    detector_factory: str | None = None
    threads: int | None = None
    """CPU threads each worker's numeric libraries may use (None: their default, all cores)."""


@dataclass(frozen=True)
class JobTicket:
    """One job handed to a worker."""

    job_id: str
    media_path: str
    display_name: str
    options: dict[str, Any]
    output_dir: str


@dataclass(frozen=True)
class PoolStatus:
    """The pool at a glance, for the health endpoint."""

    workers: int
    ready: int
    busy: int
    error: str | None = None


@dataclass
class _Slot:
    index: int
    process: Any = None
    ready: bool = False
    job_id: str | None = None
    inbox: Any = None
    started: float = field(default_factory=time.monotonic)
    failed_starts: int = 0
    over_memory_mb: float = 0.0


def load_factory(path: str) -> Callable[[], Any]:
    """Import `package.module:callable`; a clear UsageError when it is not there."""
    module_name, _, attribute = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"cannot load factory {path!r}: {exc}") from None
    if not callable(factory):
        raise UsageError(f"factory {path!r} is not callable")
    return cast("Callable[[], Any]", factory)  # checked callable; what it makes is the caller's


class WorkerPool:
    """`size` worker processes fed from `store`; `on_finished(job_id)` runs in the parent."""

    def __init__(
        self,
        store: JobStore,
        config: WorkerConfig,
        size: int,
        jobs_dir: Path,
        uploads_dir: Path,
        on_finished: Callable[[str], None] | None = None,
        max_job_memory_mb: int | None = None,
    ) -> None:
        self.store = store
        self.max_job_memory_mb = max_job_memory_mb
        self.config = config
        self.size = size
        self.jobs_dir = jobs_dir
        self.uploads_dir = uploads_dir
        self.on_finished = on_finished or (lambda job_id: None)
        self._context = multiprocessing.get_context("spawn")
        self._outbox: Any = None
        self._slots: list[_Slot] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._init_error: str | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._outbox = self._context.Queue()
        self._slots = [_Slot(index) for index in range(self.size)]
        for slot in self._slots:
            self._spawn(slot)
        self._thread = threading.Thread(target=self._run, name="worker-pool", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A job was queued: dispatch it without waiting for the next poll."""
        self._wake.set()

    def status(self) -> PoolStatus:
        with self._lock:
            alive = [s for s in self._slots if s.process is not None and s.process.is_alive()]
            return PoolStatus(
                workers=len(alive),
                ready=sum(1 for s in alive if s.ready),
                busy=sum(1 for s in alive if s.job_id is not None),
                error=self._init_error,
            )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the workers. Jobs they were running stay `running` and re-run at next start."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        for slot in self._slots:
            if slot.process is not None and slot.process.is_alive():
                if slot.job_id is None:
                    slot.inbox.put(None)
                else:
                    slot.process.terminate()
        deadline = time.monotonic() + timeout_s
        for slot in self._slots:
            if slot.process is not None:
                slot.process.join(timeout=max(0.1, deadline - time.monotonic()))
                if slot.process.is_alive():
                    slot.process.kill()
                    slot.process.join(timeout=1)
        for channel in [slot.inbox for slot in self._slots] + [self._outbox]:
            if channel is not None:
                channel.close()
                channel.cancel_join_thread()

    # -- parent loop ---------------------------------------------------------------------

    def _spawn(self, slot: _Slot) -> None:
        slot.inbox = self._context.Queue()
        slot.ready = False
        slot.job_id = None
        slot.started = time.monotonic()
        slot.process = self._context.Process(
            target=worker_main,
            args=(slot.index, self.config, slot.inbox, self._outbox, os.getpid()),
            name=f"deepfake-analyzer-worker-{slot.index}",
            daemon=True,
        )
        slot.process.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._drain(POLL_S)
                self._watch_memory()
                self._reap()
                self._dispatch()
            except Exception:  # the loop must survive anything; the log says what happened
                log.exception("worker pool loop error")
                time.sleep(POLL_S)

    def _drain(self, timeout_s: float) -> None:
        try:
            message = self._outbox.get(timeout=0 if self._wake.is_set() else timeout_s)
        except queue.Empty:
            self._wake.clear()
            return
        self._handle(message)
        while True:
            try:
                message = self._outbox.get_nowait()
            except queue.Empty:
                break
            self._handle(message)
        self._wake.clear()

    def _handle(self, message: tuple[Any, ...]) -> None:
        kind, index = message[0], message[1]
        slot = self._slots[index]
        if kind == "ready":
            slot.ready = True
            slot.failed_starts = 0
            log.info("worker %d ready in %.1f s", index, time.monotonic() - slot.started)
        elif kind == "init_failed":
            _, _, text, detail = message
            self._init_error = f"the server cannot load its models: {text}"
            log.error("worker %d failed to start: %s%s", index, text, _indented(detail))
        elif kind == "progress":
            _, _, job_id, stage, done, total = message
            self.store.progress(job_id, stage, done, total)
        elif kind == "done":
            _, _, job_id, label, score = message
            with self._lock:
                slot.job_id = None
            if not self.store.finish(job_id, label, score):
                shutil.rmtree(self.jobs_dir / job_id, ignore_errors=True)
            self.on_finished(job_id)
        elif kind == "failed":
            _, _, job_id, text, detail = message
            if detail:  # a bug: the traceback goes to the log, never to the client
                log.error("job %s failed: %s%s", job_id, text, _indented(detail))
            else:
                log.warning("job %s failed: %s", job_id, text)
            with self._lock:
                slot.job_id = None
            if not self.store.fail(job_id, text):
                shutil.rmtree(self.jobs_dir / job_id, ignore_errors=True)
            self.on_finished(job_id)

    def _watch_memory(self) -> None:
        """Stop a busy worker whose memory passed the limit; `_reap` then fails its job."""
        if self.max_job_memory_mb is None:
            return
        import psutil

        for slot in self._slots:
            if slot.job_id is None or slot.process is None or slot.over_memory_mb:
                continue
            try:
                rss_mb = psutil.Process(slot.process.pid).memory_info().rss / (1024 * 1024)
            except (psutil.Error, ValueError):  # gone already: `_reap` handles it
                continue
            if rss_mb > self.max_job_memory_mb:
                slot.over_memory_mb = rss_mb
                log.error(
                    "job %s: worker %d uses %.0f MB, over the %d MB limit: stopping it",
                    slot.job_id, slot.index, rss_mb, self.max_job_memory_mb,
                )  # fmt: skip
                slot.process.kill()

    def _reap(self) -> None:
        for slot in self._slots:
            if slot.process is None or slot.process.exitcode is None:
                continue
            code = slot.process.exitcode
            job_id = slot.job_id
            if not slot.ready and self._init_error is None:
                slot.failed_starts += 1
                if slot.failed_starts >= MAX_FAILED_STARTS:
                    self._init_error = (
                        f"the server cannot load its models: a worker died {slot.failed_starts} "
                        f"times while loading them (exit code {code}); see the server log"
                    )
                    log.error(self._init_error)
            with self._lock:
                slot.job_id = None
                slot.ready = False
            over_memory_mb, slot.over_memory_mb = slot.over_memory_mb, 0.0
            if job_id is not None and over_memory_mb:  # not retried: it would do it again
                self.store.fail(
                    job_id,
                    f"the analysis needed more than this server's memory limit of "
                    f"{self.max_job_memory_mb} MB per job; send a smaller file",
                )
                self.on_finished(job_id)
            elif job_id is not None:
                log.error(
                    "worker %d died (exit %s) while analyzing job %s", slot.index, code, job_id
                )
                self.store.interrupted(job_id, f"its worker process died with exit code {code}")
            if self._init_error is None and not self._stopping.is_set():
                self._spawn(slot)
            else:
                slot.process = None

    def _dispatch(self) -> None:
        if self._init_error is not None and not any(s.ready for s in self._slots):
            while (job := self.store.claim_next()) is not None:
                self.store.fail(job.id, self._init_error)
                self.on_finished(job.id)
            return
        for slot in self._slots:
            if not slot.ready or slot.job_id is not None:
                continue
            job = self.store.claim_next()
            if job is None:
                return
            with self._lock:
                slot.job_id = job.id
            slot.inbox.put(self._ticket(job))

    def _ticket(self, job: Job) -> JobTicket:
        return JobTicket(
            job_id=job.id,
            media_path=str(self.uploads_dir / job.media_name),
            display_name=job.filename,
            options=job.options,
            output_dir=str(self.jobs_dir / job.id),
        )


# -- worker process ----------------------------------------------------------------------


def worker_main(index: int, config: WorkerConfig, inbox: Any, outbox: Any, parent_pid: int) -> None:
    """Entry point of a worker process: load the models once, then analyze tickets."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _exit_with_parent(parent_pid)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up notes out
    if config.threads is not None:
        ThreadCap(config.threads).apply_to_process()
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s:     worker %(process)d %(message)s"
    )
    try:
        runner = _JobRunner(config)
    except AnalyzerError as exc:
        outbox.put(("init_failed", index, exc.message, ""))
        return
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        outbox.put(("init_failed", index, text, traceback.format_exc()))
        return
    outbox.put(("ready", index))
    try:
        while (ticket := inbox.get()) is not None:
            outbox.put(runner.run(index, ticket, outbox))
    finally:
        runner.close()
    outbox.close()
    outbox.join_thread()  # every message is delivered; skip the slow interpreter teardown
    os._exit(0)


def _indented(detail: str) -> str:
    """A worker's traceback as extra log lines (empty when there is none)."""
    return "\n" + detail.rstrip() if detail else ""


def _exit_with_parent(parent_pid: int) -> None:
    """Exit this process when the server process is gone (even if it was SIGKILLed)."""

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(0)
            time.sleep(0.5)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class _JobRunner:
    """Holds one loaded classifier (and detectors) and runs tickets with per-job options."""

    def __init__(self, config: WorkerConfig) -> None:
        from deepfake_analyzer.pipeline import Analyzer

        self.base_options = options = AnalyzeOptions.from_mapping(config.base_options)
        # the one model load of this worker: every job reuses this classifier
        if config.classifier_factory:
            classifier = load_factory(config.classifier_factory)()
        else:
            from deepfake_analyzer.models.loader import load_classifier

            classifier = load_classifier(
                options.model_path, options.trust_model, options.batch_size
            )
        if config.threads is not None:  # LiteRT: share the CPUs
            classifier = ThreadCap(config.threads).apply_to(classifier)
        self._fixed_detector = (
            load_factory(config.detector_factory)() if config.detector_factory else None
        )
        self._analyzer_type = Analyzer
        self.classifier = classifier
        self._detectors: dict[tuple[float, int], Any] = {}
        self._detector_for(self.base_options)

    def _detector_for(self, options: AnalyzeOptions) -> Any:
        if self._fixed_detector is not None:
            return self._fixed_detector
        key = (options.min_confidence, options.min_face)
        if key not in self._detectors:
            self._detectors[key] = self._analyzer_type(options, classifier=self.classifier).detector
        return self._detectors[key]

    def close(self) -> None:
        for detector in self._detectors.values():
            close = getattr(detector, "close", None)
            if close is not None:
                close()
        self._detectors.clear()

    def run(self, index: int, ticket: JobTicket, outbox: Any) -> tuple[Any, ...]:
        """One job through the runner's per-input step (`analyze_clip`, `write_outcome`):
        the `done` message, or a `failed` one with the cause (and a bug's traceback)."""
        try:
            return self._run(index, ticket, outbox)
        except AnalyzerError as exc:
            return ("failed", index, ticket.job_id, exc.message, "")
        except Exception as exc:
            return _internal_error(index, ticket, type(exc).__name__, traceback.format_exc())

    def _run(self, index: int, ticket: JobTicket, outbox: Any) -> tuple[Any, ...]:
        from deepfake_analyzer.batch.jobs import ClipJob, analyze_clip
        from deepfake_analyzer.report.formats import REPORT_FORMATS
        from deepfake_analyzer.runner import ReportPlan, write_outcome

        job = ClipJob(ticket.media_path, "analysis", display_path=ticket.display_name)
        analyzer = self._analyzer_for(ticket.options)
        outcome = analyze_clip(analyzer, job, _ThrottledProgress(index, ticket.job_id, outbox))
        if outcome.detail:
            return _internal_error(index, ticket, outcome.error_type, outcome.detail)
        output_dir = Path(ticket.output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        row, written = write_outcome(
            outcome, ReportPlan(output_dir, REPORT_FORMATS, overwrite=True)
        )
        if outcome.report is None or row.verdict == "error":
            return ("failed", index, ticket.job_id, row.error, "")
        for path in written:
            target = output_dir / f"report{path.suffix}"
            if path != target:
                os.replace(path, target)
        verdict = outcome.report.verdict.to_dict()  # rounded as in the reports
        return ("done", index, ticket.job_id, verdict["label"], verdict["score"])

    def _analyzer_for(self, job_options: dict[str, Any]) -> Any:
        """An analyzer with this job's options over the worker's one loaded classifier."""
        merged = self.base_options.to_dict()
        merged.update(job_options)
        options = AnalyzeOptions.from_mapping(merged)
        return self._analyzer_type(
            options, classifier=self.classifier, detector=self._detector_for(options)
        )


def _internal_error(index: int, ticket: JobTicket, error_type: str, detail: str) -> tuple[Any, ...]:
    """A bug's `failed` message. The parent logs the traceback: a worker's own stderr may be
    /dev/null (the CLI silences native log spam on fd 2, which spawned processes inherit)."""
    text = f"internal error while analyzing ({error_type}); see the server log"
    return ("failed", index, ticket.job_id, text, detail)


class _ThrottledProgress:
    """A progress hook that forwards stage progress to the parent a few times a second."""

    def __init__(self, index: int, job_id: str, outbox: Any) -> None:
        self.index = index
        self.job_id = job_id
        self.outbox = outbox
        self._last = 0.0
        self._last_stage = ""

    def __call__(self, event: Event) -> None:
        if not isinstance(event, StageProgress):
            return
        now = time.monotonic()
        if event.stage == self._last_stage and now - self._last < PROGRESS_INTERVAL_S:
            return
        self._last = now
        self._last_stage = event.stage
        self.outbox.put(("progress", self.index, self.job_id, event.stage, event.done, event.total))
