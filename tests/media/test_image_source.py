"""Tests for ImageSource: orientation, pixel modes converted to RGB, the pixel limit."""

from __future__ import annotations

import time
from pathlib import Path

import media_factory as mf
import numpy as np
import pytest
from PIL import Image

from deepfake_analyzer.errors import ImageTooLargeError, UnsupportedMediaError
from deepfake_analyzer.media.base import MediaSource
from deepfake_analyzer.media.image import ImageSource, to_rgb_uint8

PATTERN = mf.pattern_rgb(64, 48)


def load(path: Path, **kwargs: object) -> np.ndarray:
    source = ImageSource(path, **kwargs)  # type: ignore[arg-type]
    frames = list(source.frames())
    assert len(frames) == 1
    assert (frames[0].index, frames[0].timestamp_s) == (0, 0.0)
    image = frames[0].image
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert (image.shape[1], image.shape[0]) == (source.info.width, source.info.height)
    return image


def test_rgb_png_round_trips(media_dir: Path) -> None:
    path = mf.make_image(media_dir / "rgb.png", (64, 48), "RGB")
    source: MediaSource = ImageSource(path)
    assert (source.info.kind, source.info.width, source.info.height) == ("image", 64, 48)
    assert source.info.codec == "PNG"
    np.testing.assert_array_equal(load(path), PATTERN)


def test_exif_orientation_is_applied(exif_rotated_jpeg: Path) -> None:
    source = ImageSource(exif_rotated_jpeg)
    assert (source.info.width, source.info.height, source.info.rotation_deg) == (48, 64, 90)
    image = load(exif_rotated_jpeg)
    assert image.shape == (64, 48, 3)
    # Orientation 6 = rotate 90 degrees clockwise: the blue top-left block moves top-right.
    expected = np.rot90(PATTERN, k=-1).astype(int)
    assert np.abs(image.astype(int) - expected).mean() < 4
    assert image[:8, -8:, 2].mean() > 200 and image[:8, :8, 2].mean() < 60


@pytest.mark.parametrize("name", ["exif8.png", "exif8.webp", "exif8.tiff"])
def test_exif_orientation_in_other_formats(media_dir: Path, name: str) -> None:
    path = mf.make_image(media_dir / name, (64, 48), "RGB", exif_orientation=8)
    source = ImageSource(path)
    image = load(path)
    assert (source.info.width, source.info.height, source.info.rotation_deg) == (48, 64, 270)
    assert np.abs(image.astype(int) - np.rot90(PATTERN, k=1).astype(int)).mean() < 6


def test_grayscale_becomes_three_equal_channels(grayscale_png: Path) -> None:
    image = load(grayscale_png)
    assert np.array_equal(image[..., 0], image[..., 1])
    assert np.array_equal(image[..., 1], image[..., 2])
    expected = np.asarray(Image.fromarray(PATTERN).convert("L"))
    np.testing.assert_array_equal(image[..., 0], expected)


def test_alpha_is_composited_on_white(alpha_png: Path) -> None:
    image = load(alpha_png)
    assert (image[:, :32] == 255).all()  # the transparent left half
    np.testing.assert_array_equal(image[:, 32:], PATTERN[:, 32:])


def test_sixteen_bit_gray_keeps_the_top_byte(sixteen_bit_png: Path) -> None:
    with Image.open(sixteen_bit_png) as im:
        assert im.mode.startswith("I")
    image = load(sixteen_bit_png)
    expected = np.asarray(Image.fromarray(PATTERN).convert("L"))
    np.testing.assert_array_equal(image[..., 0], expected)


def test_sixteen_bit_rgb(media_dir: Path) -> None:
    path = mf.make_image(media_dir / "rgb48.png", (64, 48), "RGB;16")
    assert np.abs(load(path).astype(int) - PATTERN.astype(int)).max() <= 1


def test_cmyk_jpeg_becomes_rgb(cmyk_jpeg: Path) -> None:
    with Image.open(cmyk_jpeg) as im:
        assert im.mode == "CMYK"
    image = load(cmyk_jpeg)
    assert np.abs(image.astype(int) - PATTERN.astype(int)).mean() < 6


@pytest.mark.parametrize(("mode", "name"), [("P", "pal.png"), ("PA", "pal_alpha.png")])
def test_palette_images(media_dir: Path, mode: str, name: str) -> None:
    image = load(mf.make_image(media_dir / name, (64, 48), mode))
    assert image.shape == (48, 64, 3)


@pytest.mark.parametrize("name", ["pic.webp", "pic.bmp", "pic.tiff", "pic.jpg"])
def test_other_formats(media_dir: Path, name: str) -> None:
    image = load(mf.make_image(media_dir / name, (64, 48), "RGB"))
    assert np.abs(image.astype(int) - PATTERN.astype(int)).mean() < 6


def test_float_and_32_bit_modes_convert() -> None:
    gray = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    assert to_rgb_uint8(Image.fromarray(gray, "F"))[2, 3].tolist() == [255, 255, 255]
    ints = Image.fromarray((np.arange(12).reshape(3, 4) * 5000).astype(np.int32), "I")
    assert to_rgb_uint8(ints)[2, 3, 0] == (55000 >> 8)


def test_too_large_image_is_refused_from_its_header(huge_header_png: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError) as excinfo:
        ImageSource(huge_header_png)
    assert time.perf_counter() - started < 1.0
    message = str(excinfo.value)
    assert message.startswith(f"{huge_header_png}: image too large (40000x40000")
    assert "limit 100,000,000" in message and "\n" not in message


def test_pixel_limit_is_configurable(media_dir: Path) -> None:
    path = mf.make_image(media_dir / "limit.png", (64, 48), "RGB")
    with pytest.raises(ImageTooLargeError, match="64x48 = 3,072 pixels, limit 3,071"):
        ImageSource(path, max_image_pixels=3071)
    assert ImageSource(path, max_image_pixels=3072).info.width == 64


def test_a_raised_limit_is_not_blocked_by_pillow(media_dir: Path) -> None:
    # Pillow alone refuses images above ~179 Mpx; a user's larger limit must win.
    path = mf.make_header_only_png(media_dir / "big_header.png", 20_000, 10_000)
    source = ImageSource(path, max_image_pixels=300_000_000)
    assert (source.info.width, source.info.height) == (20_000, 10_000)


def test_truncated_jpeg_decodes_with_a_warning(media_dir: Path, tmp_path: Path) -> None:
    full = mf.make_image(media_dir / "big.jpg", (320, 240), "RGB")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    source = ImageSource(cut)
    assert list(source.frames())[0].image.shape == (240, 320, 3)
    assert source.warnings() == ["the image file is truncated: its missing part is blank"]


def test_multi_page_tiff_warns(tmp_path: Path) -> None:
    path = tmp_path / "pages.tiff"
    pages = [Image.fromarray(PATTERN), Image.fromarray(PATTERN[::-1].copy())]
    pages[0].save(path, save_all=True, append_images=pages[1:])
    source = ImageSource(path)
    assert source.warnings() == ["the image has 2 frames/pages; analyzing the first"]
    np.testing.assert_array_equal(load(path), PATTERN)


def test_non_image_content_is_unsupported(text_as_video: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.png"
    fake.write_bytes(text_as_video.read_bytes())
    with pytest.raises(UnsupportedMediaError, match="fake.png: cannot be read as an image"):
        ImageSource(fake)
