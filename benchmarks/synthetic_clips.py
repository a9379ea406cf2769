"""Benchmark clips: 10 s videos with one or three moving faces, made from skimage's astronaut.

The astronaut photo (public domain, NASA) is pasted on a smooth background and drifts
slowly, so every sampled frame has the face(s) at slightly different places. Clips are
cached by their parameters in a folder outside the repository.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}


@dataclass(frozen=True)
class ClipRecipe:
    """What to generate: resolution name, face count, seconds, frames per second."""

    resolution: str
    faces: int
    duration_s: float = 10.0
    fps: float = 25.0

    @property
    def name(self) -> str:
        return f"{self.resolution}_{self.faces}face_{self.duration_s:g}s"

    @property
    def size(self) -> tuple[int, int]:
        return RESOLUTIONS[self.resolution]


def _astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def _resized(image: np.ndarray, side: int) -> np.ndarray:
    import cv2

    interpolation = cv2.INTER_AREA if side < image.shape[0] else cv2.INTER_LINEAR
    return cv2.resize(image, (side, side), interpolation=interpolation)


def _background(width: int, height: int) -> np.ndarray:
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :, None]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    base = np.array([60, 90, 120], np.float32) + 80 * x * np.array([1, 0.5, 0.2], np.float32)
    return np.clip(base + 40 * y, 0, 255).astype(np.uint8)


def _layout(recipe: ClipRecipe) -> list[tuple[float, float, int]]:
    """(centre x, centre y, side) of each pasted astronaut, as fractions of the frame / pixels."""
    width, height = recipe.size
    if recipe.faces == 1:
        return [(0.5, 0.5, int(height * 0.8))]
    side = int(min(width / 3.3, height * 0.6))
    return [(0.2, 0.45, side), (0.5, 0.55, side), (0.8, 0.45, side)][: recipe.faces]


def frames(recipe: ClipRecipe):
    """Yield the clip's RGB frames."""
    width, height = recipe.size
    background = _background(width, height)
    photo = _astronaut()
    patches = [(_resized(photo, side), cx, cy) for cx, cy, side in _layout(recipe)]
    count = int(round(recipe.duration_s * recipe.fps))
    for i in range(count):
        t = i / max(count - 1, 1)
        frame = background.copy()
        for k, (patch, cx, cy) in enumerate(patches):
            side = patch.shape[0]
            dx = int(0.04 * width * np.sin(2 * np.pi * (t + k / 3)))
            dy = int(0.02 * height * np.cos(2 * np.pi * (t + k / 3)))
            x0 = int(np.clip(cx * width - side / 2 + dx, 0, width - side))
            y0 = int(np.clip(cy * height - side / 2 + dy, 0, height - side))
            frame[y0 : y0 + side, x0 : x0 + side] = patch
        yield frame


def make_clip(recipe: ClipRecipe, folder: Path) -> Path:
    """The clip for `recipe` in `folder`, encoded with the project's ffmpeg (cached)."""
    from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{recipe.name}.mp4"
    if path.is_file() and path.stat().st_size > 0:
        return path
    width, height = recipe.size
    tmp = path.with_suffix(".part.mp4")
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
        "-r", f"{recipe.fps:g}", "-i", "pipe:",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
        "-movflags", "+faststart", str(tmp),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        for frame in frames(recipe):
            proc.stdin.write(frame.tobytes())
    finally:
        proc.stdin.close()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed to encode {path.name}: {stderr}")
    tmp.replace(path)
    return path
