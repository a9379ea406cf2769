"""The REST API keeps its OpenAPI contract: `Allow` on 405, documented responses."""

from __future__ import annotations

import pytest


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
