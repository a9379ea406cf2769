"""Does a nonlinear head on the frozen texture statistics generalize better than a linear one?

    python scripts/mlp_probe.py CTX_DIR [OUT_DIR]

Every texture member is a logistic regression on EfficientNet-Lite0's channel statistics. This
asks whether a small network on the same statistics (the face crop's and the wide crop's side by
side, 1,984 values, as the joint probe reads them: `context_probe.probe_features`) finds
evidence the linear probe cannot: one hidden layer (`HEADS`: width, L2 on its weights, dropout),
trained with Adam on the weighted log loss of the residual probe's shares (`RESIDUAL_SHARES`,
photo sizes matched, the same weights `fit_probe` uses), inputs standardised on the training
part. Each head is judged by the same leave-generator-out CV over the training part as the
linear probe (`probe_folds`, weighted AUC), then fitted on the whole training part and tabled
on the held-out crop path (a video's score its crops' top-quarter mean), paired against the
linear joint probe (OUT_DIR/tables.json). CTX_DIR is a `context_probe.py extract` folder.
Measured (fortieth session, 21,527 crops, 8 minutes): CV 0.699-0.713 against the linear probe's
0.703, held-out video 0.625-0.647 against 0.672, photos 0.706-0.727 against 0.731; not used
(models/deepfake_v22.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from context_probe import probe_features
from mesh_feature_probe import held_out, labeled_crops, print_tables, residual_fit, training_rows

HEADS: dict[str, tuple[int, float, float]] = {
    "mlp 64": (64, 1e-3, 0.3),
    "mlp 256": (256, 1e-3, 0.5),
    "mlp 256 strong": (256, 1e-2, 0.5),
}
"""Each nonlinear head tried: hidden units, L2 on the hidden weights, dropout before the output."""
EPOCHS = 12
BATCH = 256


def trained_head(x: np.ndarray, y: np.ndarray, w: np.ndarray, head: tuple, seed: int = 0):
    """One hidden layer and a sigmoid unit fitted on standardised `x` with sample weights `w`
    (scaled to mean 1); returns a function of new rows giving the logit."""
    import keras

    keras.utils.set_random_seed(seed)
    units, l2, dropout = head
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        keras.layers.Dense(units, activation="relu", kernel_regularizer=keras.regularizers.L2(l2)),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(1),
    ])  # fmt: skip
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit((x - mean) / scale, y.astype(np.float32), sample_weight=w / w.mean(),
              epochs=EPOCHS, batch_size=BATCH, verbose=0, shuffle=True)  # fmt: skip
    return lambda rows: model.predict((rows - mean) / scale, batch_size=1024, verbose=0)[:, 0]


def cv_auc(x: np.ndarray, crops: list, head: tuple) -> float:
    """The head's leave-generator-out CV AUC over the training part, as `fit_probe` judges."""
    from deepfake_analyzer.training.texture_train import probe_folds, weighted_auc

    w, idx, labels = training_rows(crops)
    y = labels[idx]
    folds = probe_folds([crops[i] for i in idx])
    out = np.zeros(len(idx))
    for k in np.unique(folds):
        test = folds == k
        out[test] = trained_head(x[idx][~test], y[~test], w[idx][~test], head)(x[idx][test])
    return weighted_auc(y, out, w[idx])


def main(ctx: Path, out: Path) -> None:
    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.training.texture_train import file_scores

    crops, _, data = labeled_crops(ctx)
    x = probe_features(data, "joint")
    held, hcrops = held_out(crops)
    probe, _ = residual_fit(x, crops, "linear joint")
    scores = {"linear joint": logits(probe.probability(x[held]))}
    w, idx, y = training_rows(crops)
    for name, head in HEADS.items():
        print(f"{name}: CV {cv_auc(x, crops, head):.3f}", flush=True)
        scores[name] = trained_head(x[idx], y[idx], w[idx], head)(x[held])
    out.mkdir(parents=True, exist_ok=True)
    print_tables(out, {k: file_scores(v, hcrops) for k, v in scores.items()})


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else sys.argv[1]))
