"""With a token set, every API call needs it; the pages and assets stay public."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from live_server import TOKEN, Server

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/analyses"),
        ("POST", "/api/v1/analyses"),
        ("GET", "/api/v1/analyses/" + "0" * 32),
        ("GET", "/api/v1/analyses/" + "0" * 32 + "/report.html"),
        ("DELETE", "/api/v1/analyses/" + "0" * 32),
    ],
)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"X-API-Token": "x"}])
def test_api_calls_without_the_right_token_get_401(
    token_server: Server, method: str, path: str, headers: dict[str, str]
) -> None:
    response = httpx.request(method, token_server.url + path, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "unauthorized"
    assert TOKEN not in response.text


def test_the_right_token_works_in_either_header(token_server: Server, face_image: Path) -> None:
    assert token_server.client.get("/api/v1/health").status_code == 200
    other = httpx.get(token_server.url + "/api/v1/analyses", headers={"X-API-Token": TOKEN})
    assert other.status_code == 200
    job = token_server.upload(face_image).json()
    assert token_server.wait_finished(job["id"])["status"] == "done"


def test_an_upload_without_token_is_refused_and_not_stored(
    token_server: Server, face_image: Path
) -> None:
    before = token_server.client.get("/api/v1/analyses").json()["analyses"]
    response = httpx.post(
        token_server.url + "/api/v1/analyses", files={"file": face_image.read_bytes()}
    )
    assert response.status_code == 401
    assert token_server.client.get("/api/v1/analyses").json()["analyses"] == before
    assert not list((token_server.data_dir / "uploads").iterdir())


def test_pages_do_not_need_the_token(token_server: Server) -> None:
    for path in ("/", "/static/app.js", "/docs", "/openapi.json"):
        assert httpx.get(token_server.url + path).status_code == 200
