"""Hostile-input fixtures: the CLI run in-process with fakes, and small hostile media.

Every input is generated here (no fetched media). See issue 12 for the campaign they came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_fakes import run_cli

__all__ = ["run_cli"]  # the shared fixture, offered to these tests


@pytest.fixture
def face_png(tmp_path: Path) -> Path:
    """A small PNG with one bright square "face"."""
    import cv2

    image = np.full((96, 96, 3), 10, dtype=np.uint8)
    image[20:70, 20:70] = 200
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), image)
    return path
