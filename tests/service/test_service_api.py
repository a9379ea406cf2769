"""The REST API against a real server on loopback (fake classifier, real face detector)."""

from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path

import httpx
import pytest
from live_server import Server

from deepfake_analyzer.report.types import VERDICT_LABELS

pytestmark = pytest.mark.slow


def test_health_says_a_worker_is_ready(server: Server) -> None:
    body = server.client.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["workers_ready"] == 1
    assert set(body["jobs"]) == {"queued", "running", "done", "failed"}


def test_upload_poll_fetch_reports_and_delete(server: Server, face_image: Path) -> None:
    response = server.upload(face_image)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/api/v1/analyses/{job['id']}"
    assert job["status"] in ("queued", "running")
    assert job["kind"] == "image"

    done = server.wait_finished(job["id"])
    assert done["status"] == "done", done
    assert done["verdict"]["label"] in VERDICT_LABELS
    assert done["verdict"]["label"] != "no-face"  # the detector found the astronaut
    report = done["report"]
    assert report["verdict"] == done["verdict"]
    assert report["input"]["path"] == "astronaut.jpg"  # the client's name, not the stored one
    assert report["tracks"], "one person should be tracked"

    html = server.client.get(done["links"]["report_html"])
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "sandbox" in html.headers["content-security-policy"]  # inert even opened directly
    assert html.headers["x-content-type-options"] == "nosniff"
    assert "<html" in html.text.lower()
    csv_response = server.client.get(done["links"]["report_csv"])
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(csv_response.text)))
    as_json = server.client.get(done["links"]["report_json"]).json()
    assert as_json["verdict"] == done["verdict"]

    job_dir = server.data_dir / "jobs" / job["id"]
    assert sorted(p.name for p in job_dir.iterdir()) == [
        "report.csv",
        "report.html",
        "report.json",
    ]
    assert not list((server.data_dir / "uploads").glob(f"{job['id']}*")), "upload kept"

    assert server.client.delete(f"/api/v1/analyses/{job['id']}").status_code == 204
    gone = server.client.get(f"/api/v1/analyses/{job['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"
    assert not job_dir.exists()
    assert server.client.get(done["links"]["report_html"]).status_code == 404
    assert server.client.delete(f"/api/v1/analyses/{job['id']}").status_code == 404


def test_video_with_options_runs_with_them(server: Server, face_video: Path) -> None:
    job = server.upload(face_video, fps="2", max_frames="3").json()
    assert job["options"] == {"fps": 2.0, "max_frames": 3}
    done = server.wait_finished(job["id"])
    assert done["status"] == "done", done
    assert done["kind"] == "video"
    assert done["report"]["options"]["fps"] == 2.0
    assert len(done["report"]["frames"]) <= 3


def test_video_without_faces_is_a_result_not_an_error(server: Server, short_video: Path) -> None:
    done = server.wait_finished(server.upload(short_video).json()["id"])
    assert done["status"] == "done"
    assert done["verdict"]["label"] == "no-face"


def test_text_named_like_a_video_gets_415(server: Server, text_as_video: Path) -> None:
    response = server.upload(text_as_video, name="clip.mp4")
    assert response.status_code == 415
    body = response.json()
    assert body["error"] == "unsupported_media"
    assert "MP4" in body["message"]
    assert not list((server.data_dir / "uploads").iterdir())


def test_upload_past_the_limit_gets_413(server: Server, tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\xff\xd8\xff\xe0" + bytes(1024 * 1024 + 10))  # 1 MB limit in the fixture
    response = server.upload(big)
    assert response.status_code == 413
    assert "1 MB" in response.json()["message"]
    assert not list((server.data_dir / "uploads").iterdir()), "partial upload left behind"


def test_declared_size_past_the_limit_is_refused_before_reading(server: Server) -> None:
    request = (
        "POST /api/v1/analyses HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=abc\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\n\r\n--abc\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request.encode())
        status_line = sock.makefile("rb").readline()  # answered without the 50 MB body
    assert status_line.split()[1] == b"413"


def test_chunked_upload_past_the_limit_gets_413(server: Server) -> None:
    boundary = "b0undary"

    def body():  # no Content-Length: the limit is enforced while streaming
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode() + b"\x89PNG\r\n\x1a\n"
        for _ in range(20):
            yield bytes(64 * 1024)

    try:
        response = server.client.post(
            "/api/v1/analyses",
            content=body(),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
    except httpx.TransportError:  # the server may close before the client finishes sending
        response = None
    if response is not None:
        assert response.status_code == 413
    assert not list((server.data_dir / "uploads").iterdir())


def test_bad_requests_get_json_errors(server: Server, face_image: Path) -> None:
    not_multipart = server.client.post("/api/v1/analyses", json={"file": "x"})
    assert not_multipart.status_code == 400
    assert "multipart" in not_multipart.json()["message"]

    no_file = server.client.post("/api/v1/analyses", files={"other": ("a.txt", b"x")})
    assert no_file.status_code == 400

    bad_value = server.upload(face_image, fps="fast")
    assert bad_value.status_code == 422
    assert bad_value.json()["message"] == "fps must be a float, not 'fast'"

    out_of_range = server.upload(face_image, fps="1000")
    assert out_of_range.status_code == 422
    assert "between" in out_of_range.json()["message"]

    unknown = server.upload(face_image, fpz="2")
    assert unknown.status_code == 422
    assert "did you mean 'fps'" in unknown.json()["message"]

    server_side = server.upload(face_image, model_path="/etc/passwd")
    assert server_side.status_code == 422

    for path in ("/api/v1/analyses/not-an-id", "/api/v1/analyses/" + "0" * 32, "/api/v1/nope"):
        missing = server.client.get(path)
        assert missing.status_code == 404
        assert set(missing.json()) == {"error", "message"}
    assert server.client.get("/api/v1/analyses?limit=0").status_code == 422
    assert not list((server.data_dir / "uploads").iterdir())
    assert "Traceback" not in server.client.get("/api/v1/analyses?limit=x").text


def test_stored_name_is_generated_never_the_clients(server: Server, face_image: Path) -> None:
    job = server.upload(face_image, name="../../escape/evil name.jpg").json()
    assert job["filename"] == "evil name.jpg"
    stored = list((server.data_dir / "uploads").iterdir()) + list(
        (server.data_dir / "jobs").iterdir()
    )
    assert all(job["id"] in p.name or p.name != "evil name.jpg" for p in stored)
    assert not (server.data_dir.parent / "escape").exists()
    done = server.wait_finished(job["id"])
    assert done["report"]["input"]["path"] == "evil name.jpg"


def test_list_is_newest_first(server: Server, face_image: Path) -> None:
    first = server.upload(face_image, name="first.jpg").json()["id"]
    second = server.upload(face_image, name="second.jpg").json()["id"]
    listed = server.client.get("/api/v1/analyses", params={"limit": 2}).json()["analyses"]
    assert [job["id"] for job in listed] == [second, first]
    assert all(job["report"] is None for job in listed)
    server.wait_finished(second)


def test_openapi_and_docs_are_served_locally(server: Server) -> None:
    schema = server.client.get("/openapi.json").json()
    for path in (
        "/api/v1/analyses",
        "/api/v1/analyses/{analysis_id}",
        "/api/v1/analyses/{analysis_id}/report.html",
        "/api/v1/analyses/{analysis_id}/report.csv",
        "/api/v1/health",
    ):
        assert path in schema["paths"]
    assert "multipart/form-data" in json.dumps(schema["paths"]["/api/v1/analyses"]["post"])
    docs = server.client.get("/docs")
    assert docs.status_code == 200
    assert "/api/v1/analyses/{analysis_id}/report.csv" in docs.text
    assert "cdn" not in docs.text.lower()


def test_pages_and_assets_are_local(server: Server) -> None:
    index = server.client.get("/")
    assert index.status_code == 200
    assert "default-src 'self'" in index.headers["content-security-policy"]
    assert 'id="dropzone"' in index.text
    assert "http://" not in index.text and "https://" not in index.text
    assert server.client.get("/analyses/" + "0" * 32).status_code == 200
    for asset in ("/static/app.js", "/static/app.css"):
        response = server.client.get(asset)
        assert response.status_code == 200
        assert "https://" not in response.text
