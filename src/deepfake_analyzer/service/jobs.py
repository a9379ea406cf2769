"""The job store: analyses persisted in SQLite, so queued and running jobs survive a restart."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

JobStatus = Literal["queued", "running", "done", "failed"]
JOB_STATUSES: tuple[str, ...] = ("queued", "running", "done", "failed")
FINISHED_STATUSES: tuple[str, ...] = ("done", "failed")

MAX_ATTEMPTS = 3
"""A job interrupted this many times (server restarts, worker crashes) fails instead of
being re-run again, so one poisonous file cannot keep a worker crashing forever."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_name TEXT NOT NULL,
    media_kind TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    options_json TEXT NOT NULL,
    created_utc TEXT NOT NULL,
    started_utc TEXT,
    finished_utc TEXT,
    stage TEXT NOT NULL DEFAULT '',
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    verdict TEXT,
    score REAL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status_seq ON jobs (status, seq);
"""


@dataclass(frozen=True)
class Job:
    """One analysis as stored. `filename` is the client's name, for display only."""

    id: str
    status: JobStatus
    filename: str
    media_name: str
    media_kind: str
    size_bytes: int
    options_json: str
    created_utc: str
    started_utc: str | None = None
    finished_utc: str | None = None
    stage: str = ""
    done: int = 0
    total: int = 0
    verdict: str | None = None
    score: float | None = None
    error: str | None = None
    attempts: int = 0

    def __post_init__(self) -> None:
        if self.status not in JOB_STATUSES:
            raise ValueError(f"unknown job status {self.status!r}")
        if not is_job_id(self.id):
            raise ValueError(f"malformed job id {self.id!r}")

    @property
    def options(self) -> dict[str, Any]:
        return dict(json.loads(self.options_json))

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


def new_job_id() -> str:
    """A fresh random id (32 hex digits); also the stem of the job's stored files."""
    return uuid.uuid4().hex


def is_job_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JobStore:
    """Jobs in one SQLite file (WAL mode). Thread-safe; used by one process at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create(
        self,
        job_id: str,
        *,
        filename: str,
        media_name: str,
        media_kind: str,
        size_bytes: int,
        options: dict[str, Any],
    ) -> Job:
        """Insert a queued job and return it."""
        job = Job(
            id=job_id,
            status="queued",
            filename=filename,
            media_name=media_name,
            media_kind=media_kind,
            size_bytes=size_bytes,
            options_json=json.dumps(options, sort_keys=True),
            created_utc=utc_now(),
        )
        with self._transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM jobs").fetchone()[0]
            db.execute(
                "INSERT INTO jobs (id, seq, status, filename, media_name, media_kind, size_bytes,"
                " options_json, created_utc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job.id,
                    seq,
                    job.status,
                    job.filename,
                    job.media_name,
                    job.media_kind,
                    job.size_bytes,
                    job.options_json,
                    job.created_utc,
                ),
            )
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(row) if row else None

    def list_recent(self, limit: int = 50, status: str | None = None) -> list[Job]:
        """Newest first."""
        query = "SELECT * FROM jobs"
        params: tuple[Any, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        query += " ORDER BY seq DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(query, (*params, limit)).fetchall()
        return [_job(row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        counts = dict.fromkeys(JOB_STATUSES, 0)
        counts.update({row[0]: row[1] for row in rows})
        return counts

    def claim_next(self) -> Job | None:
        """Mark the oldest queued job running (one more attempt) and return it."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE jobs SET status = 'running', started_utc = ?, attempts = attempts + 1,"
                " stage = 'starting', done = 0, total = 0 WHERE id = ?",
                (utc_now(), row[0]),
            )
            new = db.execute("SELECT * FROM jobs WHERE id = ?", (row[0],)).fetchone()
        return _job(new)

    def progress(self, job_id: str, stage: str, done: int, total: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE jobs SET stage = ?, done = ?, total = ?"
                " WHERE id = ? AND status = 'running'",
                (stage, done, total, job_id),
            )

    def finish(self, job_id: str, verdict: str, score: float | None) -> bool:
        """Mark a running job done; False when it no longer exists (deleted meanwhile)."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'done', finished_utc = ?, verdict = ?, score = ?,"
                " stage = 'done', error = NULL WHERE id = ?",
                (utc_now(), verdict, score, job_id),
            )
        return cursor.rowcount > 0

    def fail(self, job_id: str, message: str) -> bool:
        """Mark a job failed with a message for the user; False when it no longer exists."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE jobs SET status = 'failed', finished_utc = ?, error = ?, stage = 'failed'"
                " WHERE id = ?",
                (utc_now(), message, job_id),
            )
        return cursor.rowcount > 0

    def interrupted(self, job_id: str, reason: str) -> Job | None:
        """A running job lost its worker: queue it again, or fail it after `MAX_ATTEMPTS`."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["status"] != "running":
                return None
            _requeue_or_fail(db, row, reason)
            new = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job(new)

    def recover(self) -> list[str]:
        """At start-up: jobs left running by a stopped server are queued again (or failed)."""
        with self._transaction() as db:
            rows = db.execute("SELECT * FROM jobs WHERE status = 'running'").fetchall()
            for row in rows:
                _requeue_or_fail(db, row, "the server stopped during the analysis")
        return [row["id"] for row in rows]

    def delete(self, job_id: str) -> Job | None:
        """Remove a job's row; returns the removed job (its files are the caller's to remove)."""
        with self._transaction() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is not None:
                db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return _job(row) if row else None

    def prune(self, keep: int) -> list[Job]:
        """Delete finished jobs beyond the newest `keep`; returns them (to remove their files)."""
        with self._transaction() as db:
            rows = db.execute(
                "SELECT * FROM jobs WHERE status IN ('done', 'failed') ORDER BY seq DESC"
                " LIMIT -1 OFFSET ?",
                (keep,),
            ).fetchall()
            for row in rows:
                db.execute("DELETE FROM jobs WHERE id = ?", (row["id"],))
        return [_job(row) for row in rows]


def _requeue_or_fail(db: sqlite3.Connection, row: sqlite3.Row, reason: str) -> None:
    if row["attempts"] >= MAX_ATTEMPTS:
        db.execute(
            "UPDATE jobs SET status = 'failed', finished_utc = ?, stage = 'failed', error = ?"
            " WHERE id = ?",
            (
                utc_now(),
                f"the analysis was interrupted {row['attempts']} times ({reason}); "
                "check the server log, or upload the file again",
                row["id"],
            ),
        )
    else:
        db.execute(
            "UPDATE jobs SET status = 'queued', stage = '', done = 0, total = 0 WHERE id = ?",
            (row["id"],),
        )


def _job(row: sqlite3.Row) -> Job:
    data = dict(row)
    data.pop("seq", None)
    return Job(**data)
