"""The decode-stage interface: a media source yields frames with decoder timestamps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from deepfake_analyzer.media.types import Frame, MediaInfo


class MediaSource(Protocol):
    """An opened video or image. `frames()` is the one required method.

    `info` is known after opening; `warnings()` lists what was lost while decoding
    (e.g. "decoded 12 of ~20 expected frames: the file is truncated"), valid after `frames()`
    is exhausted.
    """

    info: MediaInfo

    def frames(self) -> Iterator[Frame]: ...

    def warnings(self) -> list[str]: ...
