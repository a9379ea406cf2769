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
    assert "--" not in message  # the library names no CLI flag: the service has none
    assert "max_image_pixels" in message


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


@pytest.mark.parametrize("size", [(1, 100_000_000), (100_000, 40), (26, 1)])
def test_absurd_aspect_ratio_is_refused_from_the_header(tmp_path: Path, size) -> None:
    path = mf.make_header_only_png(tmp_path / "strip.png", *size)
    with pytest.raises(UnsupportedMediaError, match=r"too narrow to analyze.*25:1.*crop it"):
        ImageSource(path)


def test_aspect_ratio_at_the_limit_is_accepted(tmp_path: Path) -> None:
    path = mf.make_image(tmp_path / "wide.png", (250, 10), "RGB")
    assert load(path).shape == (10, 250, 3)


def test_reduction_factor_is_the_smallest_that_fits() -> None:
    from deepfake_analyzer.media.image import reduction_factor

    assert reduction_factor(4000, 4000, 16_000_000) == 1
    assert reduction_factor(4001, 4000, 16_000_000) == 2
    assert reduction_factor(9999, 10000, 16_000_000) == 3
    for width, height, limit in [(10000, 10000, 16_000_000), (64, 48, 1000), (999, 7, 50)]:
        k = reduction_factor(width, height, limit)
        assert -(-width // k) * -(-height // k) <= limit
        assert k == 1 or -(-width // (k - 1)) * -(-height // (k - 1)) > limit


@pytest.mark.parametrize(
    ("name", "mode"),
    [("r.png", "RGB"), ("r.jpg", "RGB"), ("p.png", "P"), ("g16.png", "I;16"), ("a.png", "RGBA")],
)
def test_large_images_are_decoded_at_a_reduced_size(tmp_path: Path, name: str, mode: str) -> None:
    path = mf.make_image(tmp_path / name, (64, 48), mode)
    source = ImageSource(path, decode_max_pixels=1000)  # 64x48 = 3072 pixels: factor 2
    assert source.decode_factor == 2
    (frame,) = list(source.frames())
    assert frame.image.shape == (24, 32, 3)
    assert (source.info.width, source.info.height) == (64, 48)  # the input's own size
    assert source.warnings() == [
        "the 64x48 image was analyzed at 32x24 (large images are decoded at a reduced size "
        "to bound memory)"
    ]
    if mode == "RGB":  # the same picture, smaller
        full = load(path)
        assert np.abs(frame.image.astype(int) - full[::2, ::2].astype(int)).mean() < 12


def test_reduced_decode_keeps_the_exif_orientation(exif_rotated_jpeg: Path) -> None:
    upright = load(exif_rotated_jpeg)
    source = ImageSource(exif_rotated_jpeg, decode_max_pixels=upright.size // 3 // 4)
    (frame,) = list(source.frames())
    height, width = upright.shape[:2]
    assert frame.image.shape == (-(-height // 2), -(-width // 2), 3)
    assert np.abs(frame.image.astype(int) - upright[::2, ::2].astype(int)).mean() < 20


def test_pillow_warnings_on_odd_files_are_not_shown(tmp_path: Path) -> None:
    import warnings

    from PIL import Image

    odd = tmp_path / "odd.tiff"
    Image.fromarray(np.full((64, 64, 3), 200, dtype=np.uint8)).save(odd)
    planar_one = b"\x1c\x01\x03\x00\x01\x00\x00\x00"  # PlanarConfiguration: 1 SHORT
    data = odd.read_bytes()
    assert data.count(planar_one) == 1
    # two entries: Pillow warns "Metadata Warning" while reading, then decodes the image
    odd.write_bytes(data.replace(planar_one, b"\x1c\x01\x03\x00\x02\x00\x00\x00"))
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")  # a fresh interpreter prints these on stderr
        image = load(odd)
    assert image.shape == (64, 64, 3)
    assert [str(w.message) for w in shown if "PIL" in w.filename] == []


def test_rgba_is_reduced_strip_by_strip_as_one_reduce_would(tmp_path: Path, monkeypatch) -> None:
    from deepfake_analyzer.media import image as image_module

    path = mf.make_image(tmp_path / "a.png", (64, 48), "RGBA")
    with Image.open(path) as im:
        whole = np.asarray(im.reduce(2))
    monkeypatch.setattr(image_module, "_STRIP_PIXELS", 64 * 4)  # strips of 4 rows
    full_reduce = Image.Image.reduce

    def strip_only(self: Image.Image, factor: int, box: object = None) -> Image.Image:
        assert self.size[1] <= 4, "a full-size RGBA image was reduced (a full premultiplied copy)"
        return full_reduce(self, factor, box)

    monkeypatch.setattr(Image.Image, "reduce", strip_only)
    with Image.open(path) as im:
        im.load()
        strips = np.asarray(image_module._reduce_in_strips(im, 2))
    np.testing.assert_array_equal(strips, whole)
    source = ImageSource(path, decode_max_pixels=1000)
    assert list(source.frames())[0].image.shape == (24, 32, 3)
