"""Where the project's shipped files live (models, sample media), and its user cache.

The package is installed editable from a checkout (`pip install -e .`), so shipped files are
found relative to the source tree: `<checkout>/models` and `<checkout>/sample_media`.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MODELS_DIR = PROJECT_ROOT / "models"
SAMPLE_MEDIA_DIR = PROJECT_ROOT / "sample_media"

DEFAULT_CLASSIFIER_SPEC = MODELS_DIR / "deepfake_v33.spec.json"
"""The default classifier's spec; its `weights_file` names the weights beside it (for v33, a
blend file naming its member specs: `deepfake_v33_face` (v4's face probe and the joint probe's
face part, fused), `deepfake_v33_mouth` (v4's mouth probe) and `deepfake_v33_context` (the
joint probe's part that reads the face's surroundings at margin 2.0), each with its part of the
track head, and the head, models/blend.py; the texture probes read their frozen backbone from
`texture_v1.f16.npz`)."""


def user_cache_dir() -> Path:
    """`~/.cache/deepfake-analyzer`: what is built or extracted locally from shipped and user
    files (face crops, checkpoints, runtime copies of models); never inside the checkout."""
    return Path.home() / ".cache" / "deepfake-analyzer"
