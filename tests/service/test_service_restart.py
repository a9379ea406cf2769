"""Jobs survive a SIGKILLed server (the running one is re-run); workers end with the server."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from live_server import (
    COUNTING_CLASSIFIER,
    CRASHING_DETECTOR,
    FAST_DETECTOR,
    SLOW_DETECTOR,
    Server,
    wait_gone,
)
from live_server import (
    FAKE_CLASSIFIER as FAKE,
)
from service_fakes import LOAD_LOG_ENV

from deepfake_analyzer.service.jobs import MAX_ATTEMPTS

pytestmark = pytest.mark.slow


def _statuses(data_dir: Path) -> dict[str, str]:
    with sqlite3.connect(data_dir / "jobs.sqlite3") as db:
        return dict(db.execute("SELECT id, status FROM jobs").fetchall())


def test_restart_after_sigkill_loses_no_job(tmp_path: Path, face_video: Path) -> None:
    data_dir = tmp_path / "data"
    first = Server(data_dir, "--detector-factory", SLOW_DETECTOR)
    try:
        first.wait_ready()
        workers = first.children()
        running = first.upload(face_video).json()["id"]  # 5 frames x 0.4 s in the worker
        queued = first.upload(face_video).json()["id"]
        deadline = time.monotonic() + 20
        while first.client.get(f"/api/v1/analyses/{running}").json()["status"] != "running":
            assert time.monotonic() < deadline, first.log()
            time.sleep(0.05)
        not_ready = first.client.get(f"/api/v1/analyses/{queued}/report.html")
        assert not_ready.status_code == 409
        assert "poll it until status is done" in not_ready.json()["message"]
    finally:
        first.kill()
    assert _statuses(data_dir) == {running: "running", queued: "queued"}
    assert wait_gone(workers), "a worker outlived its SIGKILLed server"
    orphans = [data_dir / "uploads" / f"{'a' * 32}.mp4", data_dir / "uploads" / f"{'b' * 32}.part"]
    for orphan in orphans:  # uploads cut off by the kill, before their job was stored
        orphan.write_bytes(b"x")
    (data_dir / "jobs" / ("c" * 32)).mkdir()

    loads = tmp_path / "loads.txt"
    second = Server(
        data_dir,
        "--detector-factory",
        FAST_DETECTOR,
        "--classifier-factory",
        COUNTING_CLASSIFIER,
        fake_classifier=False,
        env={LOAD_LOG_ENV: str(loads)},
    )
    try:
        second.wait_ready()
        workers = second.children()
        assert not any(orphan.exists() for orphan in orphans)
        assert not (data_dir / "jobs" / ("c" * 32)).exists()
        rerun = second.wait_finished(running)
        assert rerun["status"] == "done", rerun
        assert rerun["attempts"] == 2
        later = second.wait_finished(queued)
        assert later["status"] == "done", later
        assert later["attempts"] == 1
        assert not list((data_dir / "uploads").iterdir())
        assert len(loads.read_text().split()) == 1, "the model was loaded more than once"
    finally:
        second.stop()
    assert second.process.returncode in (0, -15), second.log()  # uvicorn re-raises SIGTERM
    assert "Traceback" not in second.log()
    assert wait_gone(workers, timeout_s=5), "a worker outlived a graceful stop"


def test_a_job_that_kills_its_worker_fails_after_retries(tmp_path: Path, face_image: Path) -> None:
    server = Server(tmp_path / "data", "--detector-factory", CRASHING_DETECTOR)
    try:
        server.wait_ready()
        job = server.upload(face_image).json()
        failed = server.wait_finished(job["id"], timeout_s=90)
        assert failed["status"] == "failed"
        assert failed["attempts"] == MAX_ATTEMPTS
        assert f"interrupted {MAX_ATTEMPTS} times" in failed["error"]
        assert "exit code 70" in failed["error"]
        server.wait_ready(timeout_s=30)  # a fresh worker replaced the dead one
    finally:
        server.stop()


def _wait_health_error(server: Server) -> dict:
    deadline = time.monotonic() + 60
    while True:
        try:
            health = server.client.get("/api/v1/health").json()
            if health["status"] == "error":
                return health
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.2)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (
            ["--detector-factory", FAST_DETECTOR, "--classifier-factory", "no_such_module:make"],
            "cannot load factory 'no_such_module:make'",
        ),
        (
            ["--detector-factory", "service_fakes:dying_on_load", "--classifier-factory", FAKE],
            "a worker died 3 times while loading them (exit code 71)",
        ),
    ],
    ids=["import-error", "crash"],
)
def test_workers_that_cannot_load_the_model_fail_jobs_with_the_reason(
    tmp_path: Path, face_image: Path, args: list[str], reason: str
) -> None:
    server = Server(tmp_path / "data", *args, fake_classifier=False)
    try:
        health = _wait_health_error(server)
        assert reason in health["message"]
        failed = server.wait_finished(server.upload(face_image).json()["id"])
        assert failed["status"] == "failed"
        assert failed["error"].startswith("the server cannot load its models")
        assert reason in failed["error"]
    finally:
        server.stop()
