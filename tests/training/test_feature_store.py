"""training/feature_store.py: per-crop values stored in shards, reused only for the same pixels
and the same function, computed once per chunk that lacks them."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_analyzer.training.extract import CropCache, CropRecord
from deepfake_analyzer.training.feature_store import (
    Chunk,
    FeatureStore,
    cached_values,
    crop_key,
    set_name,
)


class Counting:
    """A compute that records how many crops it was given."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.seen = 0

    def __call__(self, images: np.ndarray) -> np.ndarray:
        self.seen += len(images)
        return images.reshape(len(images), -1)[:, :2].astype(np.float32) * self.scale


def _chunks(images: np.ndarray, size: int, made: list[int]) -> list[Chunk]:
    """Chunks of `size` keys k0, k1, ...; each image made is recorded in `made`."""

    def maker(start: int, positions: Sequence[int]) -> np.ndarray:
        made.extend(start + j for j in positions)
        return images[[start + j for j in positions]]

    return [
        Chunk(tuple(f"k{i}" for i in range(s, min(s + size, len(images)))), partial(maker, s))
        for s in range(0, len(images), size)
    ]


def test_values_are_computed_once_then_read_from_a_new_store(tmp_path: Path) -> None:
    images = np.arange(5 * 2 * 2 * 3, dtype=np.uint8).reshape(5, 2, 2, 3)
    a, made = Counting(1.0), []
    first = cached_values(FeatureStore(tmp_path), {"a": ("set-a", a)}, _chunks(images, 2, made))
    assert a.seen == 5 and made == [0, 1, 2, 3, 4]
    assert np.array_equal(first["a"], images.reshape(5, -1)[:, :2])
    again, made_again = Counting(1.0), []
    progress: list[int] = []
    second = cached_values(
        FeatureStore(tmp_path), {"a": ("set-a", again)}, _chunks(images, 2, made_again),
        progress.append,
    )  # fmt: skip
    assert again.seen == 0 and made_again == [] and progress == [2, 4, 5]
    assert np.array_equal(second["a"], first["a"])


def test_only_missing_values_are_computed_from_images_made_once(tmp_path: Path) -> None:
    images = np.arange(4 * 2 * 2 * 3, dtype=np.uint8).reshape(4, 2, 2, 3)
    store = FeatureStore(tmp_path)
    cached_values(store, {"a": ("set-a", Counting(1.0))}, _chunks(images, 4, []))
    store.add("set-b", ["k0", "k1"], np.ones((2, 2), np.float32))  # b lacks k2 and k3
    store.add("set-a-new", ["k1"], np.ones((1, 2), np.float32))  # a-new lacks all but k1
    a, b, new, made = Counting(1.0), Counting(2.0), Counting(3.0), []
    values = cached_values(
        FeatureStore(tmp_path),
        {"a": ("set-a", a), "b": ("set-b", b), "new": ("set-a-new", new)},
        _chunks(images, 4, made),
    )
    assert made == [0, 2, 3]  # each image once, for every set lacking it
    assert (a.seen, b.seen, new.seen) == (0, 2, 3)
    assert np.array_equal(values["b"][:2], np.ones((2, 2)))
    assert np.array_equal(values["b"][2:], 2.0 * images[2:].reshape(2, -1)[:, :2])
    assert np.array_equal(values["new"][1], np.ones(2))


def test_an_unreadable_shard_is_computed_again(tmp_path: Path) -> None:
    images = np.zeros((2, 2, 2, 3), np.uint8)
    cached_values(FeatureStore(tmp_path), {"a": ("set-a", Counting(1.0))}, _chunks(images, 2, []))
    (shard,) = (tmp_path / "set-a").glob("*.npz")
    shard.write_bytes(b"cut short")
    a = Counting(1.0)
    cached_values(FeatureStore(tmp_path), {"a": ("set-a", a)}, _chunks(images, 2, []))
    assert a.seen == 2
    with pytest.raises(ValueError, match="2 keys for 1 rows"):
        FeatureStore(tmp_path).add("set-a", ["x", "y"], np.zeros((1, 2)))


def test_keys_follow_the_crop_file_and_its_variant(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "c.png"), np.zeros((8, 8, 3), np.uint8))
    record = CropRecord("c.png", "a.mp4", 0, "g", "d", "real", "video", 0, 0.0, (0, 0, 8, 8), 1.0)
    cache = CropCache(tmp_path, (record,))
    key = crop_key(cache, record)
    assert crop_key(cache, record, "#self-blended") != key
    cv2.imwrite(str(tmp_path / "c.png"), np.full((8, 8, 3), 255, np.uint8))
    os.utime(tmp_path / "c.png", ns=(1, 1))  # a rewritten crop, whatever its clock says
    assert crop_key(cache, record) != key


def test_set_names_differ_by_what_the_values_depend_on() -> None:
    assert set_name("texture-face", "abc", None) == set_name("texture-face", "abc", None)
    assert set_name("texture-face", "abc", None) != set_name("texture-face", "abd", None)
    assert set_name("texture-face", "abc", None).startswith("texture-face-")
