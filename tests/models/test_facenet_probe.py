"""scripts/facenet_probe.py's features, and the projection it reads them through
(track_probe.py's; the network itself is not loaded)."""

from __future__ import annotations

import cv2
import numpy as np
from script_modules import script_module


def test_statistics_are_each_layers_channel_means_then_deviations() -> None:
    probe = script_module("facenet_probe")
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 5, 5, 3)), rng.normal(size=(2, 3, 3, 4))
    out = probe.statistics([a, b])
    assert out.shape == (2, 2 * 3 + 2 * 4)
    np.testing.assert_allclose(out[1, :3], a[1].mean(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(out[1, 3:6], a[1].std(axis=(0, 1)), rtol=1e-5)
    np.testing.assert_allclose(out[0, 10:], b[0].std(axis=(0, 1)), rtol=1e-5)


def test_principal_components_come_from_the_training_rows_in_falling_variance() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 6)) * np.array([5.0, 1.0, 3.0, 0.5, 0.1, 2.0])
    train = np.arange(400) < 300
    x[~train] += 100.0  # held-out rows must not move the standardisation
    z = script_module("track_probe").projected(x, train, 3)
    assert z.shape == (400, 3)
    var = z[train].var(axis=0)
    assert var[0] >= var[1] >= var[2] > 0
    np.testing.assert_allclose(z[train].mean(axis=0), 0.0, atol=1e-4)
    assert np.abs(z[~train]).mean() > 10 * np.abs(z[train]).mean()


def test_prepared_crops_are_rgb_standardised_each_on_its_own(tmp_path) -> None:
    probe = script_module("facenet_probe")
    img = np.zeros((224, 224, 3), np.uint8)
    img[:, :112, 2] = 200  # red on the left, in BGR as OpenCV writes it
    cv2.imwrite(str(tmp_path / "a.png"), img)
    cv2.imwrite(str(tmp_path / "b.png"), img // 2 + 10)
    x = probe.prepared([str(tmp_path / "a.png"), str(tmp_path / "b.png")])
    assert x.shape == (2, probe.SIZE, probe.SIZE, 3)
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), 0.0, atol=1e-4)
    np.testing.assert_allclose(x.std(axis=(1, 2, 3)), 1.0, atol=1e-3)
    assert x[0, 10, 10, 0] > x[0, 10, 10, 2]  # channel 0 is red
    np.testing.assert_allclose(x[0], x[1], atol=1e-3)  # a contrast change reads the same
