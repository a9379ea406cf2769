"""Synthetic test media made with the project's ffmpeg binary and Pillow (small and fast).

Import it from any test (`from media_factory import make_video`; `tests/` is on sys.path
through `tests/conftest.py`). Every function writes one file and returns its Path; sizes are
(width, height). Defaults are tiny (160x96, 2 s) so a clip takes ~0.1 s to make.

Videos
    make_video(path, size, duration_s, fps, codec, rotation_deg, vfr, with_audio)
        testsrc2 pattern (moving, asymmetric: orientation can be checked); container from the
        extension (.mp4 .mov .mkv .avi .webm .mpg .m4v); `rotation_deg` is the clockwise
        rotation a player applies (stored as display-matrix side data); `vfr=True` uses the
        irregular frame times of `vfr_frame_times(duration_s, fps)`.
    make_vfr_video(path, frame_times_s, size)      exact presentation times, in seconds
    make_video_from_frames(path, frames, fps)      your own RGB uint8 arrays (e.g. a face image)
    make_truncated_video(path, keep_fraction)      MP4 cut mid-file: the start still decodes
    make_undecodable_video(path)                   intact index, no frame data: nothing decodes
    make_audio_only(path, duration_s)              .m4a/.mp3/.wav/.mp4 with a sine tone only
Images
    pattern_rgb(width, height)                     the asymmetric RGB test pattern
    make_image(path, size, mode, exif_orientation) RGB L P RGBA LA CMYK I;16 RGB;16 ...
    make_header_only_png(path, width, height)      claims a huge size, holds no pixels
    make_large_png(path, width, height)            a real huge PNG written row by row: a few
                                                   hundred KB on disk, any size in pixels
Other
    make_text_file(path, text), make_zero_byte_file(path)
"""

from __future__ import annotations

import subprocess
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

__all__ = [
    "ffmpeg",
    "make_audio_only",
    "make_header_only_png",
    "make_image",
    "make_large_png",
    "make_text_file",
    "make_truncated_video",
    "make_undecodable_video",
    "make_vfr_video",
    "make_video",
    "make_video_from_frames",
    "make_zero_byte_file",
    "pattern_rgb",
    "vfr_frame_times",
]

_AUDIO_CODEC = {".webm": "libopus", ".mpg": "mp2", ".mpeg": "mp2", ".avi": "pcm_s16le"}
_DEFAULT_CODEC = {".webm": "libvpx-vp9", ".mpg": "mpeg2video", ".mpeg": "mpeg2video"}


VFR_TIMES_S = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.7, 2.9)
"""Frame times of the `vfr_video` fixture: 10 fps for one second, then gaps of 0.7 s and 1.2 s."""


def ffmpeg(*args: str) -> None:
    """Run the project's ffmpeg quietly with `args`; raise with its stderr on failure."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({' '.join(cmd)}):\n{proc.stderr}")


def _codec_args(path: Path, codec: str | None) -> list[str]:
    codec = codec or _DEFAULT_CODEC.get(path.suffix.lower(), "libx264")
    args = ["-c:v", codec]
    if codec == "mjpeg":
        args += ["-pix_fmt", "yuvj420p", "-q:v", "5"]
    else:
        args += ["-pix_fmt", "yuv420p"]
    if codec == "libx264":
        args += ["-preset", "ultrafast"]
    if codec.startswith("libvpx"):
        args += ["-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"]
    if path.suffix.lower() in (".mp4", ".mov", ".m4v"):
        args += ["-movflags", "+faststart"]
    return args


def vfr_frame_times(duration_s: float = 3.0, fps: float = 10.0) -> list[float]:
    """Irregular frame times: `fps` for the first third, then gaps of 3, 7 and 2 frames.

    E.g. duration 3, fps 10 -> 0.0 .. 0.9 every 0.1 s, then 1.2, 1.9, 2.1, 2.4.
    Times are rounded to the millisecond.
    """
    step = 1.0 / fps
    times = [round(i * step, 3) for i in range(max(1, int(duration_s * fps / 3)))]
    gaps = (3, 7, 2)
    t = times[-1]
    i = 0
    while True:
        t = round(t + gaps[i % len(gaps)] * step, 3)
        if t >= duration_s:
            return times
        times.append(t)
        i += 1


def make_video(
    path: Path | str,
    size: tuple[int, int] = (160, 96),
    duration_s: float = 2.0,
    fps: float = 25.0,
    codec: str | None = None,
    rotation_deg: int = 0,
    vfr: bool = False,
    with_audio: bool = False,
) -> Path:
    """A testsrc2 clip; `codec` defaults by extension (H.264, VP9 for .webm, MPEG-2 for .mpg)."""
    path = Path(path)
    width, height = size
    if vfr:
        made = make_vfr_video(path, vfr_frame_times(duration_s, fps), size, codec=codec)
        return _rotate(made, rotation_deg) if rotation_deg else made
    args = [
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={fps:g}:duration={duration_s:g}",
    ]
    if with_audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={duration_s:g}"]
        args += ["-c:a", _AUDIO_CODEC.get(path.suffix.lower(), "aac"), "-shortest"]
    target = path.with_name(f".unrotated{path.suffix}") if rotation_deg else path
    ffmpeg(*args, *_codec_args(path, codec), str(target))
    return _rotate(target, rotation_deg, path) if rotation_deg else path


def _rotate(source: Path, rotation_deg: int, target: Path | None = None) -> Path:
    """Remux with display-matrix rotation (clockwise `rotation_deg`), no re-encode."""
    target = target or source
    tmp = target.with_name(f".rotated{target.suffix}")
    try:
        ffmpeg("-display_rotation", str(-rotation_deg), "-i", str(source), "-c", "copy", str(tmp))
    except RuntimeError:  # ffmpeg < 6.1: legacy rotate tag
        ffmpeg(
            "-i", str(source), "-c", "copy", "-metadata:s:v:0", f"rotate={rotation_deg}", str(tmp)
        )
    tmp.replace(target)
    if source != target:
        source.unlink()
    return target


def make_vfr_video(
    path: Path | str,
    frame_times_s: Sequence[float],
    size: tuple[int, int] = (96, 64),
    codec: str | None = None,
) -> Path:
    """A clip whose frames have exactly these presentation times (ms precision)."""
    path = Path(path)
    if list(frame_times_s) != sorted(set(frame_times_s)) or frame_times_s[0] < 0:
        raise ValueError("frame times must be increasing and non-negative")
    expr = "0"
    for n, t in reversed(list(enumerate(frame_times_s))):
        expr = f"if(eq(N,{n}),{round(t * 1000)},{expr})"  # in 1/1000 s ticks
    width, height = size
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25",
        "-vf", f"settb=1/1000,setpts='{expr}'",
        "-frames:v", str(len(frame_times_s)), "-fps_mode", "passthrough",
        "-enc_time_base", "1/1000",
        *_codec_args(path, codec), str(path),
    )  # fmt: skip
    return path


def make_video_from_frames(
    path: Path | str, frames: Iterable[np.ndarray], fps: float = 25.0, codec: str | None = None
) -> Path:
    """Encode RGB uint8 arrays (all the same even size) as a constant-rate clip."""
    path = Path(path)
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[:2]
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}",
        "-i", "pipe:", *_codec_args(path, codec), str(path),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        for frame in (first, *frames):
            proc.stdin.write(np.ascontiguousarray(frame, dtype=np.uint8).tobytes())
    finally:
        proc.stdin.close()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed to encode {path}: {stderr}")
    return path


def make_truncated_video(
    path: Path | str,
    keep_fraction: float = 0.5,
    size: tuple[int, int] = (96, 64),
    duration_s: float = 3.0,
    fps: float = 25.0,
) -> Path:
    """An MP4 (index at the front) cut to `keep_fraction` of its bytes: the start decodes."""
    path = Path(path)
    make_video(path, size=size, duration_s=duration_s, fps=fps, codec="libx264")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path


def make_undecodable_video(path: Path | str, size: tuple[int, int] = (96, 64)) -> Path:
    """An MP4 whose index (moov) is intact but whose frame data is gone: no frame decodes."""
    path = Path(path)
    make_video(path, size=size, duration_s=1.0, codec="libx264")
    data = path.read_bytes()
    mdat = data.find(b"mdat")
    if mdat < 0:
        raise RuntimeError("no mdat box in the generated MP4")
    path.write_bytes(data[: mdat + 12])
    return path


def make_audio_only(path: Path | str, duration_s: float = 1.0) -> Path:
    """A sine tone with no video stream; the codec follows the extension."""
    path = Path(path)
    codec = {".mp3": "libmp3lame", ".wav": "pcm_s16le"}.get(path.suffix.lower(), "aac")
    ffmpeg("-f", "lavfi", "-i", f"sine=duration={duration_s:g}", "-c:a", codec, str(path))
    return path


def pattern_rgb(width: int, height: int) -> np.ndarray:
    """An asymmetric RGB uint8 pattern: red grows left to right, green top to bottom, and a
    blue block marks the top-left corner (so flips and rotations are detectable)."""
    xs = np.linspace(0, 255, width, dtype=np.float64)[None, :]
    ys = np.linspace(0, 255, height, dtype=np.float64)[:, None]
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[..., 0] = np.broadcast_to(xs, (height, width)).round()
    image[..., 1] = np.broadcast_to(ys, (height, width)).round()
    image[: max(1, height // 4), : max(1, width // 4), 2] = 255
    return image


def make_image(
    path: Path | str,
    size: tuple[int, int] = (64, 48),
    mode: str = "RGB",
    exif_orientation: int | None = None,
    quality: int = 95,
) -> Path:
    """An image of `pattern_rgb` in a Pillow `mode`, saved by extension.

    Modes: RGB, L, P (palette), RGBA / LA (left half transparent), PA (palette + transparency),
    CMYK (JPEG/TIFF), I;16 (16-bit gray PNG/TIFF), RGB;16 (48-bit PNG/TIFF via OpenCV).
    `exif_orientation` (1-8) stores that EXIF tag; the pixels are stored as given, so a reader
    that honours the tag shows them rotated (6: 90 degrees clockwise).
    """
    path = Path(path)
    width, height = size
    rgb = pattern_rgb(width, height)
    if mode == "RGB;16":
        import cv2

        deep = rgb.astype(np.uint16) * 257
        if not cv2.imwrite(str(path), deep[..., ::-1]):
            raise RuntimeError(f"OpenCV could not write {path}")
        return path
    base = Image.fromarray(rgb, "RGB")
    if mode in ("RGBA", "LA", "PA"):
        alpha = np.full((height, width), 255, dtype=np.uint8)
        alpha[:, : width // 2] = 0
        rgba = base.convert("RGBA")
        rgba.putalpha(Image.fromarray(alpha, "L"))
        image = rgba.convert("LA") if mode == "LA" else rgba
        if mode == "PA":
            image = rgba.convert("P", palette=Image.Palette.ADAPTIVE, colors=255)
            image.info["transparency"] = 0
    elif mode == "I;16":
        gray = np.asarray(base.convert("L")).astype(np.uint16) * 257
        image = Image.fromarray(gray)  # uint16 -> mode I;16
    elif mode == "P":
        image = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    else:
        image = base.convert(mode)
    kwargs: dict[str, object] = {}
    if path.suffix.lower() in (".jpg", ".jpeg", ".webp"):
        kwargs["quality"] = quality
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif
    image.save(path, **kwargs)
    return path


def make_header_only_png(path: Path | str, width: int, height: int) -> Path:
    """A PNG whose header claims width x height but holds (almost) no pixel data.

    Lets a test check that a huge image is refused from its header, instantly.
    """
    path = Path(path)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    idat = zlib.compress(b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def make_large_png(
    path: Path | str, width: int, height: int, level: int = 9, alpha: bool = False
) -> Path:
    """A valid RGB (RGBA with `alpha`) PNG of width x height: dark with a bright square in the
    middle third.

    Written row by row with a streaming compressor, so making a 1 x 100,000,000 or a
    10000 x 10000 image takes little memory and leaves a file of a few hundred KB: the
    "tiny file, huge image" input.
    """
    path = Path(path)
    compressor = zlib.compressobj(level)
    depth = 4 if alpha else 3
    plain = b"\x00" + b"\x10" * (depth * width)
    x0, x1, y0, y1 = width // 3, 2 * width // 3, height // 3, 2 * height // 3
    dark, bright = b"\x10" * depth, b"\xc8" * depth
    square = b"\x00" + dark * x0 + bright * (x1 - x0) + dark * (width - x1)
    step = max(1, (1 << 22) // len(plain))  # about 4 MB of raw rows per compressor call

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    with path.open("wb") as handle:
        colour = 6 if alpha else 2
        ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, colour, 0, 0, 0])
        handle.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr))
        row = 0
        while row < height:
            count = min(step, height - row)
            rows = b"".join(square if y0 <= y < y1 else plain for y in range(row, row + count))
            for start in range(0, len(rows), 1 << 24):
                data = compressor.compress(rows[start : start + (1 << 24)])
                if data:
                    handle.write(chunk(b"IDAT", data))
            row += count
        handle.write(chunk(b"IDAT", compressor.flush()) + chunk(b"IEND", b""))
    return path


def make_text_file(path: Path | str, text: str = "this is not a video\n") -> Path:
    """A plain-text file (give it a media extension to test content sniffing)."""
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def make_zero_byte_file(path: Path | str) -> Path:
    """An empty file."""
    path = Path(path)
    path.write_bytes(b"")
    return path
