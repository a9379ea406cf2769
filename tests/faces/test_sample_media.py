"""The committed sample media: present, small, and the clips have the promised format."""

from __future__ import annotations

import re
import subprocess

import pytest

from deepfake_analyzer.paths import SAMPLE_MEDIA_DIR

CLIPS = ("real_pan_zoom.mp4", "manipulated_pan_zoom.mp4")


@pytest.mark.parametrize("name", ["astronaut.jpg", *CLIPS])
def test_sample_files_exist_and_are_small(name: str) -> None:
    path = SAMPLE_MEDIA_DIR / name
    assert path.is_file()
    assert 10_000 < path.stat().st_size < 2_000_000


def test_readme_says_where_the_media_comes_from() -> None:
    text = (SAMPLE_MEDIA_DIR / "README.md").read_text()
    assert "make_sample_media.py" in text and "public domain" in text


@pytest.mark.parametrize("name", CLIPS)
def test_clips_are_six_second_h264_yuv420p_at_25_fps(name: str) -> None:
    import imageio_ffmpeg

    header = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(SAMPLE_MEDIA_DIR / name)],
        capture_output=True,
        text=True,
    ).stderr
    assert re.search(r"Duration: 00:00:0(5\.9|6\.0)", header), header
    video = next(line for line in header.splitlines() if "Video:" in line)
    assert "h264" in video and "yuv420p" in video and "640x480" in video and "25 fps" in video
    assert "Audio:" not in header
