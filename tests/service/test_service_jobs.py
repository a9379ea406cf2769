"""The SQLite job store: states, recovery after a stop, retention, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_analyzer.service.jobs import MAX_ATTEMPTS, JobStore, is_job_id, new_job_id


def _add(store: JobStore, name: str = "clip.mp4", **options: object) -> str:
    job_id = new_job_id()
    store.create(
        job_id,
        filename=name,
        media_name=f"{job_id}.mp4",
        media_kind="video",
        size_bytes=10,
        options=dict(options),
    )
    return job_id


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "jobs.sqlite3")


def test_a_job_goes_queued_running_done(store: JobStore) -> None:
    job_id = _add(store, fps=2.0)
    assert store.get(job_id).status == "queued"
    assert store.get(job_id).options == {"fps": 2.0}
    claimed = store.claim_next()
    assert (claimed.id, claimed.status, claimed.attempts) == (job_id, "running", 1)
    assert store.claim_next() is None
    store.progress(job_id, "decode", 3, 10)
    job = store.get(job_id)
    assert (job.stage, job.done, job.total) == ("decode", 3, 10)
    assert store.finish(job_id, "real", 0.12)
    job = store.get(job_id)
    assert (job.status, job.verdict, job.score, job.finished) == ("done", "real", 0.12, True)


def test_jobs_are_claimed_oldest_first(store: JobStore) -> None:
    ids = [_add(store) for _ in range(3)]
    assert [store.claim_next().id for _ in range(3)] == ids
    assert [job.id for job in store.list_recent(10)] == ids[::-1]


def test_failing_and_finishing_a_deleted_job_report_false(store: JobStore) -> None:
    job_id = _add(store)
    store.claim_next()
    assert store.delete(job_id).id == job_id
    assert store.delete(job_id) is None
    assert not store.finish(job_id, "real", 0.1)
    assert not store.fail(job_id, "boom")


def test_recover_requeues_running_jobs_until_max_attempts(store: JobStore) -> None:
    job_id = _add(store)
    for attempt in range(1, MAX_ATTEMPTS):
        assert store.claim_next().attempts == attempt
        assert store.recover() == [job_id]
        assert store.get(job_id).status == "queued"
    store.claim_next()
    store.recover()
    job = store.get(job_id)
    assert job.status == "failed"
    assert f"interrupted {MAX_ATTEMPTS} times" in job.error


def test_interrupted_requeues_a_job_whose_worker_died(store: JobStore) -> None:
    job_id = _add(store)
    store.claim_next()
    assert store.interrupted(job_id, "worker died").status == "queued"
    assert store.interrupted(job_id, "worker died") is None  # not running any more


def test_prune_keeps_the_newest_finished_jobs_only(store: JobStore) -> None:
    finished = []
    for _ in range(4):
        job_id = _add(store)
        store.claim_next()
        store.finish(job_id, "real", 0.1)
        finished.append(job_id)
    waiting = _add(store)
    removed = store.prune(keep=2)
    assert sorted(job.id for job in removed) == sorted(finished[:2])
    assert {job.id for job in store.list_recent(10)} == {*finished[2:], waiting}
    assert store.counts() == {"queued": 1, "running": 0, "done": 2, "failed": 0}


def test_jobs_persist_across_reopening(tmp_path: Path) -> None:
    first = JobStore(tmp_path / "jobs.sqlite3")
    job_id = _add(first, "persist.mp4")
    first.claim_next()
    first.close()
    second = JobStore(tmp_path / "jobs.sqlite3")
    assert second.get(job_id).status == "running"
    assert second.recover() == [job_id]
    assert second.get(job_id).filename == "persist.mp4"


def test_job_ids_are_random_hex() -> None:
    ids = {new_job_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(is_job_id(i) for i in ids)
    assert not is_job_id("../" + "0" * 29)
