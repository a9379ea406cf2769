"""Perturbations keep shape and dtype, and each level degrades more than the one before."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.training.perturb import (
    PERTURBATIONS,
    Perturbation,
    default_perturbations,
    gaussian_noise,
    h264,
)


@pytest.fixture(scope="module")
def textured_crops() -> np.ndarray:
    """Three 63x63 crops (odd size, as a 299 px model input is) of the astronaut photo."""
    image = data.astronaut()
    return np.stack([image[y : y + 63, x : x + 63] for y, x in ((60, 180), (100, 200), (30, 160))])


def _error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a.astype(np.float64) - b.astype(np.float64))))


@pytest.mark.parametrize("kind", list(PERTURBATIONS))
def test_levels_keep_shape_and_degrade_monotonically(kind: str, textured_crops) -> None:
    errors = []
    for perturbation in default_perturbations([kind]):
        out = perturbation(textured_crops)
        assert out.shape == textured_crops.shape and out.dtype == np.uint8
        errors.append(_error(out, textured_crops))
    assert len(errors) >= 3
    assert errors[0] > 0
    assert errors == sorted(errors), f"{kind} levels do not degrade in order: {errors}"


def test_noise_is_deterministic_per_seed_and_has_the_right_spread() -> None:
    flat = np.full((2, 40, 40, 3), 128, np.uint8)
    a = Perturbation("noise", 2, 0.005)(flat, seed=1)
    assert np.array_equal(a, Perturbation("noise", 2, 0.005)(flat, seed=1))
    assert not np.array_equal(a, Perturbation("noise", 2, 0.005)(flat, seed=2))
    # variance 0.01 on [0, 1] -> sigma 0.1 * 255 = 25.5 grey levels
    noisy = gaussian_noise(flat, 0.01, np.random.default_rng(0))
    assert noisy.astype(float).std() == pytest.approx(25.5, rel=0.05)


def test_h264_round_trip_keeps_frame_order(textured_crops) -> None:
    out = h264(textured_crops, 23)
    # each output frame is closest to its own input frame
    for i, frame in enumerate(out):
        errors = [_error(frame, crop) for crop in textured_crops]
        assert int(np.argmin(errors)) == i
        assert errors[i] < 8


def test_keys_and_unknown_names() -> None:
    keys = [p.key for p in default_perturbations()]
    assert keys[:3] == ["jpeg-1", "jpeg-2", "jpeg-3"]
    assert len(keys) == 3 * len(PERTURBATIONS)
    assert Perturbation("jpeg", 3, 30).description == "jpeg quality 30"
    with pytest.raises(UsageError, match="did you|choose from"):
        default_perturbations(["jpg"])


def test_bad_crops_are_refused() -> None:
    with pytest.raises(ValueError, match="uint8"):
        Perturbation("blur", 1, 7)(np.zeros((2, 8, 8, 3), np.float32))
