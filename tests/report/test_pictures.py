"""Which crops a report keeps, and their JPEG thumbnails with and without heatmaps."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.report.pictures import CropPicker, ScoredCrop, encode_jpeg, thumbnails


def crop(score: float, frame_index: int = 0, track_id: int = 0) -> ScoredCrop:
    pixels = np.full((8, 8, 3), int(score * 255), np.uint8)
    return ScoredCrop(track_id, frame_index, frame_index * 0.5, score, pixels)


def test_picker_keeps_the_most_then_the_least_suspicious() -> None:
    picker = CropPicker(per_end=2)
    for i, score in enumerate([0.3, 0.6, 0.1, 0.5, 0.2, 0.4]):
        picker.offer(crop(score, frame_index=i))
    assert [c.score for c in picker.picked()] == [0.6, 0.5, 0.1, 0.2]


def test_picker_gives_each_crop_once_when_few() -> None:
    picker = CropPicker(per_end=4)
    for i, score in enumerate([0.3, 0.9, 0.1]):
        picker.offer(crop(score, frame_index=i))
    assert [c.frame_index for c in picker.picked()] == [1, 0, 2]


def test_thumbnails_are_jpegs_with_heatmaps_only_when_explained() -> None:
    crops = [crop(0.9, 3, track_id=1), crop(0.1, 4)]
    plain = thumbnails(crops)
    assert [(t.track_id, t.frame_index, t.score) for t in plain] == [(1, 3, 0.9), (0, 4, 0.1)]
    assert all(t.jpeg.startswith(b"\xff\xd8") and t.heatmap_jpeg is None for t in plain)
    explained = thumbnails(crops, np.ones((2, 4, 4), np.float32))
    assert [t.jpeg for t in explained] == [t.jpeg for t in plain]
    assert all((t.heatmap_jpeg or b"").startswith(b"\xff\xd8") for t in explained)
    assert encode_jpeg(crops[0].pixels) == plain[0].jpeg


def test_a_crop_is_rgb_uint8() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        ScoredCrop(0, 0, 0.0, 0.5, np.zeros((8, 8, 3), np.float32))
