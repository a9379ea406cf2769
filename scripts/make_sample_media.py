"""Make the sample media in sample_media/ from scikit-image's public-domain astronaut photo.

    python scripts/make_sample_media.py [--out sample_media]

Writes `astronaut.jpg` (the still), `real_pan_zoom.mp4` (a 6 s, 640x480, 25 fps H.264 yuv420p
clip of a smooth camera pan and zoom over the still) and `manipulated_pan_zoom.mp4` (the same
camera path over a copy whose face is replaced, frame by frame, by a colour-shifted, slightly
warped and re-filtered copy of itself blended through a soft face-mesh hull mask: a
self-blended fake). Deterministic for a given seed, ffmpeg build and CPU.

The photo is `skimage.data.astronaut()`: Eileen Collins, NASA (public domain), shipped in the
scikit-image wheel. Needs the project's faces stage (MediaPipe) for the face box and mesh.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepfake_analyzer.faces.detector import create_detector
from deepfake_analyzer.faces.landmarks import FaceMesh, face_hull_mask
from deepfake_analyzer.paths import SAMPLE_MEDIA_DIR

SEED = 20251125
FPS = 25
DURATION_S = 6.0
WIDTH, HEIGHT = 640, 480
CRF = 23

# Camera path over the 512x512 still: window height and centre at the start and the end.
WINDOW_HEIGHT = (372.0, 300.0)
WINDOW_CENTER = ((256.0, 210.0), (250.0, 188.0))
WOBBLE_PX = 1.5  # a hand-held camera's slow sway


@dataclass(frozen=True)
class BlendParams:
    """How the face copy differs from the original, before blending."""

    gains: tuple[float, float, float]
    offsets: tuple[float, float, float]
    scale: float
    angle_deg: float
    shift_px: tuple[float, float]
    blur_sigma: float
    sharpen: float
    hull_shrink: float
    mask_sigma: float


def astronaut() -> np.ndarray:
    """The 512x512 RGB still."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def blend_params(rng: np.random.Generator) -> BlendParams:
    """Seeded, clearly visible but plausible manipulation settings."""
    return BlendParams(
        gains=tuple(float(g) for g in 1.0 + rng.uniform(-0.08, 0.08, size=3)),
        offsets=tuple(float(o) for o in rng.uniform(-8, 8, size=3)),
        scale=float(rng.uniform(1.02, 1.05)),
        angle_deg=float(rng.uniform(-3, 3)),
        shift_px=(float(rng.uniform(-2, 2)), float(rng.uniform(-2, 2))),
        blur_sigma=float(rng.uniform(0.8, 1.4)),
        sharpen=float(rng.uniform(0.6, 1.0)),
        hull_shrink=float(rng.uniform(0.88, 0.94)),
        mask_sigma=float(rng.uniform(3.0, 5.0)),
    )


def face_points(still: np.ndarray) -> np.ndarray:
    """Face-mesh points of the astronaut, in the still's pixels."""
    with create_detector("short") as detector:
        faces = detector.detect(still)
    if not faces:
        raise SystemExit("no face found in the astronaut still: are the models in models/?")
    with FaceMesh() as mesh:
        return mesh.landmarks(still, faces[0].box_xyxy)


def blend_face(
    still: np.ndarray, points: np.ndarray, params: BlendParams, jitter: tuple[float, float]
) -> np.ndarray:
    """The still with its face replaced by a transformed copy, self-blending style."""
    image = still.astype(np.float32)
    center = points.mean(axis=0)
    # Source: colour shift, then blur and unsharp mask (a different "camera"), then a warp.
    source = image * np.array(params.gains, np.float32) + np.array(params.offsets, np.float32)
    blurred = cv2.GaussianBlur(source, (0, 0), params.blur_sigma)
    source = blurred + params.sharpen * (blurred - cv2.GaussianBlur(blurred, (0, 0), 2.0))
    matrix = cv2.getRotationMatrix2D(
        (float(center[0]), float(center[1])), params.angle_deg, params.scale
    )
    matrix[:, 2] += (params.shift_px[0] + jitter[0], params.shift_px[1] + jitter[1])
    source = cv2.warpAffine(
        source,
        matrix,
        (still.shape[1], still.shape[0]),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )
    # Mask: the mesh hull pulled towards its centre, edges softened.
    hull_points = center + (points - center) * params.hull_shrink
    mask = face_hull_mask(still.shape, hull_points)
    mask = cv2.GaussianBlur(mask, (0, 0), params.mask_sigma)[..., None]
    out = mask * source + (1.0 - mask) * image
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def camera_matrix(t: float) -> np.ndarray:
    """Affine map from output pixels to still pixels at time fraction t in [0, 1]."""
    ease = 0.5 - 0.5 * math.cos(math.pi * t)
    height = WINDOW_HEIGHT[0] + (WINDOW_HEIGHT[1] - WINDOW_HEIGHT[0]) * ease
    width = height * WIDTH / HEIGHT
    (cx0, cy0), (cx1, cy1) = WINDOW_CENTER
    cx = cx0 + (cx1 - cx0) * ease + WOBBLE_PX * math.sin(2 * math.pi * 0.37 * t * DURATION_S)
    cy = cy0 + (cy1 - cy0) * ease + WOBBLE_PX * math.sin(2 * math.pi * 0.23 * t * DURATION_S + 1)
    scale = width / WIDTH
    return np.array(
        [[scale, 0.0, cx - width / 2.0], [0.0, scale, cy - height / 2.0]], dtype=np.float64
    )


def render(still: np.ndarray, t: float) -> np.ndarray:
    """One output frame: the camera window over the still, resampled to WIDTH x HEIGHT."""
    return cv2.warpAffine(
        still,
        camera_matrix(t),
        (WIDTH, HEIGHT),
        flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REFLECT,
    )


def encode(frames: list[np.ndarray], path: Path) -> None:
    """H.264 yuv420p at FPS through the ffmpeg binary of imageio-ffmpeg (or the system's)."""
    import imageio_ffmpeg

    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{WIDTH}x{HEIGHT}",
        "-r",
        str(FPS),
        "-i",
        "pipe:",
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "medium",
        "-crf",
        str(CRF),
        "-threads",
        "2",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        str(path),
    ]
    data = b"".join(np.ascontiguousarray(f).tobytes() for f in frames)
    subprocess.run(cmd, input=data, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_MEDIA_DIR)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(args.seed)
    still = astronaut()
    cv2.imwrite(
        str(out / "astronaut.jpg"),
        cv2.cvtColor(still, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, 92],
    )

    points = face_points(still)
    params = blend_params(rng)
    n_frames = round(FPS * DURATION_S)
    # Per-frame jitter of the pasted face: a slow random walk, as face-swap output wobbles.
    jitter = np.cumsum(rng.normal(0.0, 0.15, size=(n_frames, 2)), axis=0)
    jitter -= jitter.mean(axis=0)

    real, fake = [], []
    for i in range(n_frames):
        t = i / (n_frames - 1)
        real.append(render(still, t))
        manipulated = blend_face(still, points, params, (float(jitter[i, 0]), float(jitter[i, 1])))
        fake.append(render(manipulated, t))
    encode(real, out / "real_pan_zoom.mp4")
    encode(fake, out / "manipulated_pan_zoom.mp4")
    for name in ("astronaut.jpg", "real_pan_zoom.mp4", "manipulated_pan_zoom.mp4"):
        print(f"wrote {out / name} ({(out / name).stat().st_size} bytes)")
    print(f"blend parameters: {params}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
