"""The MediaPipe model files the faces stage ships in `models/`, with their sha256 hashes.

They come unchanged from the PyPI wheel `mediapipe==0.10.21` (see models/MEDIAPIPE_PROVENANCE.md);
`scripts/extract_mediapipe_models.py` re-extracts them and checks these hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.spec import sha256_of
from deepfake_analyzer.paths import MODELS_DIR

__all__ = [
    "MEDIAPIPE_MODEL_FILES",
    "MEDIAPIPE_WHEEL",
    "MediaPipeModelFile",
    "model_file",
    "sha256_of",
]


@dataclass(frozen=True)
class MediaPipeModelFile:
    """One shipped model file: its name in `models/`, its path in the wheel, its hash."""

    name: str
    wheel_path: str
    sha256: str
    description: str


MEDIAPIPE_WHEEL = "mediapipe==0.10.21"
MEDIAPIPE_MODEL_FILES: dict[str, MediaPipeModelFile] = {
    f.name: f
    for f in (
        MediaPipeModelFile(
            "face_detection_short_range.tflite",
            "mediapipe/modules/face_detection/face_detection_short_range.tflite",
            "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
            "BlazeFace, faces within ~2 m, 128x128 input",
        ),
        MediaPipeModelFile(
            "face_detection_full_range_sparse.tflite",
            "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite",
            "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
            "BlazeFace full range, small/far faces, 192x192 input",
        ),
        MediaPipeModelFile(
            "face_landmark.tflite",
            "mediapipe/modules/face_landmark/face_landmark.tflite",
            "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
            "Face mesh, 468 landmarks from a 192x192 face crop",
        ),
    )
}


def model_file(name: str, models_dir: Path | None = None) -> Path:
    """Path of a shipped MediaPipe model; `ModelError` with the fix when it is missing."""
    if name not in MEDIAPIPE_MODEL_FILES:
        raise ModelError(f"unknown MediaPipe model file {name!r}")
    path = (models_dir or MODELS_DIR) / name
    if not path.is_file():
        raise ModelError(
            "face model file is missing; restore it from git or run "
            "`python scripts/extract_mediapipe_models.py`",
            path=path,
        )
    return path
