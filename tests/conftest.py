"""Shared fixtures: synthetic media generated once per test session (see media_factory.py).

Fixtures are named for the property of the media they return. Generated files live in one
session-scoped temporary folder; tests must not modify them (copy first if needed).
"""

from __future__ import annotations

from pathlib import Path

import media_factory as mf
import pytest
from media_factory import VFR_TIMES_S

# --- videos -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session-wide folder for generated media."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def short_video(media_dir: Path) -> Path:
    """H.264 MP4, 160x96, 2 s at 25 fps (50 frames), with an AAC audio track."""
    return mf.make_video(media_dir / "short.mp4", (160, 96), 2.0, 25, with_audio=True)


@pytest.fixture(scope="session")
def three_second_video(media_dir: Path) -> Path:
    """H.264 MP4, 96x64, 3 s at 25 fps (75 frames), keyframe every 10 s (libx264 default)."""
    return mf.make_video(media_dir / "three_s.mp4", (96, 64), 3.0, 25)


@pytest.fixture(scope="session")
def rotated_video(media_dir: Path) -> Path:
    """160x96 stored, displayed rotated 90 degrees clockwise (96x160), 1 s at 25 fps."""
    return mf.make_video(media_dir / "rotated.mp4", (160, 96), 1.0, 25, rotation_deg=90)


@pytest.fixture(scope="session")
def vfr_video(media_dir: Path) -> Path:
    """Variable frame rate H.264 MP4, 96x64, with frames exactly at `VFR_TIMES_S`."""
    return mf.make_vfr_video(media_dir / "vfr.mp4", VFR_TIMES_S, (96, 64))


@pytest.fixture(scope="session")
def truncated_video(media_dir: Path) -> Path:
    """A 3 s, 25 fps MP4 cut to half its bytes: roughly the first 1.2 s decodes."""
    return mf.make_truncated_video(media_dir / "truncated.mp4", keep_fraction=0.5)


@pytest.fixture(scope="session")
def undecodable_video(media_dir: Path) -> Path:
    """An MP4 with an intact index but no frame data: no frame decodes."""
    return mf.make_undecodable_video(media_dir / "undecodable.mp4")


@pytest.fixture(scope="session")
def audio_only_file(media_dir: Path) -> Path:
    """An .mp4 holding only an AAC sine tone (no video stream)."""
    return mf.make_audio_only(media_dir / "audio_only.mp4")


@pytest.fixture(scope="session")
def zero_byte_video(media_dir: Path) -> Path:
    """An empty file named .mp4."""
    return mf.make_zero_byte_file(media_dir / "empty.mp4")


@pytest.fixture(scope="session")
def text_as_video(media_dir: Path) -> Path:
    """A plain-text file named .mp4."""
    return mf.make_text_file(media_dir / "notes.mp4", "meeting notes, not a video\n" * 5)


# --- images -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def exif_rotated_jpeg(media_dir: Path) -> Path:
    """64x48 pixels stored, EXIF orientation 6: displayed 48x64 (rotated 90 degrees clockwise)."""
    return mf.make_image(media_dir / "exif6.jpg", (64, 48), "RGB", exif_orientation=6)


@pytest.fixture(scope="session")
def grayscale_png(media_dir: Path) -> Path:
    """8-bit grayscale (mode L) PNG, 64x48."""
    return mf.make_image(media_dir / "gray.png", (64, 48), "L")


@pytest.fixture(scope="session")
def alpha_png(media_dir: Path) -> Path:
    """RGBA PNG, 64x48, whose left half is fully transparent."""
    return mf.make_image(media_dir / "alpha.png", (64, 48), "RGBA")


@pytest.fixture(scope="session")
def sixteen_bit_png(media_dir: Path) -> Path:
    """16-bit grayscale (mode I;16) PNG, 64x48."""
    return mf.make_image(media_dir / "gray16.png", (64, 48), "I;16")


@pytest.fixture(scope="session")
def cmyk_jpeg(media_dir: Path) -> Path:
    """CMYK JPEG, 64x48."""
    return mf.make_image(media_dir / "cmyk.jpg", (64, 48), "CMYK")


@pytest.fixture(scope="session")
def huge_header_png(media_dir: Path) -> Path:
    """A PNG claiming 40000x40000 pixels (1.6 gigapixels) that holds no pixel data."""
    return mf.make_header_only_png(media_dir / "huge.png", 40_000, 40_000)
