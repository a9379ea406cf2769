"""Still images decoded with Pillow into upright RGB uint8, with a pixel limit checked first."""

from __future__ import annotations

import math
import threading
import warnings as warnings_module
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from deepfake_analyzer.errors import (
    AnalyzerError,
    DecodeError,
    ImageTooLargeError,
    UnsupportedMediaError,
)
from deepfake_analyzer.media.types import Frame, MediaInfo
from deepfake_analyzer.options import DECODE_MAX_PIXELS, DEFAULT_MAX_IMAGE_PIXELS, MAX_ASPECT_RATIO

BACKGROUND_RGB = (255, 255, 255)
"""Transparent pixels are composited onto this colour (white, like a browser page)."""

_EXIF_ORIENTATION_TAG = 0x0112
_ORIENTATION_TO_ROTATION = {1: 0, 2: 0, 3: 180, 4: 180, 5: 270, 6: 90, 7: 90, 8: 270}
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ORIENTATION_TO_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""What `ImageOps.exif_transpose` does per orientation (applied by hand to a reduced image,
which no longer carries its EXIF)."""
_REDUCIBLE_MODES = frozenset({"L", "LA", "I", "F", "RGB", "RGBA", "RGBa", "La", "CMYK", "YCbCr"})
_PREMULTIPLIED_ON_REDUCE = frozenset({"LA", "RGBA"})
"""Modes Pillow copies whole (premultiplied alpha) before reducing: reduced strip by strip."""
_STRIP_PIXELS = 1 << 22

# Pillow's decompression-bomb limit and truncated-image switch are module globals: change them
# only under this lock, and only for the duration of one open/load. The header is read with
# Pillow's limit off (we refuse above our exact limit, naming the size); pixels are decoded with
# Pillow's limit set to ours, as a second guard.
_PILLOW_GLOBALS = threading.Lock()


@contextmanager
def _pillow_limits(max_pixels: int | None, *, load_truncated: bool = False) -> Iterator[None]:
    with _PILLOW_GLOBALS:
        saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
        Image.MAX_IMAGE_PIXELS = max_pixels
        ImageFile.LOAD_TRUNCATED_IMAGES = load_truncated
        try:
            with warnings_module.catch_warnings():
                warnings_module.simplefilter("ignore", Image.DecompressionBombWarning)
                # Pillow's notes on odd files ("Metadata Warning", "Truncated File Read") would
                # print to stderr beside our one line per input; real damage raises instead.
                warnings_module.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
                yield
        finally:
            Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved


class ImageSource:
    """A still image: one `Frame(index=0, timestamp_s=0.0)`.

    Opening reads only the header: the size is checked against `max_image_pixels` and the
    shape against `MAX_ASPECT_RATIO` before any pixel is decoded. `frames()` decodes, applies
    the EXIF orientation, and converts any mode (grayscale, palette, alpha, 16-bit, CMYK) to RGB
    uint8; transparency is composited onto `background` (white by default).

    An image above `decode_max_pixels` is decoded at 1/`decode_factor` of its size (a JPEG by
    its decoder's DCT scaling, other formats reduced straight after decoding, before any
    copy), so memory stays bounded; `info` keeps the full size and `warnings()` says so.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
        background: tuple[int, int, int] = BACKGROUND_RGB,
        decode_max_pixels: int = DECODE_MAX_PIXELS,
    ) -> None:
        if max_image_pixels < 1 or decode_max_pixels < 1:
            raise ValueError("max_image_pixels and decode_max_pixels must be positive")
        self.path = Path(path)
        self.max_image_pixels = max_image_pixels
        self.background = background
        self._warnings: list[str] = []
        width, height, fmt, orientation, n_frames = self._read_header()
        self.decode_factor = reduction_factor(width, height, decode_max_pixels)
        if n_frames > 1:
            self._warnings.append(f"the image has {n_frames} frames/pages; analyzing the first")
        rotation = _ORIENTATION_TO_ROTATION.get(orientation, 0)
        self.info = MediaInfo(
            path=str(self.path),
            kind="image",
            width=width,
            height=height,
            rotation_deg=rotation,
            codec=fmt,
        )

    def frames(self) -> Iterator[Frame]:
        """Yield the one decoded frame."""
        yield Frame(index=0, timestamp_s=0.0, image=self.load_rgb())

    def warnings(self) -> list[str]:
        """Non-fatal problems (extra pages, truncated data)."""
        return list(self._warnings)

    def load_rgb(self) -> np.ndarray:
        """Decode the pixels: upright RGB uint8 of shape (height, width, 3).

        Pillow raises many exception types on hostile files (OSError, SyntaxError, TypeError,
        EOFError, ...): every one becomes a one-line DecodeError here.
        """
        try:
            return self._decode(load_truncated=False)
        except AnalyzerError:
            raise
        except Exception as exc:
            if not isinstance(exc, OSError) or "truncated" not in str(exc).lower():
                raise DecodeError(f"the image is corrupt ({_one_line(exc)})", self.path) from None
        try:
            image = self._decode(load_truncated=True)
        except AnalyzerError:
            raise
        except Exception as exc:
            raise DecodeError(f"the image is corrupt ({_one_line(exc)})", self.path) from None
        self._warnings.append("the image file is truncated: its missing part is blank")
        return image

    def _read_header(self) -> tuple[int, int, str | None, int, int]:
        """(upright width, upright height, format, EXIF orientation, frame count)."""
        try:
            with (
                _pillow_limits(None),  # only the header is read; we check its size ourselves
                Image.open(self.path) as im,
            ):
                width, height = im.size
                self._check_size(width, height)
                orientation = _header_orientation(im)
                n_frames = int(getattr(im, "n_frames", 1) or 1)
                if orientation in (5, 6, 7, 8) and not _size_is_upright(im):
                    width, height = height, width
                return width, height, im.format, orientation, n_frames
        except AnalyzerError:
            raise
        except UnidentifiedImageError:
            raise UnsupportedMediaError(
                "cannot be read as an image: not a supported image file, or corrupt", self.path
            ) from None
        except Exception as exc:  # Pillow on a hostile header: OSError, SyntaxError, TypeError
            raise DecodeError(
                f"the image header is corrupt ({_one_line(exc)})", self.path
            ) from None

    def _decode(self, *, load_truncated: bool) -> np.ndarray:
        try:
            with (
                _pillow_limits(self.max_image_pixels, load_truncated=load_truncated),
                Image.open(self.path) as im,
            ):
                self._check_size(*im.size)
                # Read EXIF before load(): after it, a TIFF's getexif() loses the orientation.
                orientation = int(im.getexif().get(_EXIF_ORIENTATION_TAG, 1) or 1)
                if self.decode_factor > 1:
                    return self._decode_reduced(im, orientation)
                im.load()
                upright = ImageOps.exif_transpose(im) or im
                image = to_rgb_uint8(upright, self.background)
                self._sync_info(image, orientation)
                return image
        except Image.DecompressionBombError:
            raise ImageTooLargeError(self._too_large_message(None), self.path) from None
        except UnidentifiedImageError:
            raise UnsupportedMediaError("cannot be read as an image", self.path) from None
        except ValueError as exc:
            raise UnsupportedMediaError(f"unsupported image ({exc})", self.path) from None

    def _decode_reduced(self, im: Image.Image, orientation: int) -> np.ndarray:
        """Decode at 1/`decode_factor` size without ever copying the full-size pixels."""
        factor = self.decode_factor
        full_width, full_height = im.size
        target = (max(1, -(-full_width // factor)), max(1, -(-full_height // factor)))
        if im.format == "JPEG":
            im.draft(None, target)  # DCT scaling by 1/2, 1/4 or 1/8: never decoded full size
        im.load()
        factor = max(1, math.ceil(max(im.size[0] / target[0], im.size[1] / target[1]) - 1e-9))
        if factor > 1 and im.mode in _PREMULTIPLIED_ON_REDUCE:
            small = _reduce_in_strips(im, factor)
        elif factor > 1 and im.mode in _REDUCIBLE_MODES:
            small = im.reduce(factor)  # block average, in C, into a new small image
        elif factor > 1:  # palette, 1-bit, 16-bit: sample, keeping the palette
            small = im.resize(target, Image.Resampling.NEAREST)
        else:
            small = im.copy()  # already small enough (JPEG draft)
        im.close()  # the full-size pixels go now, before any conversion
        method = _ORIENTATION_TO_TRANSPOSE.get(orientation)
        if method is not None:
            small = small.transpose(method)
        image = to_rgb_uint8(small, self.background)
        height, width = image.shape[:2]
        self._warnings.append(
            f"the {full_width}x{full_height} image was analyzed at {width}x{height} "
            "(large images are decoded at a reduced size to bound memory)"
        )
        return image

    def _sync_info(self, image: np.ndarray, orientation: int) -> None:
        """Correct `info` when the decoded pixels reveal an orientation the header hid."""
        height, width = image.shape[:2]
        if (width, height) != (self.info.width, self.info.height):
            rotation = _ORIENTATION_TO_ROTATION.get(orientation, 0)
            self.info = replace(self.info, width=width, height=height, rotation_deg=rotation)

    def _check_size(self, width: int, height: int) -> None:
        if width * height > self.max_image_pixels:
            raise ImageTooLargeError(self._too_large_message((width, height)), self.path)
        check_aspect_ratio(width, height, self.path)

    def _too_large_message(self, size: tuple[int, int] | None) -> str:
        shown = f"{size[0]}x{size[1]} = {size[0] * size[1]:,} pixels" if size else "pixels"
        return (
            f"image too large ({shown}, limit {self.max_image_pixels:,}): "
            "downscale it first (the limit is the max_image_pixels option)"
        )


def _reduce_in_strips(im: Image.Image, factor: int) -> Image.Image:
    """`im.reduce(factor)` a few million pixels at a time, so Pillow's premultiplied copy of
    an RGBA image is a strip's size, not the whole image's."""
    width, height = im.size
    out = Image.new(im.mode, (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _STRIP_PIXELS // max(1, width * factor))
    for top in range(0, height, rows):
        strip = im.crop((0, top, width, min(height, top + rows)))
        out.paste(strip.reduce(factor), (0, top // factor))
    return out


def _one_line(exc: BaseException) -> str:
    """`Type: message` on one line, for a decoder's exception inside our message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def reduction_factor(width: int, height: int, max_pixels: int = DECODE_MAX_PIXELS) -> int:
    """The smallest whole factor k with (width / k) x (height / k) <= `max_pixels` (1: none)."""
    if width * height <= max_pixels:
        return 1
    k = max(2, math.isqrt(width * height // max_pixels))
    while -(-width // k) * -(-height // k) > max_pixels:
        k += 1
    return k


def check_aspect_ratio(width: int, height: int, path: Path | str) -> None:
    """UnsupportedMediaError when one side is over `MAX_ASPECT_RATIO` times the other."""
    long, short = max(width, height), max(1, min(width, height))
    if long > MAX_ASPECT_RATIO * short:
        raise UnsupportedMediaError(
            f"{width}x{height} pixels is too narrow to analyze (aspect ratio over "
            f"{MAX_ASPECT_RATIO}:1, no room for a face): crop it first",
            path,
        )


@contextmanager
def open_image_header(path: Path | str) -> Iterator[Image.Image]:
    """Open an image to read its header and metadata only (no pixel limit, Pillow's warnings
    kept quiet); decode nothing with it: use `ImageSource` for pixels."""
    with _pillow_limits(None), Image.open(path) as im:
        yield im


def header_exif(im: Image.Image) -> Image.Exif:
    """The EXIF known without decoding pixels. For a PNG only an eXIf chunk before the image
    data: `getexif()` on a PNG decodes the whole image to look after it (300 MB for a
    10000 x 10000 file of a few hundred KB)."""
    if im.format != "PNG":
        return im.getexif()
    exif = Image.Exif()
    raw = im.info.get("exif")
    if isinstance(raw, bytes):
        exif.load(raw)
    return exif


def _header_orientation(im: Image.Image) -> int:
    """The EXIF orientation known without decoding pixels (see `header_exif`)."""
    try:
        value = int(header_exif(im).get(_EXIF_ORIENTATION_TAG, 1) or 1)
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if value in _ORIENTATION_TO_ROTATION else 1


def _size_is_upright(im: Image.Image) -> bool:
    """Whether Pillow already reports the oriented size (its TIFF reader applies the tag)."""
    if im.format != "TIFF":
        return False
    tags = getattr(im, "tag_v2", {})
    return (tags.get(256), tags.get(257)) != tuple(im.size)  # ImageWidth, ImageLength


def to_rgb_uint8(im: Image.Image, background: tuple[int, int, int] = BACKGROUND_RGB) -> np.ndarray:
    """Convert a loaded Pillow image of any common mode to an RGB uint8 array (H, W, 3).

    16-bit and 32-bit integer samples keep their top 8 bits (a 16-bit value v becomes v >> 8);
    float images in [0, 1] are scaled by 255; alpha is composited onto `background`.
    """
    mode = im.mode
    if mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(im).astype(np.int64)
        if mode == "I" and values.max(initial=0) <= 255 and values.min(initial=0) >= 0:
            gray = values.astype(np.uint8)
        else:
            gray = (np.clip(values, 0, 65535) >> 8).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if mode == "F":
        values = np.asarray(im, dtype=np.float64)
        finite = values[np.isfinite(values)]
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        gray = np.clip(np.nan_to_num(values) * scale, 0, 255).round().astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
    if has_alpha:
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (*background, 255))
        rgb = Image.alpha_composite(base, rgba).convert("RGB")
    else:
        rgb = im.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
