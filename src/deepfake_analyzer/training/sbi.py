"""Self-blended images (Shiohara & Yamasaki, CVPR 2022): pseudo-fakes made from one real face.

A real face crop is blended with a colour-, frequency- and geometry-perturbed copy of itself
through a soft mask built from its face-mesh landmarks. The result has the blending boundary
and colour mismatch that real face swaps leave, without any swap model. The original (target)
is kept exactly wherever the mask is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from deepfake_analyzer.training.config import SBI_LOWER_FACE_SHARE

# Face-mesh landmark indices of the face oval, in order (MediaPipe FACEMESH_FACE_OVAL).
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
# Inner-face regions (eyes + nose + mouth) for "partial" masks.
INNER_FACE = (
    70, 63, 105, 66, 107, 336, 296, 334, 293, 300, 33, 133, 362, 263, 1, 2, 98, 327, 61,
    291, 17, 0, 146, 375, 199, 200, 205, 425, 50, 280, 123, 352,
)  # fmt: skip

# The lower face: jaw line from cheek to cheek through the chin, closed by the nose base and
# the mid cheeks. The region lip-sync models (Wav2Lip and its kind) regenerate and paste back.
LOWER_FACE = (
    361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132,
    205, 98, 2, 327, 425,
)  # fmt: skip


@dataclass(frozen=True)
class SbiConfig:
    """Ranges of the random perturbations; defaults follow the paper's spirit at crop scale.

    Distances are fractions of the crop side, so the same config works at any crop size.
    """

    hue_shift: float = 8.0  # OpenCV hue units (0..180)
    sat_shift: float = 0.12  # fraction of 255
    val_shift: float = 0.12
    rgb_shift: float = 0.08
    contrast: float = 0.15  # factor in 1 +- this
    blur_sigma: tuple[float, float] = (0.4, 1.6)
    sharpen_amount: tuple[float, float] = (0.3, 1.0)
    scale: float = 0.04  # geometric scale 1 +- this
    translate: float = 0.03  # fraction of the side
    elastic: float = 0.02  # max displacement of the mask, fraction of the side
    morph: float = 0.03  # max erode/dilate radius, fraction of the side
    mask_blur: tuple[float, float] = (0.01, 0.05)  # Gaussian sigma, fraction of the side
    blend_ratios: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)
    lower_face_share: float = SBI_LOWER_FACE_SHARE
    """Share of masks that cover only the lower face (`LOWER_FACE`), as a lip-sync model's
    pasted mouth and jaw would; the rest are drawn as before (`random_mask`)."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.lower_face_share <= 1.0:
            raise ValueError(f"lower-face share {self.lower_face_share} outside [0, 1]")
        if not self.blend_ratios or not all(0.0 < r <= 1.0 for r in self.blend_ratios):
            raise ValueError("blend ratios must be in (0, 1]")
        if self.blur_sigma[0] > self.blur_sigma[1] or self.mask_blur[0] > self.mask_blur[1]:
            raise ValueError("ranges must be (low, high) with low <= high")

    def reach_px(self, size: int) -> int:
        """How far (pixels) the final mask can extend beyond the landmarks' convex hull."""
        return int(np.ceil(size * (self.elastic + self.morph + 3.0 * self.mask_blur[1]))) + 2


DEFAULT_SBI = SbiConfig()


@dataclass(frozen=True)
class SelfBlended:
    """A self-blended fake: `image` (H, W, 3) uint8, soft `mask` (H, W) float32 in [0, 1]."""

    image: np.ndarray
    mask: np.ndarray
    label: int = 1


def hull_mask(shape: tuple[int, int], points: np.ndarray) -> np.ndarray:
    """(H, W) float32 mask, 1 inside the convex hull of (N, 2) pixel points, else 0."""
    mask = np.zeros(shape, dtype=np.uint8)
    pts = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if len(pts) >= 3:
        hull = cv2.convexHull(np.round(pts).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(np.float32)


def random_mask(
    shape: tuple[int, int], landmarks: np.ndarray, rng: np.random.Generator, config: SbiConfig
) -> np.ndarray:
    """A randomly deformed, blurred, blend-ratio-scaled hull mask in [0, 1]."""
    size = max(shape)
    points = np.asarray(landmarks, dtype=np.float32)[:, :2]
    meshed = len(points) > max(FACE_OVAL)  # a whole face mesh, not just a few points
    choice = rng.random()
    if choice < 0.5 or not meshed:
        region = points  # whole mesh hull
    elif choice < 0.75:
        region = points[list(INNER_FACE)]  # inner face: eyes, nose, mouth
    else:  # random subset of the oval plus the inner face: a ragged hull
        keep = rng.random(len(FACE_OVAL)) < 0.7
        oval = points[[i for i, k in zip(FACE_OVAL, keep, strict=True) if k]]
        region = np.concatenate([oval, points[list(INNER_FACE)]])
    # drawn only when asked for, so that the default keeps its random stream (and batches)
    if config.lower_face_share > 0 and meshed and rng.random() < config.lower_face_share:
        region = points[list(LOWER_FACE)]
    mask = hull_mask(shape, region)
    mask = _elastic(mask, rng, config.elastic * size)
    radius = int(rng.integers(0, max(1, int(config.morph * size)) + 1))
    if radius > 0:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        op = cv2.erode if rng.random() < 0.5 else cv2.dilate
        mask = op(mask, kernel)
    sigma = float(rng.uniform(*config.mask_blur)) * size
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(sigma, 0.3), borderType=cv2.BORDER_CONSTANT)
    peak = float(mask.max())
    if peak > 0:
        mask = mask / peak  # blurred hull interior back to 1 before the blend ratio
    ratio = float(rng.choice(config.blend_ratios))
    blend_mask: np.ndarray = np.clip(mask * ratio, 0.0, 1.0).astype(np.float32)
    return blend_mask


def _elastic(mask: np.ndarray, rng: np.random.Generator, amplitude: float) -> np.ndarray:
    """Warp a mask with a smooth random displacement field of at most `amplitude` pixels."""
    if amplitude < 0.5:
        return mask
    h, w = mask.shape
    coarse = rng.uniform(-1.0, 1.0, size=(2, 4, 4)).astype(np.float32)
    dx = cv2.resize(coarse[0], (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(coarse[1], (w, h), interpolation=cv2.INTER_CUBIC)
    dx = np.clip(dx, -1, 1) * amplitude
    dy = np.clip(dy, -1, 1) * amplitude
    grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(mask, grid_x + dx, grid_y + dy, cv2.INTER_LINEAR, borderValue=0)


def perturb_source(
    image: np.ndarray, rng: np.random.Generator, config: SbiConfig = DEFAULT_SBI
) -> np.ndarray:
    """The colour-, frequency- and geometry-perturbed copy of `image` that gets blended in."""
    out = image.astype(np.float32)
    # colour: RGB shift, HSV shift, brightness/contrast
    out = out + rng.uniform(-1, 1, size=3).astype(np.float32) * config.rgb_shift * 255.0
    hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(-1, 1) * config.hue_shift) % 180.0
    hsv[..., 1] += rng.uniform(-1, 1) * config.sat_shift * 255.0
    hsv[..., 2] += rng.uniform(-1, 1) * config.val_shift * 255.0
    out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    mean = out.mean()
    out = (out - mean) * (1.0 + rng.uniform(-1, 1) * config.contrast) + mean
    # frequency: blur or sharpen
    if rng.random() < 0.5:
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=float(rng.uniform(*config.blur_sigma)))
    else:
        soft = cv2.GaussianBlur(out, (0, 0), sigmaX=1.0)
        out = out + float(rng.uniform(*config.sharpen_amount)) * (out - soft)
    # geometry: small scale and translation around the centre
    h, w = image.shape[:2]
    scale = 1.0 + rng.uniform(-1, 1) * config.scale
    tx, ty = rng.uniform(-1, 1, size=2) * config.translate * np.array([w, h])
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), 0.0, scale)
    matrix[:, 2] += (tx, ty)
    warped = cv2.warpAffine(out, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    result: np.ndarray = np.clip(warped, 0, 255).astype(np.uint8)
    return result


def self_blend(
    image: np.ndarray,
    landmarks: np.ndarray,
    rng: np.random.Generator,
    config: SbiConfig = DEFAULT_SBI,
) -> SelfBlended:
    """Blend `image` with a perturbed copy of itself through a landmark-hull mask.

    `image` is an (H, W, 3) uint8 real face crop, `landmarks` (N >= 3, 2+) its face-mesh points
    in the crop's pixels. Where the mask is 0 the result equals `image` exactly.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"self_blend needs an (H, W, 3) uint8 image, got {image.shape}")
    points = np.asarray(landmarks, dtype=np.float32)
    if points.ndim != 2 or points.shape[0] < 3 or points.shape[1] < 2:
        raise ValueError(f"landmarks must be (N >= 3, 2) points, got {points.shape}")
    source = perturb_source(image, rng, config)
    mask = random_mask(image.shape[:2], points, rng, config)
    m = mask[..., None]
    blended = source.astype(np.float32) * m + image.astype(np.float32) * (1.0 - m)
    out = np.clip(np.round(blended), 0, 255).astype(np.uint8)
    out[mask == 0] = image[mask == 0]
    return SelfBlended(image=out, mask=mask)
