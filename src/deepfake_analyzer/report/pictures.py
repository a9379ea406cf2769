"""Report pictures: which face crops a report shows, as JPEG thumbnails with Grad-CAM overlays.

The pipeline offers every classified crop to a `CropPicker`, which keeps only the
`per_end` most and `per_end` least suspicious ones (never all crops); `thumbnails` encodes the
picked crops, with a heatmap overlay beside each when the pipeline explained them.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepfake_analyzer.media.types import require_rgb_uint8
from deepfake_analyzer.report.types import Thumbnail

THUMBNAILS_PER_END = 4
"""How many of the most and of the least suspicious crops a report keeps."""
JPEG_QUALITY = 85


@dataclass(frozen=True)
class ScoredCrop:
    """One classified face crop: where it came from, its score and its RGB uint8 pixels."""

    track_id: int
    frame_index: int
    timestamp_s: float
    score: float
    pixels: np.ndarray

    def __post_init__(self) -> None:
        require_rgb_uint8(self.pixels, "a scored crop")


class CropPicker:
    """Keeps the `per_end` most and `per_end` least suspicious crops offered, no more."""

    def __init__(self, per_end: int = THUMBNAILS_PER_END) -> None:
        self.per_end = per_end
        self._high: list[tuple[float, int, ScoredCrop]] = []
        self._low: list[tuple[float, int, ScoredCrop]] = []
        self._offered = 0

    def offer(self, crop: ScoredCrop) -> None:
        self._offered += 1
        for heap, key in ((self._high, crop.score), (self._low, -crop.score)):
            item = (key, self._offered, crop)
            if len(heap) < self.per_end:
                heapq.heappush(heap, item)
            elif key > heap[0][0]:
                heapq.heapreplace(heap, item)

    def picked(self) -> list[ScoredCrop]:
        """Most suspicious first (highest score first), then least suspicious; each crop once."""
        ordered = sorted(self._high, reverse=True) + sorted(self._low, reverse=True)
        seen: set[int] = set()
        result = []
        for _, number, crop in ordered:
            if number not in seen:
                seen.add(number)
                result.append(crop)
        return result


def thumbnails(
    crops: Sequence[ScoredCrop], heatmaps: np.ndarray | None = None
) -> tuple[Thumbnail, ...]:
    """JPEG thumbnails of `crops`; with `heatmaps` ((N, H, W) Grad-CAM maps in [0, 1], one per
    crop), each also carries its heatmap overlaid on the crop."""
    if heatmaps is None:
        overlays: list[bytes | None] = [None] * len(crops)
    else:
        from deepfake_analyzer.models.gradcam import overlay_heatmap

        overlays = [
            encode_jpeg(overlay_heatmap(crop.pixels, heatmap))
            for crop, heatmap in zip(crops, heatmaps, strict=True)
        ]
    return tuple(
        Thumbnail(
            track_id=crop.track_id,
            frame_index=crop.frame_index,
            timestamp_s=crop.timestamp_s,
            score=crop.score,
            jpeg=encode_jpeg(crop.pixels),
            heatmap_jpeg=overlay,
        )
        for crop, overlay in zip(crops, overlays, strict=True)
    )


def encode_jpeg(image_rgb: np.ndarray, quality: int = JPEG_QUALITY) -> bytes:
    """JPEG bytes of an RGB uint8 image (empty when OpenCV cannot encode it)."""
    import cv2

    ok, buffer = cv2.imencode(
        ".jpg", np.ascontiguousarray(image_rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    return buffer.tobytes() if ok else b""
