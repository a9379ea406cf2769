"""The detect-stage interface: a face detector finds every face in an RGB image."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

import numpy as np

from deepfake_analyzer.faces.types import FaceDetection


class FaceDetector(Protocol):
    """`detect` is the one required method; `close` frees native resources.

    `detect` takes a decoded frame's pixels (`Frame.image`, already checked when the `Frame`
    was made) or any other (H, W, 3) uint8 RGB image, such as a face crop for a second look;
    detectors check pixels from elsewhere with `media.types.require_rgb_uint8`. Boxes are in
    the given image's pixels.
    """

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]: ...

    def close(self) -> None: ...


def begin_media(detector: FaceDetector) -> None:
    """Tell `detector` that the frames after this are a new input's, where it keeps state
    across frames (an optional `begin_media` method: the auto detector's probes); a stateless
    detector needs nothing."""
    start = getattr(detector, "begin_media", None)
    if start is not None:
        start()


class ClosesOnExit:
    """`with` support for a stage object whose `close()` frees native resources."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
