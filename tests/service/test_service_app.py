"""The app in-process (no lifespan, so no workers): unexpected errors become JSON only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from deepfake_analyzer.service.app import create_app
from deepfake_analyzer.service.settings import ServiceSettings


def _request(app: object, method: str, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return asyncio.run(send())


def test_an_unexpected_error_is_a_json_500_without_traceback(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(data_dir=tmp_path / "data"))

    def broken(*args: object) -> None:
        raise RuntimeError("secret internal detail at /srv/data")

    app.state.service.list_recent = broken
    response = _request(app, "GET", "/api/v1/analyses")
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "internal server error; the server log has the details",
    }
    assert "secret" not in response.text
    app.state.service.close()


def test_method_not_allowed_is_json(tmp_path: Path) -> None:
    app = create_app(ServiceSettings(data_dir=tmp_path / "data"))
    response = _request(app, "PUT", "/api/v1/analyses")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    app.state.service.close()


def test_the_upload_form_takes_the_bounds_of_the_options(tmp_path: Path) -> None:
    from deepfake_analyzer.options import option_specs

    app = create_app(ServiceSettings(data_dir=tmp_path / "data"))
    page = _request(app, "GET", "/").text
    for name in ("fps", "max_frames"):
        low, high = option_specs()[name].bounds or ()
        assert f'name="{name}"' in page
        assert f'min="{low:g}" max="{high:g}"' in page
    assert "$" not in page
    job = _request(app, "GET", "/analyses/" + "0" * 32).text
    assert '<body data-page="job">' in job and "$" not in job
    app.state.service.close()
