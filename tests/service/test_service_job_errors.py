"""Failed jobs: the cause is in the server log (with the traceback for bugs), never in the body."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import Server

pytestmark = pytest.mark.slow

RAISING_DETECTOR = "service_fakes:raising"


def test_a_job_that_hits_a_bug_logs_its_traceback(tmp_path: Path, face_image: Path) -> None:
    server = Server(tmp_path / "data", "--detector-factory", RAISING_DETECTOR)
    try:
        server.wait_ready()
        job = server.upload(face_image).json()
        failed = server.wait_finished(job["id"])
        body = server.client.get(f"/api/v1/analyses/{job['id']}").text
    finally:
        server.stop()
    assert failed["status"] == "failed"
    assert "see the server log" in failed["error"]
    assert "Traceback" not in body and "exploded" not in body
    log = server.log_path.read_text(errors="replace")
    assert job["id"] in log
    assert "Traceback" in log and "RuntimeError: detector exploded on purpose" in log


def test_a_job_with_a_bad_input_logs_its_cause(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_bytes(b"\xff\xd8\xff" + b"\x00" * 64)  # a JPEG header and nothing after it
    server = Server(tmp_path / "data")
    try:
        server.wait_ready()
        job = server.upload(text).json()
        failed = server.wait_finished(job["id"])
    finally:
        server.stop()
    assert failed["status"] == "failed", failed
    log = server.log_path.read_text(errors="replace")
    lines = [line for line in log.splitlines() if job["id"] in line]
    assert lines and failed["error"] in lines[0], log


def test_too_large_image_message_names_no_cli_flag(server, tmp_path: Path) -> None:
    import media_factory as mf

    huge = mf.make_header_only_png(tmp_path / "huge.png", 40_000, 40_000)
    job = server.upload(huge).json()
    failed = server.wait_finished(job["id"])
    assert failed["status"] == "failed"
    assert "image too large" in failed["error"] and "--" not in failed["error"]


def test_a_job_over_the_memory_limit_fails_and_the_server_goes_on(
    tmp_path: Path, face_image: Path
) -> None:
    server = Server(
        tmp_path / "data", "--detector-factory", "service_fakes:memory_hog",
        "--max-job-memory-mb", "250",
    )  # fmt: skip
    try:
        server.wait_ready()
        job = server.upload(face_image).json()
        failed = server.wait_finished(job["id"], timeout_s=50)  # before the hog lets go
        assert failed["status"] == "failed" and failed["attempts"] == 1
        assert "memory limit of 250 MB" in failed["error"]
        server.wait_ready(timeout_s=30)  # a fresh worker replaced the stopped one
    finally:
        server.stop()
    assert "over the 250 MB limit" in server.log_path.read_text(errors="replace")
