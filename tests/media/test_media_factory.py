"""Tests for the synthetic media factory other tests build on."""

from __future__ import annotations

from pathlib import Path

import media_factory as mf
import numpy as np
import pytest

from deepfake_analyzer.media.probe import probe_video
from deepfake_analyzer.media.types import SamplingOptions
from deepfake_analyzer.media.video import VideoSource


def test_vfr_frame_times_are_irregular() -> None:
    times = mf.vfr_frame_times(3.0, 10.0)
    assert times == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.2, 1.9, 2.1, 2.4]


def test_make_video_with_vfr_flag(media_dir: Path) -> None:
    path = mf.make_video(media_dir / "flag_vfr.mkv", (64, 48), 3.0, 10.0, vfr=True)
    frames = list(VideoSource(path, SamplingOptions(fps=None)).frames())
    got = [round(f.timestamp_s, 3) for f in frames]
    assert got == pytest.approx(mf.vfr_frame_times(3.0, 10.0), abs=1e-3)


def test_make_video_from_frames_round_trips(media_dir: Path) -> None:
    still = mf.pattern_rgb(64, 48)
    path = mf.make_video_from_frames(media_dir / "still.mp4", [still] * 5, fps=5)
    probe = probe_video(path)
    assert (probe.info.width, probe.info.height, probe.info.fps) == (64, 48, 5.0)
    frames = list(VideoSource(path, SamplingOptions(fps=None)).frames())
    assert len(frames) == 5
    assert np.abs(frames[2].image.astype(int) - still.astype(int)).mean() < 8


def test_make_video_with_audio_and_rotation(media_dir: Path) -> None:
    path = mf.make_video(media_dir / "rot_audio.mov", (96, 64), 1.0, 10, rotation_deg=270)
    probe = probe_video(path)
    assert (probe.info.width, probe.info.height, probe.info.rotation_deg) == (64, 96, 270)


def test_pattern_marks_its_top_left_corner() -> None:
    image = mf.pattern_rgb(40, 20)
    assert image.shape == (20, 40, 3) and image.dtype == np.uint8
    assert image[0, 0, 2] == 255 and image[-1, -1, 2] == 0
    assert image[0, -1, 0] == 255 and image[-1, 0, 1] == 255
