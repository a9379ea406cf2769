"""The service's one object: job store, worker pool and files, behind the HTTP layer."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import IO

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.options import AnalyzeOptions, OptionValue, parse_option
from deepfake_analyzer.report.formats import REPORT_FORMATS
from deepfake_analyzer.service.jobs import Job, JobStore, is_job_id, new_job_id
from deepfake_analyzer.service.settings import JOB_OPTION_NAMES, ServiceSettings
from deepfake_analyzer.service.uploads import StoredUpload
from deepfake_analyzer.service.workers import (
    PoolStatus,
    WorkerConfig,
    WorkerPool,
    threads_per_worker,
)
from deepfake_analyzer.text import did_you_mean

log = logging.getLogger("deepfake_analyzer.service")

REPORT_FILES = {fmt: f"report.{fmt}" for fmt in REPORT_FORMATS}


class AnalysisService:
    """Accepts uploads as jobs, runs them on the worker pool, keeps and prunes their files.

    Layout under `settings.data_dir`: `jobs.sqlite3`, `uploads/<id>.<ext>` (removed once the
    job finishes) and `jobs/<id>/report.{json,csv,html}` (kept until DELETE or retention).
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        for directory in (settings.data_dir, settings.uploads_dir, settings.jobs_dir):
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(
                    f"cannot create the data folder {directory} ({exc.strerror}); "
                    "pass a writable `data_dir`",
                    option="data_dir",
                ) from None
        self._lock = _lock_data_dir(settings.data_dir)
        self.store = JobStore(settings.database_path)
        config = WorkerConfig(
            base_options=settings.base_options.to_dict(),
            classifier_factory=settings.classifier_factory,
            detector_factory=settings.detector_factory,
            threads=threads_per_worker(settings.workers),
        )
        self.pool = WorkerPool(
            self.store,
            config,
            settings.workers,
            settings.jobs_dir,
            settings.uploads_dir,
            on_finished=self._finished,
            max_job_memory_mb=settings.max_job_memory_mb,
        )

    def start(self) -> None:
        """Recover jobs a previous run left unfinished, clean leftovers, start the workers."""
        requeued = self.store.recover()
        if requeued:
            log.info("re-running %d job(s) interrupted by the last stop", len(requeued))
        self._remove_orphans()
        self.prune()
        self.pool.start()

    def stop(self) -> None:
        self.pool.stop()
        self.close()

    def close(self) -> None:
        """Close the job store and let another server use the data folder."""
        self.store.close()
        self._lock.close()

    def new_upload_stem(self) -> tuple[str, Path]:
        """A fresh job id and the path stem its upload is streamed to."""
        job_id = new_job_id()
        return job_id, self.settings.uploads_dir / job_id

    def submit(self, job_id: str, upload: StoredUpload) -> Job:
        """Validate the upload's form fields as options and queue the job."""
        try:
            options = job_options(upload.fields, self.settings.base_options)
        except UsageError:
            upload.path.unlink(missing_ok=True)
            raise
        job = self.store.create(
            job_id,
            filename=upload.filename,
            media_name=upload.path.name,
            media_kind=upload.kind,
            size_bytes=upload.size_bytes,
            options=options,
        )
        self.pool.wake()
        return job

    def get(self, job_id: str) -> Job | None:
        return self.store.get(job_id) if is_job_id(job_id) else None

    def list_recent(self, limit: int, status: str | None = None) -> list[Job]:
        return self.store.list_recent(limit, status)

    def delete(self, job_id: str) -> bool:
        job = self.store.delete(job_id) if is_job_id(job_id) else None
        if job is None:
            return False
        self._remove_files(job)
        return True

    def report_path(self, job: Job, fmt: str) -> Path:
        return self.settings.jobs_dir / job.id / REPORT_FILES[fmt]

    def health(self) -> tuple[PoolStatus, dict[str, int]]:
        return self.pool.status(), self.store.counts()

    def _finished(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is not None:
            (self.settings.uploads_dir / job.media_name).unlink(missing_ok=True)
        self.prune()

    def prune(self) -> None:
        """Delete the oldest finished jobs beyond `settings.keep_jobs`, with their files."""
        for job in self.store.prune(self.settings.keep_jobs):
            self._remove_files(job)

    def _remove_orphans(self) -> None:
        """Files no job owns: uploads cut off by a stop, results of jobs deleted meanwhile."""
        known = {job.id: job for job in self.store.list_recent(limit=-1)}
        for path in self.settings.uploads_dir.iterdir():
            if not path.is_file():
                continue
            job = known.get(path.name.split(".", 1)[0])
            if job is None or job.finished or path.name != job.media_name:
                path.unlink(missing_ok=True)
        for path in self.settings.jobs_dir.iterdir():
            if path.name not in known:
                shutil.rmtree(path, ignore_errors=True)

    def _remove_files(self, job: Job) -> None:
        (self.settings.uploads_dir / job.media_name).unlink(missing_ok=True)
        shutil.rmtree(self.settings.jobs_dir / job.id, ignore_errors=True)


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """Hold an exclusive lock on the data folder: one server per folder, or recovery breaks."""
    handle = (data_dir / "server.lock").open("w")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise UsageError(
            f"another deepfake-analyzer server is using {data_dir}; stop it or pass another "
            "`data_dir`",
            option="data_dir",
        ) from None
    return handle


def job_options(fields: dict[str, str], base: AnalyzeOptions) -> dict[str, OptionValue]:
    """Per-upload options from form fields: only `JOB_OPTION_NAMES`, parsed and validated.

    Empty fields mean "server default". Returns the overrides (validated against `base`).
    """
    overrides: dict[str, OptionValue] = {}
    for name, raw in fields.items():
        if not raw.strip():
            continue
        if name not in JOB_OPTION_NAMES:
            raise UsageError(
                f"unknown option {name!r}"
                + did_you_mean(name, JOB_OPTION_NAMES)
                + f"; per-upload options are {', '.join(JOB_OPTION_NAMES)}"
            )
        overrides[name] = parse_option(name, raw)
    AnalyzeOptions.from_mapping({**base.to_dict(), **overrides})  # raises on a broken bound
    return overrides
