"""Does one more box of the face crop carry fake evidence of its own? (a region member)

    python scripts/region_probe.py extract CTX_DIR OUT_DIR NAME TOP BOTTOM LEFT RIGHT
    python scripts/region_probe.py fit CTX_DIR OUT_DIR NAME [DIMS]

The blend reads the whole 1.3 crop (face member), the crop at margin 2.0 (context) and the
mouth box (`models/texture.py`, `MOUTH_BOX`), each through the same frozen EfficientNet-Lite0
and its pooled block statistics. `extract` computes those statistics (`texture_backbone.
feature_model`, the members' own) of another box of each 1.3 crop of an earlier
`context_probe.py extract` folder (CTX_DIR's crops.json), the box given as fractions of the
crop's side (top, bottom, left, right), cut and resized back to 224 px inside the network as
the mouth member cuts its box; they go to OUT_DIR/region_NAME.npz. `fit` compares probes on
Lite0's face statistics, on the box's (reduced to DIMS principal components, default 256) and on
both, on the held-out crop path (`facenet_probe.beside_lite0`). Needs
scripts/get_texture_backbone.sh first.

Measured (forty-first session; extract 8 minutes, fit 10): the eyes, `eyes 0.22 0.55 0.15 0.85`
(the band from brows to below the eyes, most of the crop's width): alone CV 0.627, held-out
video 0.605 / images 0.636 (Lite0's face statistics 0.686, 0.660 / 0.712); beside them CV
0.686, 0.656 / 0.715 (-0.004 / +0.003 unclear). Not kept: models/deepfake_v23.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def extract(ctx: Path, out: Path, name: str, box: tuple[float, float, float, float]) -> None:
    import cv2

    from deepfake_analyzer.models import texture
    from deepfake_analyzer.training.texture_backbone import (
        feature_model,
        load_backbone,
        texture_features,
    )

    texture.region_pixels(texture.INPUT_SIZE, box)  # a box outside the crop fails here
    rows = json.loads((ctx / "crops.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    extractor = feature_model(load_backbone(), box)
    parts, began, batch = [], time.time(), 256
    for start in range(0, len(rows), batch):
        crops = np.stack([cv2.imread(r["narrow"])[..., ::-1] for r in rows[start : start + batch]])
        parts.append(texture_features(extractor, crops))
        if (start // batch) % 10 == 9:
            print(f"{start + batch} crops ({(start + batch) / (time.time() - began):.1f}/s)")
    np.savez(out / f"region_{name}.npz", features=np.concatenate(parts), box=np.array(box))
    print(f"{len(rows)} crops -> {out}")


def fit(ctx: Path, out: Path, name: str, dims: int = 256) -> None:
    from facenet_probe import beside_lite0

    beside_lite0(ctx, out, name, np.load(out / f"region_{name}.npz")["features"], dims)


if __name__ == "__main__":
    command, ctx_dir, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    region = sys.argv[4]
    if command == "fit":
        fit(ctx_dir, out_dir, region, *(int(a) for a in sys.argv[5:6]))
    else:
        edges = tuple(float(a) for a in sys.argv[5:9])
        extract(ctx_dir, out_dir, region, (edges[0], edges[1], edges[2], edges[3]))
