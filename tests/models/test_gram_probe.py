"""scripts/gram_probe.py's second-order statistics (the network itself is not loaded)."""

from __future__ import annotations

import numpy as np
from script_modules import script_module


def test_correlations_are_the_upper_triangle_of_each_images_channel_correlations() -> None:
    probe = script_module("gram_probe")
    rng = np.random.default_rng(0)
    block = rng.normal(size=(2, 6, 7, 4))
    block[0, ..., 1] = 3.0 * block[0, ..., 0] + 5.0  # the same channel, scaled and shifted
    block[0, ..., 2] = -block[0, ..., 0]
    out = probe.correlations(block)
    assert out.shape == (2, 4 * 3 // 2)
    # pairs in triangle order: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
    np.testing.assert_allclose(out[0, :2], [1.0, -1.0], atol=1e-5)
    np.testing.assert_allclose(out[0, 3], -1.0, atol=1e-5)
    expected = np.corrcoef(block[1].reshape(-1, 4), rowvar=False)[np.triu_indices(4, k=1)]
    np.testing.assert_allclose(out[1], expected, atol=1e-5)


def test_correlations_ignore_each_channels_level_and_spread() -> None:
    probe = script_module("gram_probe")
    block = np.random.default_rng(1).normal(size=(1, 5, 5, 3))
    rescaled = block * np.array([2.0, 0.1, 7.0]) + np.array([4.0, -1.0, 0.0])
    np.testing.assert_allclose(probe.correlations(block), probe.correlations(rescaled), atol=1e-5)


def test_a_flat_channel_reads_as_uncorrelated_not_as_nan() -> None:
    probe = script_module("gram_probe")
    block = np.random.default_rng(2).normal(size=(1, 4, 4, 3))
    block[0, ..., 2] = 0.5
    out = probe.correlations(block)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0, 1:], 0.0, atol=1e-6)
