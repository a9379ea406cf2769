"""Self-blending: mask range and support, untouched pixels outside the mask, labels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepfake_analyzer.training.sbi import (
    DEFAULT_SBI,
    LOWER_FACE,
    SbiConfig,
    hull_mask,
    perturb_source,
    random_mask,
    self_blend,
)

SIZE = 128


def face_image() -> np.ndarray:
    """A smooth synthetic 'face': textured background with a bright ellipse."""
    rng = np.random.default_rng(0)
    image = rng.integers(40, 90, size=(SIZE, SIZE, 3), dtype=np.uint8)
    cv2.ellipse(image, (64, 64), (30, 40), 0, 0, 360, (200, 160, 140), -1)
    return image


def mesh_points(n: int = 468) -> np.ndarray:
    """Points spread over the ellipse, like a face mesh."""
    rng = np.random.default_rng(1)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.sqrt(rng.uniform(0, 1, n))
    return np.stack([64 + 28 * radius * np.cos(angle), 64 + 38 * radius * np.sin(angle)], axis=1)


@pytest.mark.parametrize("seed", range(12))
def test_mask_is_in_unit_range_and_zero_beyond_the_hull_reach(seed: int) -> None:
    points = mesh_points()
    mask = random_mask((SIZE, SIZE), points, np.random.default_rng(seed), DEFAULT_SBI)
    assert mask.dtype == np.float32 and mask.shape == (SIZE, SIZE)
    assert mask.min() >= 0.0 and mask.max() <= 1.0 and mask.max() > 0.2
    reach = DEFAULT_SBI.reach_px(SIZE)
    hull = hull_mask((SIZE, SIZE), points).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    outside = cv2.dilate(hull, kernel) == 0
    assert outside.any()
    assert np.all(mask[outside] < 1e-3)


@pytest.mark.parametrize("seed", range(8))
def test_blend_keeps_original_where_mask_is_zero_and_is_labeled_fake(seed: int) -> None:
    image = face_image()
    result = self_blend(image, mesh_points(), np.random.default_rng(seed))
    assert result.label == 1
    assert result.image.shape == image.shape and result.image.dtype == np.uint8
    zero = result.mask == 0
    assert zero.any()
    assert np.array_equal(result.image[zero], image[zero])
    inside = result.mask > 0.5
    if inside.any():
        assert np.abs(result.image[inside].astype(int) - image[inside]).mean() > 0.5


def test_blend_is_deterministic_for_a_seed() -> None:
    image = face_image()
    a = self_blend(image, mesh_points(), np.random.default_rng(5))
    b = self_blend(image, mesh_points(), np.random.default_rng(5))
    c = self_blend(image, mesh_points(), np.random.default_rng(6))
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)


def test_perturbed_source_differs_but_keeps_shape() -> None:
    image = face_image()
    out = perturb_source(image, np.random.default_rng(0))
    assert out.shape == image.shape and out.dtype == np.uint8
    assert not np.array_equal(out, image)


def test_hull_mask_fills_the_convex_hull() -> None:
    mask = hull_mask((20, 20), np.array([[2, 2], [17, 2], [17, 17], [2, 17]]))
    assert mask[10, 10] == 1 and mask[0, 0] == 0 and mask.sum() == 16 * 16


def test_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError):
        self_blend(np.zeros((8, 8), np.uint8), mesh_points(), np.random.default_rng(0))
    with pytest.raises(ValueError):
        self_blend(face_image(), np.zeros((2, 2)), np.random.default_rng(0))
    with pytest.raises(ValueError):
        SbiConfig(blend_ratios=(1.5,))


def split_face_points() -> np.ndarray:
    """A mesh whose lower-face points (`LOWER_FACE`) lie below y = 80 and all others above 50."""
    rng = np.random.default_rng(2)
    points = np.stack([rng.uniform(30, 98, 468), rng.uniform(10, 50, 468)], axis=1)
    lower = list(LOWER_FACE)
    points[lower] = np.stack([rng.uniform(40, 88, len(lower)), rng.uniform(80, 115, len(lower))], 1)
    return points


@pytest.mark.parametrize("seed", range(6))
def test_lower_face_masks_cover_mouth_and_jaw_only(seed: int) -> None:
    config = SbiConfig(lower_face_share=1.0)
    mask = random_mask((SIZE, SIZE), split_face_points(), np.random.default_rng(seed), config)
    reach = config.reach_px(SIZE)
    assert mask[: 80 - reach].max() < 1e-3, "nothing above the lower face"
    assert mask[80:115, 40:88].max() > 0.2


def test_lower_face_share_mixes_both_kinds_of_mask() -> None:
    config = SbiConfig(lower_face_share=0.5)
    upper = [
        random_mask((SIZE, SIZE), split_face_points(), np.random.default_rng(s), config)[:40].max()
        for s in range(40)
    ]
    lower_only = sum(value < 1e-3 for value in upper)
    assert 8 <= lower_only <= 32, lower_only
    with pytest.raises(ValueError, match="lower-face share"):
        SbiConfig(lower_face_share=1.5)
