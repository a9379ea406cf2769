"""The hostile inputs of issue 12, uploaded to a real server on loopback: every one gets a
clear status or a failed job with a one-line reason, never a traceback, and the server goes
on serving."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import media_factory as mf
import pytest
from live_server import Server

pytestmark = pytest.mark.slow


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text and "\n" not in text


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [
        ("empty.png", lambda p: mf.make_zero_byte_file(p), 400),
        ("notes.mp4", lambda p: mf.make_text_file(p), 415),
        ("song.mp4", lambda p: mf.make_audio_only(p.with_suffix(".mp3")), 415),
    ],
)
def test_refused_uploads_get_a_status_and_one_line(
    server: Server, tmp_path: Path, name: str, make, status: int
) -> None:
    path = make(tmp_path / name)
    response = server.upload(path, name=name)
    assert response.status_code == status, response.text
    _no_traceback(response.json()["message"])


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: mf.make_header_only_png(p, 40_000, 40_000), "image too large"),
        (lambda p: mf.make_header_only_png(p, 1, 100_000_000), "too narrow"),
        (lambda p: mf.make_undecodable_video(p.with_suffix(".mp4")), "no decodable video frames"),
    ],
)
def test_hostile_media_fail_their_job_with_one_line(
    server: Server, tmp_path: Path, make, fragment: str
) -> None:
    path = make(tmp_path / "hostile.png")
    job = server.upload(path).json()
    failed = server.wait_finished(job["id"])
    assert failed["status"] == "failed" and fragment in failed["error"]
    _no_traceback(failed["error"])
    assert server.client.get("/api/v1/health").json()["status"] == "ok"


def test_formula_name_and_long_name_are_safe_in_reports(server: Server, face_image: Path) -> None:
    for name in ("=1+2.jpg", "L" * 300 + ".jpg"):
        job = server.upload(face_image, name=name).json()
        done = server.wait_finished(job["id"])
        assert done["status"] == "done", done
        text = server.client.get(f"/api/v1/analyses/{job['id']}/report.csv").text
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) > 1 and not rows[1][0].startswith(("=", "+", "-", "@"))


def test_truncated_video_reports_what_was_lost(server: Server, tmp_path: Path) -> None:
    clip = mf.make_truncated_video(tmp_path / "cut.mp4")
    done = server.wait_finished(server.upload(clip).json()["id"])
    assert done["status"] == "done", done
    assert done["report"]["errors"]
