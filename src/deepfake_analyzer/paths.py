"""Where the project's shipped files live (models, sample media), and its user cache.

The package is installed editable from a checkout (`pip install -e .`), so shipped files are
found relative to the source tree: `<checkout>/models` and `<checkout>/sample_media`.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = PROJECT_ROOT / "models"
SAMPLE_MEDIA_DIR = PROJECT_ROOT / "sample_media"

DEFAULT_CLASSIFIER_SPEC = MODELS_DIR / "deepfake_v12.spec.json"
"""The default classifier's spec; its `weights_file` names the weights beside it (for v12, a
blend file naming its member specs: v4's `deepfake_v4_face` and `deepfake_v4_mouth`, and
`deepfake_v12_residual`, models/blend.py; the two texture probes read their frozen backbone
from `texture_v1.f16.npz`, the residual model is a probe file, models/residual.py)."""


def user_cache_dir() -> Path:
    """`~/.cache/deepfake-analyzer`: what is built or extracted locally from shipped and user
    files (face crops, checkpoints, runtime copies of models); never inside the checkout."""
    return Path.home() / ".cache" / "deepfake-analyzer"
