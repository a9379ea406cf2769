"""The REST API keeps its OpenAPI contract: `Allow` on 405, documented responses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/analyses", {"GET", "POST"}),
        ("/api/v1/analyses/0123456789abcdef0123456789abcdef", {"GET", "DELETE"}),
    ],
)
def test_405_lists_every_method_of_the_path(server, path: str, methods: set[str]) -> None:
    response = server.client.request("PATCH", path)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert methods <= allowed and "PATCH" not in allowed
    assert response.json()["error"] == "method_not_allowed"


def test_every_rejection_the_upload_makes_is_documented(server) -> None:
    spec = server.client.get("/openapi.json").json()
    responses = spec["paths"]["/api/v1/analyses"]["post"]["responses"]
    assert {"202", "400", "401", "413", "415", "422", "507"} <= set(responses)


HERE = Path(__file__).resolve().parent
SCHEMATHESIS_EXAMPLES = os.environ.get("DEEPFAKE_ANALYZER_API_FUZZ_EXAMPLES", "10")
"""Cases per operation; CI runs the default, a longer campaign raises it."""


def test_api_keeps_its_openapi_contract(server, tmp_path: Path) -> None:
    """Schemathesis (the `test` extra), every check, seeded, against the real server."""
    pytest.importorskip("schemathesis")
    cli = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(cli), "--config-file", str(HERE / "schemathesis.toml"),
            "run", f"{server.url}/openapi.json", "--checks", "all",
            "--max-examples", SCHEMATHESIS_EXAMPLES, "--seed", "12",
            "--generation-deterministic",
            "--request-timeout", "30", "--no-color",
        ],
        capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
