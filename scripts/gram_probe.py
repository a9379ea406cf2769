"""Do the correlations between a block's channels carry fake evidence? (second-order texture)

    python scripts/gram_probe.py extract CTX_DIR OUT_DIR [narrow|crop]
    python scripts/gram_probe.py fit CTX_DIR OUT_DIR [DIMS] [TAP ...]

Every texture member pools each EfficientNet-Lite0 block output to two numbers per channel,
its mean and standard deviation (`models/texture.py`, `pooled_features`). How the channels
move together over the face is thrown away, and that is the statistic a Gram matrix keeps:
style transfer reads texture through it, and GAN images differ from camera images in it in a
way that held across GANs in the literature (GramNet, Liu et al., CVPR 2020). `extract` reads
the crops of an earlier `context_probe.py extract` folder (CTX_DIR's crops.json: `narrow`, the
1.3-margin face crop, by default; `crop`, the wide one) through the same frozen backbone as
the members (224 px, (x - 127) / 128) and keeps, for each crop and each block in `TAPS`, the
upper triangle of the correlation matrix of its channels over the block's pixels (each channel
standardised over the pixels first, so it says nothing the mean and deviation already say).
`fit` compares probes on the Lite0 face features, on the correlations (all taps, or the TAPs
given, reduced to DIMS principal components, default 256) and on both, on the held-out crop
path (`facenet_probe.beside_lite0`). Needs scripts/get_texture_backbone.sh first.

Measured (forty-first session; extract 8 minutes, each fit 10): not kept. Taps 2+4+10 alone CV
0.654, held-out video 0.631 / images 0.657 against Lite0's 0.686, 0.660 / 0.712; beside Lite0
CV 0.699, video 0.665 (+0.004 unclear) / images 0.708 (-0.003 unclear). Taps 2+4: alone CV
0.642, 0.612 / 0.665; beside Lite0 CV 0.688, 0.660 / 0.712 (no change). models/deepfake_v23.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

TAPS = (2, 4, 10)
"""Blocks whose channel correlations are kept: 24, 40 and 112 channels at 56, 28 and 14 px
(276, 780 and 6,216 values)."""


def correlations(block: np.ndarray) -> np.ndarray:
    """(N, C (C - 1) / 2): the upper triangle of each image's channel correlation matrix."""
    n, h, w, c = block.shape
    x = block.reshape(n, h * w, c).astype(np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    x = x / np.maximum(x.std(axis=1, keepdims=True), 1e-6)
    corr = np.einsum("npc,npd->ncd", x, x) / (h * w)
    upper = np.triu_indices(c, k=1)
    return corr[:, upper[0], upper[1]].astype(np.float32)


def extract(ctx: Path, out: Path, which: str = "narrow", batch: int = 64) -> None:
    import cv2
    import keras

    from deepfake_analyzer.models import texture
    from deepfake_analyzer.training.texture_backbone import load_backbone

    rows = json.loads((ctx / "crops.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    backbone = load_backbone()  # its outputs are the members' taps, a superset of ours
    model = keras.Model(backbone.input, [backbone.outputs[texture.TAPS.index(t)] for t in TAPS])
    parts: list[list[np.ndarray]] = [[] for _ in TAPS]
    began = time.time()
    for start in range(0, len(rows), batch):
        images = []
        for r in rows[start : start + batch]:
            image = cv2.imread(r[which])[..., ::-1]
            size = texture.INPUT_SIZE
            if image.shape[0] != size:
                image = cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
            images.append(image)
        x = (np.stack(images).astype(np.float32) - 127.0) / 128.0
        for part, block in zip(parts, model(x, training=False), strict=True):
            part.append(correlations(np.asarray(block)))
        if (start // batch) % 40 == 39:
            rate = (start + batch) / (time.time() - began)
            print(f"{start + batch} crops ({rate:.1f}/s)", flush=True)
    saved = {f"tap{t}": np.concatenate(p) for t, p in zip(TAPS, parts, strict=True)}
    np.savez(out / f"gram_{which}.npz", **saved)
    print(f"{len(rows)} crops -> {out}")


def fit(ctx: Path, out: Path, dims: int = 256, taps: tuple[int, ...] = TAPS) -> None:
    from facenet_probe import beside_lite0

    saved = np.load(out / "gram_narrow.npz")
    features = np.concatenate([saved[f"tap{t}"] for t in taps], axis=1)
    beside_lite0(ctx, out, "gram " + "+".join(str(t) for t in taps), features, dims)


if __name__ == "__main__":
    command, ctx_dir, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if command == "fit":
        args = [int(a) for a in sys.argv[4:]]
        fit(ctx_dir, out_dir, *(args[:1]), *([tuple(args[1:])] if args[1:] else []))
    else:
        extract(ctx_dir, out_dir, *sys.argv[4:5])
