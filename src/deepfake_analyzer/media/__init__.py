"""Decoding: videos through ffmpeg, stills through Pillow, folders into file lists."""

from deepfake_analyzer.media.open import discover_media, open_media

__all__ = ["discover_media", "open_media"]
