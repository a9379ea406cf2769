"""End to end in a real headless Chromium (Debian's package, driven by Playwright)."""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import TOKEN, Server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VERDICT_TIMEOUT_MS = 120_000

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
    ),
    pytest.mark.skipif(
        sync_playwright is None, reason="needs the playwright package (pip install playwright)"
    ),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    """A page in a fresh headless Chromium profile (the system browser, never a download)."""
    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=BROWSER_FLAGS
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def _expected_label(path: Path) -> str:
    """The verdict the library (the CLI's call) gives with the same fake classifier."""
    from deepfake_analyzer.models.fake_classifier import FakeClassifier
    from deepfake_analyzer.pipeline import analyze

    return analyze(path, classifier=FakeClassifier()).verdict.label


def test_pick_a_file_and_see_the_verdict(
    server: Server, browser_page: Any, sample_clip: Path
) -> None:
    page = browser_page
    page.goto(server.url + "/")
    page.set_input_files("#file", str(sample_clip))
    page.wait_for_url("**/analyses/*", timeout=30_000)
    verdict = page.wait_for_selector("#verdict:not([hidden])", timeout=VERDICT_TIMEOUT_MS)
    label = verdict.get_attribute("data-label")
    assert label == _expected_label(sample_clip)
    assert label in verdict.inner_text().lower()

    job_id = page.url.rsplit("/", 1)[1]
    api = server.client.get(f"/api/v1/analyses/{job_id}").json()
    assert api["verdict"]["label"] == label
    assert page.get_attribute("#link-csv", "href") == api["links"]["report_csv"]
    assert page.get_attribute("#link-json", "href") == api["links"]["report_json"]

    report = page.frame_locator("#report").locator("body")
    report.wait_for(timeout=30_000)
    assert sample_clip.name in report.inner_text()  # the CLI's HTML report, in the page

    page.goto(server.url + "/")
    row = page.wait_for_selector(f"#recent a[href='/analyses/{job_id}']", timeout=10_000)
    assert row.inner_text() == sample_clip.name


def test_drop_a_file_on_the_page(server: Server, browser_page: Any, face_image: Path) -> None:
    page = browser_page
    page.goto(server.url + "/")
    page.evaluate(
        """([name, data]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
            const zone = document.getElementById("dropzone");
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: transfer }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer }));
        }""",
        ["dropped.jpg", base64.b64encode(face_image.read_bytes()).decode()],
    )
    page.wait_for_url("**/analyses/*", timeout=30_000)
    verdict = page.wait_for_selector("#verdict:not([hidden])", timeout=VERDICT_TIMEOUT_MS)
    assert verdict.get_attribute("data-label") in ("real", "suspicious", "fake")
    assert page.inner_text("#filename") == "dropped.jpg"


def test_a_non_media_file_shows_the_servers_message(
    server: Server, browser_page: Any, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video\n" * 10)
    page = browser_page
    page.goto(server.url + "/")
    page.set_input_files("#file", str(notes))
    error = page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "not a video or image" in error.inner_text()
    assert page.url == server.url + "/"


def test_with_a_token_the_page_asks_for_it_once(
    token_server: Server, browser_page: Any, face_image: Path
) -> None:
    page = browser_page
    page.goto(token_server.url + "/")
    page.wait_for_selector("#token-form:not([hidden])", timeout=10_000)
    page.fill("#token", TOKEN)
    page.click("#token-form button")
    page.wait_for_selector("#token-form", state="hidden")
    page.set_input_files("#file", str(face_image))
    page.wait_for_url("**/analyses/*", timeout=30_000)
    page.wait_for_selector("#verdict:not([hidden])", timeout=VERDICT_TIMEOUT_MS)
    report = page.frame_locator("#report").locator("body")
    report.wait_for(timeout=30_000)  # fetched with the token, shown from a blob
    assert face_image.name in report.inner_text()
