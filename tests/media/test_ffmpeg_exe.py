"""Tests for locating ffmpeg/ffprobe and choosing version-dependent options."""

from __future__ import annotations

import subprocess

import pytest

from deepfake_analyzer.media import ffmpeg_exe as fx


def test_ffmpeg_exe_runs() -> None:
    out = subprocess.run([fx.ffmpeg_exe(), "-version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("ffmpeg version")


def test_system_ffmpeg_on_path_is_preferred(monkeypatch: pytest.MonkeyPatch) -> None:
    fx.ffmpeg_exe.cache_clear()
    monkeypatch.setattr(fx.shutil, "which", lambda name: f"/opt/bin/{name}")
    try:
        assert fx.ffmpeg_exe() == "/opt/bin/ffmpeg"
    finally:
        fx.ffmpeg_exe.cache_clear()


def test_bundled_ffmpeg_used_when_none_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    fx.ffmpeg_exe.cache_clear()
    monkeypatch.setattr(fx.shutil, "which", lambda name: None)
    try:
        assert fx.ffmpeg_exe() == imageio_ffmpeg.get_ffmpeg_exe()
    finally:
        fx.ffmpeg_exe.cache_clear()


def test_ffprobe_is_optional(monkeypatch: pytest.MonkeyPatch) -> None:
    fx.ffprobe_exe.cache_clear()
    monkeypatch.setattr(fx.shutil, "which", lambda name: None)
    try:
        assert fx.ffprobe_exe() is None
    finally:
        fx.ffprobe_exe.cache_clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ffmpeg version n9.0.2-17-g2a571b6068-20260930 Copyright", (9, 0)),
        ("ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021", (4, 4)),
        ("ffmpeg version 6.1.1 Copyright", (6, 1)),
        ("ffmpeg version N-113245-gabcdef Copyright", None),
    ],
)
def test_parse_ffmpeg_version(text: str, expected: tuple[int, int] | None) -> None:
    assert fx.parse_ffmpeg_version(text) == expected


@pytest.mark.parametrize(
    ("version", "args", "checksum"),
    [
        ((4, 4), ["-vsync", "passthrough"], False),
        ((5, 1), ["-fps_mode", "passthrough"], False),
        ((9, 0), ["-fps_mode", "passthrough"], True),
        (None, ["-fps_mode", "passthrough"], True),
    ],
)
def test_version_dependent_options(
    monkeypatch: pytest.MonkeyPatch,
    version: tuple[int, int] | None,
    args: list[str],
    checksum: bool,
) -> None:
    monkeypatch.setattr(fx, "ffmpeg_version", lambda: version)
    assert fx.passthrough_timing_args() == args
    assert fx.showinfo_has_checksum_option() is checksum
