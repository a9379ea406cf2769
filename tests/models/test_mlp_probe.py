"""scripts/mlp_probe.py's head: it must learn what a linear probe cannot."""

from __future__ import annotations

import numpy as np
import pytest
from script_modules import script_module


@pytest.mark.slow  # trains two small Keras networks (~9 s)
def test_the_hidden_layer_learns_a_nonlinear_boundary_and_uses_the_weights() -> None:
    probe = script_module("mlp_probe")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10000, 4)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(int)  # quadrants: a linear probe reads 0.5
    w = np.ones(len(y))
    logit = probe.trained_head(x[:8000], y[:8000], w[:8000], (32, 1e-4, 0.0))(x[8000:])
    test = y[8000:]
    pairs = logit[test == 1][:, None] > logit[test == 0][None]
    assert pairs.mean() > 0.9
    # rows weighted zero are not learned from: labels flipped on them change nothing much
    flipped = np.where(np.arange(8000) % 2 == 0, 1 - y[:8000], y[:8000])
    w_half = (np.arange(8000) % 2 == 1).astype(float)
    logit2 = probe.trained_head(x[:8000], flipped, w_half, (32, 1e-4, 0.0))(x[8000:])
    assert (logit2[test == 1][:, None] > logit2[test == 0][None]).mean() > 0.85
