"""Augmentation: shapes, determinism, no-op config, JPEG and real H.264 round trips."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepfake_analyzer.training.augment import (
    DEFAULT_AUGMENT,
    NO_AUGMENT,
    AugmentConfig,
    augment,
    augment_batch,
    h264_roundtrip,
    jpeg,
)


def smooth_batch(n: int = 6, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, size=(n, 8, 8, 3), dtype=np.uint8)
    return np.stack([cv2.resize(s, (size, size), interpolation=cv2.INTER_CUBIC) for s in small])


def test_augment_keeps_shape_dtype_and_is_seeded() -> None:
    batch = smooth_batch()
    a = augment_batch(batch, np.random.default_rng(3), DEFAULT_AUGMENT)
    b = augment_batch(batch, np.random.default_rng(3), DEFAULT_AUGMENT)
    assert a.shape == batch.shape and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, batch)


def test_no_augment_is_identity() -> None:
    batch = smooth_batch()
    out = augment_batch(batch, np.random.default_rng(0), NO_AUGMENT)
    assert np.array_equal(out, batch)


def test_flip_only_mirrors() -> None:
    image = smooth_batch(1)[0]
    config = AugmentConfig(
        flip_p=1.0, color_p=0, resize_p=0, blur_p=0, noise_p=0, jpeg_p=0, h264_p=0
    )
    assert np.array_equal(augment(image, np.random.default_rng(0), config), image[:, ::-1])


def test_jpeg_low_quality_loses_more_than_high() -> None:
    image = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    err_low = np.abs(jpeg(image, 40).astype(int) - image).mean()
    err_high = np.abs(jpeg(image, 100).astype(int) - image).mean()
    assert err_high < err_low


def test_h264_roundtrip_is_close_and_lossy() -> None:
    batch = smooth_batch(4, 64)
    out = h264_roundtrip(batch, crf=35)
    assert out.shape == batch.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(int) - batch).mean()
    assert 0 < diff < 20


def test_h264_skips_odd_sizes_and_missing_encoder() -> None:
    odd = smooth_batch(2, 63)
    assert np.array_equal(h264_roundtrip(odd, 30), odd)
    batch = smooth_batch(2)
    assert np.array_equal(h264_roundtrip(batch, 30, ffmpeg_exe="/nonexistent/ffmpeg"), batch)


def test_config_validates() -> None:
    with pytest.raises(ValueError):
        AugmentConfig(jpeg_quality=(0, 100))
    with pytest.raises(ValueError):
        AugmentConfig(flip_p=2.0)
