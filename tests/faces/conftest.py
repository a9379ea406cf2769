"""Fixtures for the faces tests: synthetic images, the astronaut still, and real models."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np
import pytest

ASTRONAUT_FACE_BOX = (177.0, 82.0, 272.0, 177.0)
"""BlazeFace short range's box for the face in skimage's 512x512 astronaut (checked by eye)."""


@pytest.fixture(scope="session")
def astronaut_face_box() -> tuple[float, float, float, float]:
    return ASTRONAUT_FACE_BOX


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture()
def flat_grey_image() -> np.ndarray:
    return np.full((480, 640, 3), 128, dtype=np.uint8)


@pytest.fixture(scope="session")
def small_face_image(astronaut_rgb: np.ndarray) -> tuple[np.ndarray, tuple[float, ...]]:
    """A 640x480 grey canvas with the astronaut shrunk to 256 px: a ~48 px face.

    Returns the image and the expected face box (the astronaut box, scaled and moved).
    """
    size, x, y = 256, 240, 80
    canvas = np.full((480, 640, 3), 128, dtype=np.uint8)
    canvas[y : y + size, x : x + size] = cv2.resize(
        astronaut_rgb, (size, size), interpolation=cv2.INTER_AREA
    )
    s = size / 512
    x0, y0, x1, y1 = ASTRONAUT_FACE_BOX
    return canvas, (x + x0 * s, y + y0 * s, x + x1 * s, y + y1 * s)


@pytest.fixture(scope="module")
def short_detector() -> Iterator[object]:
    from deepfake_analyzer.faces.detector import create_detector

    with create_detector("short", min_confidence=0.5, min_face_px=20) as detector:
        yield detector


@pytest.fixture(scope="module")
def full_detector() -> Iterator[object]:
    from deepfake_analyzer.faces.detector import create_detector

    with create_detector("full", min_confidence=0.5, min_face_px=20) as detector:
        yield detector


@pytest.fixture(scope="module")
def auto_detector() -> Iterator[object]:
    from deepfake_analyzer.faces.detector import create_detector

    with create_detector("auto", min_confidence=0.5, min_face_px=20) as detector:
        yield detector
