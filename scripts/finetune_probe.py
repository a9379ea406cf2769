"""Does fine-tuning EfficientNet-Lite0's last blocks beat the linear probe on unseen generators?

    python scripts/context_probe.py extract OUT_DIR 2.0 --maps [GATHERED_DIR ...]
    python scripts/finetune_probe.py run OUT_DIR [EPOCHS [LEARNING_RATE]]
    python scripts/finetune_probe.py tables OUT_DIR EPOCH [LEARNING_RATE]
    python scripts/finetune_probe.py ring OUT_DIR

Every texture member so far is a linear probe on a frozen ImageNet backbone. This measures the
lever the cards keep naming next: letting the backbone's last blocks learn. `context_probe.py
extract --maps` keeps each 1.3 crop's block-10 activations (14 x 14 x 112), so the trainable
top, blocks 11-15 (Lite0's last two stages, about a third of its compute), trains on 2 cores
without running the frozen part again.

`run` splits the protocol's training part once more by `probe_folds` (generators for labeled
fakes, people for reals): fold 0 is the validation part, the rest the fitting part. On the
fitting part it fits v17's joint probe (the 1.3 crop's and the margin-2.0 crop's texture
features side by side, `RESIDUAL_SHARES`, photo sizes matched, L2 by CV within the fitting
part), then builds the fine-tuned model: the maps through blocks 11-15 (ImageNet weights to
start, batch normalisations frozen, random horizontal flips), their mean and standard deviation
beside the frozen features (blocks 2, 4 and 10 of the 1.3 crop; the whole margin-2.0 crop),
standardised and read by the probe's weights. At epoch 0 it is exactly the linear probe. It
trains with the probe's sample weights (weighted cross-entropy, Adam) and after every epoch
reads the validation part's weighted AUC; the epoch with the best validation AUC is chosen
(ties: the earlier), and only then is the held-out part read: the crop-path table (one view, a
video's score its crops' top-quarter mean) of the fine-tuned model against the linear probe,
alone and each as v12's fourth member as v17 was built. Outputs (the history, each epoch's
logits and weights, the tables) under OUT_DIR/finetune-LEARNING_RATE.

`ring` asks the same maps another question, with the backbone frozen: does the inner face
differ from the cells around it (a face swap's blend boundary, a pasted face)? Per channel of
block 10 (14 x 14) and of block 15 (7 x 7, the frozen top run on the maps), the inner square's
mean minus the ring's, the log ratio of their standard deviations, and the map's maximum (1,296
values); a probe on them alone and one on v17's joint features beside them, fitted as the joint
probe is, their CV AUC, then the held-out tables against the joint probe (OUT_DIR/ring).
Both measured, not kept: models/deepfake_v18.md, "Tried since shipping".
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from context_probe import MAPS_FILE
from mesh_feature_probe import (
    held_out,
    labeled_crops,
    print_tables,
    residual_fit,
    v12_logit,
    with_member,
)

from deepfake_analyzer.models.texture import FEATURE_SIZE

TOP = range(11, 16)
"""The trainable blocks (`models/texture.BLOCKS` indices); the maps are block 10's output."""
FROZEN = 352
"""The face features that stay fixed: mean and std of blocks 2, 4 and 10 (24 + 40 + 112
channels); the last 640 (block 15's) come from the trainable top."""
FEATURES = 2 * FEATURE_SIZE
"""The joint probe's features: the 1.3 crop's, then the margin-2.0 crop's."""
LEARNING_RATE = 1e-4
"""Adam's step size unless `run` is given another."""
BATCH = 64
SEED = 0
RING_INNER = {10: 10, 15: 5}
"""Per block, the side in cells of the middle square of its map that `ring` calls the inner
face (the face box is the middle 1 / 1.3 of the crop); the cells around it are the ring."""


def build_top(backbone: Any, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray,
              bias: float) -> Any:  # fmt: skip
    """maps, fixed features -> logit: blocks `TOP` with `backbone`'s weights, pooled, beside
    the fixed features, standardised by (`mean`, `scale`) and read by (`coef`, `bias`)."""
    import keras
    from keras import layers

    from deepfake_analyzer.models.texture import BLOCKS, BN_EPSILON, pooled_features

    maps = keras.Input((14, 14, BLOCKS[TOP.start - 1][4]), name="maps")
    fixed = keras.Input((len(mean) - (FEATURE_SIZE - FROZEN),), name="fixed")
    x = layers.RandomFlip("horizontal", seed=SEED)(maps)
    parts = ("expand", "bn0", "dw", "bn1", "project", "bn2")
    copied = {f"b{i}_{part}" for i in TOP for part in parts}
    for i in TOP:
        kernel, stride, expand, width_in, width_out = BLOCKS[i]
        h = layers.Conv2D(width_in * expand, 1, use_bias=False, name=f"b{i}_expand")(x)
        h = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"b{i}_bn0")(h)
        h = layers.ReLU(6.0)(h)
        h = layers.DepthwiseConv2D(kernel, stride, "same", use_bias=False, name=f"b{i}_dw")(h)
        h = layers.ReLU(6.0)(layers.BatchNormalization(epsilon=BN_EPSILON, name=f"b{i}_bn1")(h))
        h = layers.Conv2D(width_out, 1, use_bias=False, name=f"b{i}_project")(h)
        h = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"b{i}_bn2")(h)
        x = layers.Add()([h, x]) if stride == 1 and width_in == width_out else h
    feats = keras.ops.concatenate([fixed[:, :FROZEN], pooled_features([x]), fixed[:, FROZEN:]], 1)
    z = (feats - mean.astype(np.float32)) / scale.astype(np.float32)
    head = layers.Dense(1, name="head")
    logit = head(z)
    model = keras.Model([maps, fixed], logit)
    for layer in model.layers:
        if layer.name in copied:
            layer.set_weights(backbone.get_layer(layer.name).get_weights())
        if isinstance(layer, layers.BatchNormalization):
            layer.trainable = False  # inference statistics, as the frozen backbone's
    head.set_weights([coef.reshape(-1, 1).astype(np.float32), np.array([bias], np.float32)])
    return model


def logits_of(model: Any, maps: np.ndarray, fixed: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = []
    for start in range(0, len(idx), 256):
        chunk = idx[start : start + 256]
        x = [np.asarray(maps[chunk], np.float32), fixed[chunk]]
        out.append(np.asarray(model(x, training=False), np.float64).reshape(-1))
    return np.concatenate(out)


def work_folder(out: Path, learning_rate: float) -> Path:
    return out / f"finetune-{learning_rate:g}"


def run(out: Path, epochs: int, learning_rate: float = LEARNING_RATE) -> None:
    import keras

    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.training.texture_backbone import load_backbone
    from deepfake_analyzer.training.texture_train import (
        RESIDUAL_SHARES,
        probe_folds,
        weighted_auc,
        weights_of,
    )

    keras.utils.set_random_seed(SEED)
    work = work_folder(out, learning_rate)
    work.mkdir(parents=True, exist_ok=True)
    crops, _, data = labeled_crops(out)
    maps = np.load(out / MAPS_FILE, mmap_mode="r")
    x = np.concatenate([data["face"], data["context"]], axis=1).astype(np.float32)
    fixed = np.concatenate([x[:, :FROZEN], x[:, FEATURE_SIZE:]], axis=1)
    y = np.array([c.label for c in crops], np.float32)

    train_idx = np.nonzero(weights_of(crops, RESIDUAL_SHARES, True) > 0)[0]
    fold = probe_folds([crops[i] for i in train_idx])
    val_set = set(train_idx[fold == 0].tolist())
    fitting = [replace(c, part="") if i in val_set else c for i, c in enumerate(crops)]
    validating = [
        c if i in val_set else replace(c, part="" if c.part == "train" else c.part)
        for i, c in enumerate(crops)
    ]
    w_fit = weights_of(fitting, RESIDUAL_SHARES, True)
    w_val = weights_of(validating, RESIDUAL_SHARES, True)
    fit_idx, val_idx = np.nonzero(w_fit > 0)[0], np.nonzero(w_val > 0)[0]
    held_idx = np.nonzero(held_out(crops)[0])[0]
    print(f"fitting {len(fit_idx)} crops, validating {len(val_idx)}, held out {len(held_idx)}",
          flush=True)  # fmt: skip

    probe, _ = residual_fit(x, fitting, "linear joint (on the fitting part)")
    z_linear = logits(probe.probability(x))

    model = build_top(load_backbone(), probe.mean, probe.scale, probe.weights, probe.bias)
    check = logits_of(model, maps, fixed, held_idx[:64])
    print(f"epoch 0 equals the probe: max |difference| "
          f"{np.abs(check - z_linear[held_idx[:64]]).max():.4f}", flush=True)  # fmt: skip
    model.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.BinaryCrossentropy(from_logits=True))  # fmt: skip

    def val_auc(z: np.ndarray) -> float:
        return weighted_auc(y[val_idx], z, w_val[val_idx])

    history = [{"epoch": 0, "val_auc": val_auc(z_linear[val_idx]), "seconds": 0}]
    print(f"epoch 0: validation AUC {history[0]['val_auc']:.4f}", flush=True)
    np.save(work / "logits_0.npy", z_linear)
    fit_maps = np.asarray(maps[fit_idx], np.float32)
    rng = np.random.default_rng(SEED)
    for epoch in range(1, epochs + 1):
        started = time.time()
        order = rng.permutation(len(fit_idx))
        model.fit([fit_maps[order], fixed[fit_idx][order]], y[fit_idx][order],
                  sample_weight=w_fit[fit_idx][order], batch_size=BATCH, epochs=1,
                  verbose=0, shuffle=False)  # fmt: skip
        z = logits_of(model, maps, fixed, np.arange(len(crops)))
        np.save(work / f"logits_{epoch}.npy", z)
        model.save_weights(work / f"epoch_{epoch}.weights.h5")
        history.append({"epoch": epoch, "val_auc": val_auc(z[val_idx]),
                        "fit_auc": weighted_auc(y[fit_idx], z[fit_idx], w_fit[fit_idx]),
                        "seconds": round(time.time() - started)})  # fmt: skip
        print(f"epoch {epoch}: validation AUC {history[-1]['val_auc']:.4f}, fitting AUC "
              f"{history[-1]['fit_auc']:.4f} ({history[-1]['seconds']} s)", flush=True)  # fmt: skip
        (work / "history.json").write_text(json.dumps(history, indent=1))
    tables(out, max(history, key=lambda h: (h["val_auc"], -h["epoch"]))["epoch"], learning_rate)


def tables(out: Path, epoch: int, learning_rate: float = LEARNING_RATE) -> None:
    """The held-out crop-path tables of epoch `epoch` against epoch 0 (the linear probe)."""
    from deepfake_analyzer.training.texture_train import file_scores

    work = work_folder(out, learning_rate)
    crops, _, data = labeled_crops(out)
    held, hcrops = held_out(crops)
    z3 = v12_logit(data["members"])
    linear, tuned = np.load(work / "logits_0.npy"), np.load(work / f"logits_{epoch}.npy")
    print(f"chosen on validation: epoch {epoch}")
    alone = {"linear joint": file_scores(linear[held], hcrops),
             f"fine-tuned joint (epoch {epoch})": file_scores(tuned[held], hcrops)}  # fmt: skip
    (work / "alone").mkdir(exist_ok=True)
    print_tables(work / "alone", alone)
    blends = {"v12": file_scores(z3, hcrops)}
    for name, z in (("linear", linear), ("fine-tuned", tuned)):
        blends[f"v12 + {name}"] = file_scores(with_member(z3, z, crops, held), hcrops)
    (work / "blend").mkdir(exist_ok=True)
    print_tables(work / "blend", blends)
    pair = {k: blends[k] for k in ("v12 + linear", "v12 + fine-tuned")}
    (work / "pair").mkdir(exist_ok=True)
    print_tables(work / "pair", pair)


def ring_features(block_maps: np.ndarray, inner: int) -> np.ndarray:
    """(N, 3 x channels) for (N, side, side, channels) maps: per channel the inner square's mean
    minus the ring's, log(inner std / ring std), and the maximum over the map."""
    side = block_maps.shape[1]
    start = (side - inner) // 2
    middle = np.zeros((side, side), bool)
    middle[start : start + inner, start : start + inner] = True
    cells = block_maps.reshape(len(block_maps), side * side, -1)
    a, b = cells[:, middle.reshape(-1)], cells[:, ~middle.reshape(-1)]
    spread = np.log(a.std(1) + 1e-3) - np.log(b.std(1) + 1e-3)
    return np.concatenate([a.mean(1) - b.mean(1), spread, cells.max(1)], axis=1)


def ring(out: Path) -> None:
    """The inner-face-against-ring probes and their tables (module docstring)."""
    import keras

    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.training.texture_backbone import load_backbone
    from deepfake_analyzer.training.texture_train import file_scores

    work = out / "ring"
    work.mkdir(parents=True, exist_ok=True)
    crops, _, data = labeled_crops(out)
    maps = np.load(out / MAPS_FILE, mmap_mode="r")
    zeros = np.zeros(FEATURES)
    top = build_top(load_backbone(), zeros, np.ones(FEATURES), zeros, 0.0)
    last = keras.Model(top.inputs[0], top.get_layer(f"b{max(TOP)}_bn2").output)
    parts = []
    for start in range(0, len(maps), 512):
        m = np.asarray(maps[start : start + 512], np.float32)
        last_maps = np.asarray(last(m, training=False))
        first = ring_features(m, RING_INNER[TOP.start - 1])
        parts.append(np.concatenate([first, ring_features(last_maps, RING_INNER[max(TOP)])], 1))
    x_ring = np.concatenate(parts)
    joint = np.concatenate([data["face"], data["context"]], axis=1)
    z = {}
    for name, x in (("joint", joint), ("ring", x_ring),
                    ("joint + ring", np.concatenate([joint, x_ring], axis=1))):  # fmt: skip
        probe, _ = residual_fit(x, crops, name)
        z[name] = logits(probe.probability(x))
    held, hcrops = held_out(crops)
    z3 = v12_logit(data["members"])
    scores = {}
    for name, logit in z.items():
        scores[name] = file_scores(logit[held], hcrops)
        scores[f"v12 + {name}"] = file_scores(with_member(z3, logit, crops, held), hcrops)
    for first, second in (("joint", "ring"), ("joint", "joint + ring"),
                          ("v12 + joint", "v12 + joint + ring")):  # fmt: skip
        folder = work / f"{first} against {second}".replace(" ", "_")
        folder.mkdir(exist_ok=True)
        print_tables(folder, {first: scores[first], second: scores[second]})


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("run", "tables", "ring"):
        raise SystemExit(__doc__)
    rate = [float(a) for a in sys.argv[4:5]]
    if sys.argv[1] == "ring":
        ring(Path(sys.argv[2]))
    elif sys.argv[1] == "run":
        run(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 6, *rate)
    else:
        tables(Path(sys.argv[2]), int(sys.argv[3]), *rate)
