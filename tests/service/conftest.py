"""Fixtures for the service tests: a running server on loopback and media to upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import media_factory as mf
import numpy as np
import pytest
from live_server import FAST_DETECTOR, TOKEN, Server

from deepfake_analyzer.paths import SAMPLE_MEDIA_DIR
from deepfake_analyzer.service.settings import TOKEN_ENV


@pytest.fixture(scope="session")
def face_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JPEG with one frontal face (scikit-image's public-domain astronaut)."""
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("service-media") / "astronaut.jpg"
    Image.fromarray(data.astronaut()).save(path, quality=90)
    return path


@pytest.fixture(scope="session")
def face_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 s, 5 fps MP4 of the astronaut drifting a few pixels: one face throughout."""
    from skimage import data

    image = data.astronaut()[:384, 64:448]
    frames = (np.roll(image, shift, axis=1) for shift in range(0, 10, 2))
    path = tmp_path_factory.mktemp("service-media") / "face.mp4"
    return mf.make_video_from_frames(path, frames, fps=5)


@pytest.fixture(scope="session")
def sample_clip(face_video: Path) -> Path:
    """The shipped sample clip, or the generated face clip when it is not there."""
    shipped = SAMPLE_MEDIA_DIR / "real_pan_zoom.mp4"
    return shipped if shipped.is_file() else face_video


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server (fake classifier, 1 MB upload limit, keep 50) shared by the session."""
    running = Server(
        tmp_path_factory.mktemp("service") / "data", "--max-upload-mb", "1", "--keep", "50"
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server (fake detector) whose token comes from the variable `serve --help` documents."""
    running = Server(
        tmp_path_factory.mktemp("token") / "data",
        "--detector-factory",
        FAST_DETECTOR,
        token=TOKEN,
        env={TOKEN_ENV: TOKEN},
    )
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()
