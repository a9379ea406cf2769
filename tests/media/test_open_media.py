"""Tests for open_media (existence, readability, content sniffing) and discover_media."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import media_factory as mf
import numpy as np
import pytest

from deepfake_analyzer.errors import (
    AnalyzerError,
    DecodeError,
    InputNotFoundError,
    UnreadableInputError,
    UnsupportedMediaError,
)
from deepfake_analyzer.media.image import ImageSource
from deepfake_analyzer.media.open import discover_media, looks_like_text, open_media, sniff_kind
from deepfake_analyzer.media.types import SamplingOptions
from deepfake_analyzer.media.video import VideoSource


def one_line_error(excinfo: pytest.ExceptionInfo[AnalyzerError], path: Path) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


def test_opens_videos_and_images(short_video: Path, grayscale_png: Path) -> None:
    video = open_media(short_video, SamplingOptions(fps=1, max_frames=1))
    assert isinstance(video, VideoSource)
    assert len(list(video.frames())) == 1
    image = open_media(grayscale_png, None, max_image_pixels=10_000)
    assert isinstance(image, ImageSource)


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(InputNotFoundError) as excinfo:
        open_media(missing)
    assert "does not exist" in one_line_error(excinfo, missing)


def test_zero_byte_file(zero_byte_video: Path) -> None:
    with pytest.raises(UnsupportedMediaError) as excinfo:
        open_media(zero_byte_video)
    assert "is empty (0 bytes)" in one_line_error(excinfo, zero_byte_video)


def test_text_named_mp4_is_refused_before_ffmpeg(
    text_as_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("deepfake_analyzer.media.probe.probe_video", pytest.fail)
    with pytest.raises(UnsupportedMediaError) as excinfo:
        open_media(text_as_video)
    message = one_line_error(excinfo, text_as_video)
    assert "is not a media file despite its .mp4 extension: it contains text" in message


def test_audio_only_file(audio_only_file: Path) -> None:
    with pytest.raises(UnsupportedMediaError) as excinfo:
        open_media(audio_only_file)
    assert "has no video stream (audio only)" in one_line_error(excinfo, audio_only_file)


@pytest.mark.parametrize("name", ["tone.mp3", "tone.wav", "tone_mp3_named.mp4"])
def test_audio_files_are_refused_by_content(media_dir: Path, tmp_path: Path, name: str) -> None:
    source = mf.make_audio_only(media_dir / name.replace("_mp3_named.mp4", ".mp3"))
    path = tmp_path / name
    path.write_bytes(source.read_bytes())
    with pytest.raises(UnsupportedMediaError) as excinfo:
        open_media(path)
    assert "has no video stream (audio only)" in one_line_error(excinfo, path)


def test_no_decodable_frames(undecodable_video: Path) -> None:
    source = open_media(undecodable_video)
    with pytest.raises(DecodeError) as excinfo:
        list(source.frames())
    assert "no decodable video frames" in one_line_error(excinfo, undecodable_video)


@pytest.mark.parametrize("name", ["noise.mp4", "noise.jpg", "noise.webm"])
def test_binary_garbage_with_a_media_extension(tmp_path: Path, name: str) -> None:
    garbage = tmp_path / name
    garbage.write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)))
    with pytest.raises(UnsupportedMediaError) as excinfo:
        list(open_media(garbage).frames())
    one_line_error(excinfo, garbage)


def test_folder_given_as_a_file(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaError, match="is a folder"):
        open_media(tmp_path)


def test_unreadable_file_mocked(short_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(UnreadableInputError) as excinfo:
        open_media(short_video)
    assert "permission denied" in one_line_error(excinfo, short_video)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file"
)
def test_unreadable_file_chmod(short_video: Path, tmp_path: Path) -> None:
    locked = tmp_path / "locked.mp4"
    shutil.copy(short_video, locked)
    locked.chmod(0)
    try:
        with pytest.raises(UnreadableInputError):
            open_media(locked)
    finally:
        locked.chmod(0o644)


def test_unknown_extension(tmp_path: Path) -> None:
    odd = tmp_path / "data.xyz"
    odd.write_bytes(b"\x00\x01\x02\x03" * 64)
    with pytest.raises(UnsupportedMediaError) as excinfo:
        open_media(odd)
    assert "not a supported media file (.xyz); supported: .avi" in one_line_error(excinfo, odd)


def test_content_decides_over_extension(tmp_path: Path, short_video: Path) -> None:
    png_named_mp4 = tmp_path / "still.mp4"
    mf.make_image(tmp_path / "still.png", (32, 24)).rename(png_named_mp4)
    assert isinstance(open_media(png_named_mp4), ImageSource)
    video_without_extension = tmp_path / "clip"
    shutil.copy(short_video, video_without_extension)
    assert isinstance(open_media(video_without_extension), VideoSource)


def test_heic_is_refused_with_a_fix(tmp_path: Path) -> None:
    heic = tmp_path / "photo.jpg"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64)
    with pytest.raises(UnsupportedMediaError, match="HEIC image.*convert it to JPEG or PNG"):
        open_media(heic)


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image"),
        (b"BM" + b"\x00" * 12 + b"\x28\x00\x00\x00", "image"),
        (b"II*\x00\x08\x00\x00\x00", "image"),
        (b"\x00\x00\x00\x20ftypisom", "video"),
        (b"\x1a\x45\xdf\xa3\x01\x00", "video"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", "video"),
        (b"\x00\x00\x01\xba\x44\x00", "video"),
        (b"BMW is a car brand, not a bitmap", None),
        (b"hello world", None),
    ],
)
def test_sniff_kind(head: bytes, kind: str | None) -> None:
    assert sniff_kind(head) == kind


def test_looks_like_text() -> None:
    assert looks_like_text("déjà vu, plain text\n".encode())
    assert not looks_like_text(b"\x00\x00\x00\x20ftypisom")
    assert not looks_like_text(b"\xff\xd8\xff\xe0")


# --- discover_media -----------------------------------------------------------------------


def test_discover_single_file(short_video: Path) -> None:
    assert discover_media(short_video) == [short_video]


def test_discover_walks_folders_sorted_skipping_hidden_and_non_media(tmp_path: Path) -> None:
    for name in [
        "b.mp4",
        "a.JPG",
        "notes.txt",
        ".hidden.mp4",
        "sub/c.webm",
        "sub/deeper/d.png",
        ".cache/e.mp4",
        "A_upper.mov",
    ]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover_media(tmp_path)]
    assert found == ["A_upper.mov", "a.JPG", "b.mp4", "sub/c.webm", "sub/deeper/d.png"]


def test_discover_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no media here")
    with pytest.raises(InputNotFoundError) as excinfo:
        discover_media(tmp_path)
    assert "no media files found in this folder" in one_line_error(excinfo, tmp_path)


def test_discover_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="does not exist"):
        discover_media(tmp_path / "gone")


def _animated_gif(path: Path) -> Path:
    from PIL import Image

    frames = [Image.fromarray(mf.pattern_rgb(64, 48) // (i + 1)) for i in range(3)]
    frames[0].save(
        path, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0
    )
    return path


@pytest.mark.parametrize("name", ["anim.gif", "anim.mp4", "anim.png", "anim"])
def test_gif_is_decided_by_content_whatever_its_name(tmp_path: Path, name: str) -> None:
    source = open_media(_animated_gif(tmp_path / name), SamplingOptions(fps=None))
    assert source.info.kind == "video"
    frames = list(source.frames())
    assert len(frames) == 3 and frames[0].image.shape == (48, 64, 3)


def test_gif_is_found_in_folders(tmp_path: Path) -> None:
    _animated_gif(tmp_path / "a.gif")
    assert discover_media(tmp_path) == [tmp_path / "a.gif"]


def test_video_frames_over_the_pixel_limit_are_refused(short_video: Path) -> None:
    from deepfake_analyzer.errors import ImageTooLargeError

    with pytest.raises(ImageTooLargeError, match="video frames too large"):
        open_media(short_video, None, max_image_pixels=100)
