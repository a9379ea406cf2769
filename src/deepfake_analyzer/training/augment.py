"""Augmentation that mimics how media reach us: compression, resizing, blur, noise, colour, flips.

Every operation draws from a seeded `numpy.random.Generator`, so a seed reproduces a batch.
Real and fake crops get the same distribution of augmentations, so no augmentation can tell
them apart; resizing every crop through random down/up-scaling also hides the source
resolution (e.g. 160 px web photos vs 1024 px GAN faces).

H.264: `h264_roundtrip` encodes a stack of crops as a short clip with the ffmpeg binary
(libx264, random CRF) and decodes it back: real H.264 blocking, ringing and deblocking. It
costs one ffmpeg process per call (~50-100 ms for 32 crops of 160 px), so the trainer applies
it to a random part of a batch at once rather than to every crop; the per-crop JPEG step is
the cheaper stand-in for the same kind of DCT quantisation.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of each augmentation (applied in the order listed)."""

    flip_p: float = 0.5
    color_p: float = 0.3
    color_strength: float = 0.1
    resize_p: float = 0.35
    resize_scale: tuple[float, float] = (0.3, 0.9)
    blur_p: float = 0.15
    blur_sigma: tuple[float, float] = (0.3, 1.5)
    noise_p: float = 0.15
    noise_sigma: tuple[float, float] = (1.0, 8.0)
    jpeg_p: float = 0.6
    jpeg_quality: tuple[int, int] = (40, 100)
    h264_p: float = 0.2  # fraction of each batch sent through a real H.264 round trip
    h264_crf: tuple[int, int] = (18, 40)

    def __post_init__(self) -> None:
        for name in ("flip_p", "color_p", "resize_p", "blur_p", "noise_p", "jpeg_p", "h264_p"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1]")
        if not 1 <= self.jpeg_quality[0] <= self.jpeg_quality[1] <= 100:
            raise ValueError("jpeg_quality must be (low, high) within 1..100")
        if not 0 <= self.h264_crf[0] <= self.h264_crf[1] <= 51:
            raise ValueError("h264_crf must be (low, high) within 0..51")


DEFAULT_AUGMENT = AugmentConfig()
NO_AUGMENT = AugmentConfig(0, 0, 0, 0, blur_p=0, noise_p=0, jpeg_p=0, h264_p=0)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip an RGB uint8 image through JPEG at `quality`."""
    ok, buffer = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(buffer, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        return image
    rgb: np.ndarray = decoded[..., ::-1].copy()
    return rgb


def downscale_upscale(image: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Shrink by `scale` and enlarge back with randomly chosen interpolations."""
    h, w = image.shape[:2]
    small = (max(8, int(round(w * scale))), max(8, int(round(h * scale))))
    modes = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)
    down = cv2.resize(image, small, interpolation=modes[int(rng.integers(0, 3))])
    return cv2.resize(down, (w, h), interpolation=modes[1 + int(rng.integers(0, 2))])


def color_jitter(image: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Global brightness, contrast, saturation and per-channel gain changes of +-`strength`."""
    x = image.astype(np.float32)
    x = x * (1.0 + rng.uniform(-strength, strength, size=3).astype(np.float32) * 0.5)
    mean = x.mean()
    x = (x - mean) * (1.0 + rng.uniform(-strength, strength)) + mean
    x = x + rng.uniform(-strength, strength) * 255.0 * 0.5
    gray = x.mean(axis=2, keepdims=True)
    x = gray + (x - gray) * (1.0 + rng.uniform(-strength, strength) * 2.0)
    result: np.ndarray = np.clip(x, 0, 255).astype(np.uint8)
    return result


def augment(
    image: np.ndarray, rng: np.random.Generator, config: AugmentConfig = DEFAULT_AUGMENT
) -> np.ndarray:
    """One randomly augmented copy of an (H, W, 3) uint8 RGB crop (same shape and dtype)."""
    out = image
    if rng.random() < config.flip_p:
        out = out[:, ::-1]
    if rng.random() < config.color_p:
        out = color_jitter(out, config.color_strength, rng)
    if rng.random() < config.resize_p:
        out = downscale_upscale(out, float(rng.uniform(*config.resize_scale)), rng)
    if rng.random() < config.blur_p:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=float(rng.uniform(*config.blur_sigma)))
    if rng.random() < config.noise_p:
        sigma = float(rng.uniform(*config.noise_sigma))
        noisy = out.astype(np.float32) + rng.normal(0.0, sigma, size=out.shape).astype(np.float32)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    if rng.random() < config.jpeg_p:
        out = jpeg(
            np.ascontiguousarray(out), int(rng.integers(*config.jpeg_quality, endpoint=True))
        )
    return np.ascontiguousarray(out)


def h264_roundtrip(frames: np.ndarray, crf: int, ffmpeg_exe: str | None = None) -> np.ndarray:
    """Encode (N, H, W, 3) uint8 RGB frames as one H.264 clip at `crf` and decode them back.

    H and W must be even (yuv420p). Returns the input unchanged when ffmpeg fails, so a
    missing encoder never stops training (the JPEG step still compresses).
    """
    frames = np.ascontiguousarray(frames)
    if frames.ndim != 4 or len(frames) == 0:
        return frames
    n, h, w, _ = frames.shape
    if h % 2 or w % 2:
        return frames
    if ffmpeg_exe is None:
        import imageio_ffmpeg

        ffmpeg_exe = imageio_ffmpeg.get_ffmpeg_exe()
    common = ["-hide_banner", "-loglevel", "error"]
    raw = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}"]
    try:
        encoded = subprocess.run(
            [ffmpeg_exe, *common, *raw, "-r", "25", "-i", "pipe:", "-c:v", "libx264",
             "-preset", "veryfast", "-crf", str(int(crf)), "-pix_fmt", "yuv420p",
             "-threads", "1", "-f", "h264", "pipe:"],
            input=frames.tobytes(), capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip
        decoded = subprocess.run(
            [ffmpeg_exe, *common, "-f", "h264", "-i", "pipe:", "-threads", "1", *raw, "pipe:"],
            input=encoded, capture_output=True, check=True, timeout=60,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return frames
    out = np.frombuffer(decoded, dtype=np.uint8)
    if out.size != frames.size:
        return frames
    return out.reshape(frames.shape).copy()


def augment_batch(
    images: np.ndarray, rng: np.random.Generator, config: AugmentConfig = DEFAULT_AUGMENT
) -> np.ndarray:
    """Augment every crop of an (N, H, W, 3) batch; a random `h264_p` share also goes
    through one real H.264 round trip."""
    out = np.stack([augment(img, rng, config) for img in images])
    if config.h264_p > 0 and len(out):
        chosen = np.flatnonzero(rng.random(len(out)) < config.h264_p)
        if len(chosen):
            crf = int(rng.integers(*config.h264_crf, endpoint=True))
            out[chosen] = h264_roundtrip(out[chosen], crf)
    return out
