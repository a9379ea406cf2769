"""Robustness perturbations of face crops (JPEG, blur, noise, resize, H.264) at graded levels.

Levels follow DeeperForensics-1.0 (Jiang et al., CVPR 2020): its Gaussian blur kernels
7 / 13 / 21 px, white noise variances 0.001 / 0.005 / 0.01 (on [0, 1]), pixelation factors
2 / 3 / 4 and H.264 CRF 30 / 35 / 40 (its levels 1, 3 and 5), plus JPEG quality 90 / 60 / 30.
They are applied to the face crops at the model's input size (after face cropping), so a
level means the same thing for every source resolution. Each function maps (N, S, S, 3)
uint8 RGB crops to new ones of the same shape; H.264 encodes the batch as one short clip,
so consecutive crops of one video share inter-frame prediction as in a real re-encode.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepfake_analyzer.errors import DecodeError, UsageError

PerturbFn = Callable[[np.ndarray, float, np.random.Generator], np.ndarray]


def _check_crops(crops: np.ndarray) -> np.ndarray:
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
        raise ValueError(f"crops must be (N, H, W, 3) uint8 RGB, got {crops.shape} {crops.dtype}")
    return crops


def jpeg(crops: np.ndarray, quality: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Re-encode each crop as JPEG at `quality` (1-100, OpenCV's 4:2:0 encoder)."""
    crops = _check_crops(crops)
    params = [int(cv2.IMWRITE_JPEG_QUALITY), int(round(quality))]
    out = np.empty_like(crops)
    for i, crop in enumerate(crops):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), params)
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
        if decoded is None:
            raise DecodeError("OpenCV could not JPEG-encode a crop")
        out[i] = cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)
    return out


def gaussian_blur(
    crops: np.ndarray, kernel: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Gaussian blur with an odd `kernel` size in pixels; sigma from the size as OpenCV does."""
    crops = _check_crops(crops)
    k = int(round(kernel))
    if k < 1 or k % 2 == 0:
        raise ValueError(f"blur kernel must be a positive odd size, got {kernel}")
    return np.stack([cv2.GaussianBlur(c, (k, k), 0) for c in crops]) if len(crops) else crops


def gaussian_noise(
    crops: np.ndarray, variance: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Add white Gaussian noise of `variance` on the [0, 1] scale (per pixel and channel)."""
    crops = _check_crops(crops)
    rng = rng if rng is not None else np.random.default_rng(0)
    sigma = float(np.sqrt(variance)) * 255.0
    noisy = crops.astype(np.float32) + rng.normal(0.0, sigma, crops.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def resize_down_up(
    crops: np.ndarray, factor: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Downscale by `factor` (area) and back up (bilinear): lost resolution, as in a small face."""
    crops = _check_crops(crops)
    if factor < 1:
        raise ValueError(f"resize factor must be >= 1, got {factor}")
    out = np.empty_like(crops)
    for i, crop in enumerate(crops):
        h, w = crop.shape[:2]
        small = cv2.resize(
            crop,
            (max(1, round(w / factor)), max(1, round(h / factor))),
            interpolation=cv2.INTER_AREA,
        )
        out[i] = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


def h264(crops: np.ndarray, crf: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Encode the crops as one H.264 clip (libx264, `crf`, yuv420p, 25 fps) and decode it back.

    Odd sizes are padded to even (edge pixels repeated) for 4:2:0 and cropped back after.
    """
    crops = _check_crops(crops)
    if len(crops) == 0:
        return crops
    from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

    n, h, w, _ = crops.shape
    ph, pw = h + h % 2, w + w % 2
    padded = np.pad(crops, ((0, 0), (0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    exe = ffmpeg_exe()
    with tempfile.TemporaryDirectory(prefix="dfa-h264-") as tmp:
        clip = Path(tmp) / "clip.mp4"
        encode = [
            exe, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{pw}x{ph}", "-r", "25", "-i", "pipe:",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", str(int(round(crf))),
            "-pix_fmt", "yuv420p", str(clip),
        ]  # fmt: skip
        _run(encode, padded.tobytes())
        decode = [
            exe, "-hide_banner", "-loglevel", "error", "-i", str(clip),
            "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:",
        ]  # fmt: skip
        raw = _run(decode, None)
    frame_bytes = ph * pw * 3
    if len(raw) != n * frame_bytes:
        raise DecodeError(
            f"H.264 round trip returned {len(raw) // frame_bytes} frames for {n}; "
            "check that the ffmpeg binary has libx264"
        )
    frames = np.frombuffer(raw, dtype=np.uint8).reshape(n, ph, pw, 3)
    return np.ascontiguousarray(frames[:, :h, :w])


def _run(command: list[str], stdin: bytes | None) -> bytes:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise DecodeError(f"cannot run ffmpeg for the H.264 perturbation: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise DecodeError(
            "ffmpeg failed in the H.264 perturbation: " + (message[-1] if message else "no output")
        )
    return done.stdout


@dataclass(frozen=True)
class PerturbationKind:
    """A registered perturbation: its function, the parameter it takes, and default levels."""

    name: str
    parameter: str
    levels: tuple[float, ...]
    apply: PerturbFn


@dataclass(frozen=True)
class Perturbation:
    """One perturbation at one level (1 = mildest); `key` names it in reports, e.g. 'jpeg-3'."""

    kind: str
    level: int
    value: float

    def __post_init__(self) -> None:
        if self.kind not in PERTURBATIONS:
            raise UsageError(
                f"unknown perturbation {self.kind!r}; choose from {', '.join(PERTURBATIONS)}"
            )
        if self.level < 1:
            raise ValueError("perturbation levels count from 1")

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.level}"

    @property
    def description(self) -> str:
        return f"{self.kind} {PERTURBATIONS[self.kind].parameter} {self.value:g}"

    def __call__(self, crops: np.ndarray, seed: int = 0) -> np.ndarray:
        """The perturbed crops; noise draws from a generator seeded by `seed` and the level."""
        rng = np.random.default_rng([seed, self.level])
        return PERTURBATIONS[self.kind].apply(crops, self.value, rng)


PERTURBATIONS: dict[str, PerturbationKind] = {}


def register_perturbation(kind: PerturbationKind) -> PerturbationKind:
    """Add a perturbation to the registry (by `kind.name`)."""
    if kind.name in PERTURBATIONS:
        raise ValueError(f"perturbation {kind.name!r} is already registered")
    if not kind.levels:
        raise ValueError("a perturbation needs at least one level")
    PERTURBATIONS[kind.name] = kind
    return kind


for _kind in (
    PerturbationKind("jpeg", "quality", (90.0, 60.0, 30.0), jpeg),
    PerturbationKind("blur", "kernel", (7.0, 13.0, 21.0), gaussian_blur),
    PerturbationKind("noise", "variance", (0.001, 0.005, 0.01), gaussian_noise),
    PerturbationKind("resize", "factor", (2.0, 3.0, 4.0), resize_down_up),
    PerturbationKind("h264", "crf", (30.0, 35.0, 40.0), h264),
):
    register_perturbation(_kind)


def list_perturbations() -> list[str]:
    """Registered perturbation names, in registration order."""
    return list(PERTURBATIONS)


def default_perturbations(kinds: Sequence[str] | None = None) -> tuple[Perturbation, ...]:
    """Every level of each kind in `kinds` (all registered kinds when None)."""
    names = list(PERTURBATIONS) if kinds is None else list(kinds)
    for name in names:
        if name not in PERTURBATIONS:
            raise UsageError(
                f"unknown perturbation {name!r}; choose from {', '.join(PERTURBATIONS)}"
            )
    return tuple(
        Perturbation(name, level, value)
        for name in names
        for level, value in enumerate(PERTURBATIONS[name].levels, start=1)
    )
