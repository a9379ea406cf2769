"""Does the residual probe read photos better at their own pixel scale? (images only)

    python scripts/native_residual_probe.py extract OUT_DIR [GATHERED_DIR ...]
    python scripts/native_residual_probe.py fit OUT_DIR

`extract` finds the protocol's photos (`../shared/data` wild and dev, the gathered folders
given, and train_real's photo folders as training-only reals), detects each photo's largest
face (the analyzer's verified auto detector) and computes `residual_features` on three
windows of it: A, the shipped crop (margin 1.3, resized to 224 px); B, a square of the face box's
side (at most 224 px) at the photo's own scale, never resized; C, the same at 1.3x the box (the
crop's field) at most 224 px. `fit` fits one linear probe per window as `train-texture` fits the
residual probe (photos only: real photos half the weight, labeled fakes half, each generator
alike; L2 by leave-generator-out CV on the training part), with and without resolution
matching, and prints held-out photo AUC per family and each probe's change against A matched
(paired bootstrap, reals by person, fakes by generator). Scratch measurement: see
models/deepfake_v12.md, "Tried since shipping".
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WINDOWS = ("A", "B", "C")


def extract(out: Path, gathered: list[Path]) -> None:
    from mesh_feature_probe import protocol_parts  # this folder's script: the same split

    from deepfake_analyzer.faces.crop import crop_face
    from deepfake_analyzer.faces.detector import create_detector
    from deepfake_analyzer.media.open import open_media
    from deepfake_analyzer.media.types import SamplingOptions
    from deepfake_analyzer.models.residual import residual_features
    from deepfake_analyzer.training.extract import source_key

    items, part = protocol_parts(gathered)
    detector = create_detector("auto")
    rows, feats = [], {w: [] for w in WINDOWS}
    for item in (i for i in items if i.kind == "image" and part.get(source_key(i.path))):
        try:
            frame = next(iter(open_media(item.path, SamplingOptions()).frames())).image
        except Exception:  # an unreadable photo is left out, as evaluate leaves it out
            continue
        faces = detector.detect(frame)
        if not faces:
            continue
        face = max(faces, key=lambda d: d.width * d.height)
        x0, y0, x1, y1 = face.box_xyxy
        side = max(x1 - x0, y1 - y0)
        crops = {"A": crop_face(frame, face.box_xyxy, 1.3, 224),
                 "B": window(frame, face.box_xyxy, min(224, side)),
                 "C": window(frame, face.box_xyxy, min(224, 1.3 * side))}  # fmt: skip
        if any(c is None for c in crops.values()):
            continue
        for w, crop in crops.items():
            feats[w].append(residual_features(crop[None])[0])
        rows.append({"label": item.label, "method": item.method, "group": item.group,
                     "part": part[source_key(item.path)],
                     "side": min(frame.shape[:2])})  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "features.npz", **{w: np.array(v) for w, v in feats.items()})
    (out / "photos.json").write_text(json.dumps(rows))
    print(f"{len(rows)} photos with a face -> {out}")


def window(frame: np.ndarray, box: tuple[float, ...], size: float) -> np.ndarray | None:
    """A square of `size` px (at most the frame's short side) at the frame's own scale, centred
    on the box and moved inside the frame; None when under the residual features' minimum."""
    from deepfake_analyzer.models.residual import MIN_SIZE

    height, width = frame.shape[:2]
    n = int(min(size, height, width))
    if n < MIN_SIZE:
        return None
    x0, y0, x1, y1 = box
    left = round(min(max((x0 + x1) / 2 - n / 2, 0), width - n))
    top = round(min(max((y0 + y1) / 2 - n / 2, 0), height - n))
    return np.ascontiguousarray(frame[top : top + n, left : left + n])


def fit(out: Path) -> None:
    from deepfake_analyzer.temporal.train import _fit, _logits, cross_validate, generator_folds
    from deepfake_analyzer.training.protocol import canonical_generator, family_of
    from deepfake_analyzer.training.texture_train import L2_GRID, RESOLUTION_EDGES

    rows = json.loads((out / "photos.json").read_text())
    features = np.load(out / "features.npz")
    y = np.array([r["label"] for r in rows])
    train = np.array([r["part"] == "train" for r in rows])
    gen = [canonical_generator(r["method"]) if r["label"] else "" for r in rows]
    group = [r["group"] for r in rows]
    side = np.array([r["side"] for r in rows])

    def weights(match: bool) -> np.ndarray:
        w = np.zeros(len(rows))
        real, fake = train & (y == 0), train & (y == 1)
        w[real] = 0.5 / real.sum()
        count = collections.Counter(gen[i] for i in np.nonzero(fake)[0])
        for i in np.nonzero(fake)[0]:
            w[i] = 0.5 / len(count) / count[gen[i]]
        if match:  # train-texture's resolution_matched, on photos
            bins = np.searchsorted(RESOLUTION_EDGES, side, side="right")
            filled = [k for k in range(len(RESOLUTION_EDGES) + 1) if (real & (bins == k)).any()]
            mix = np.array([w[fake & (bins == k)].sum() for k in filled])
            total, matched = w[real].sum(), w.copy()
            for k, share in zip(filled, mix / mix.sum(), strict=True):
                chosen = real & (bins == k)
                matched[chosen] = w[chosen] / w[chosen].sum() * total * share
            w = matched
        return w * np.count_nonzero(w)

    def auc(pos: np.ndarray, neg: np.ndarray, wp: np.ndarray, wn: np.ndarray) -> float:
        wins = (pos[:, None] > neg[None]) + 0.5 * (pos[:, None] == neg[None])
        return float((wp[:, None] * wn[None] * wins).sum() / (wp.sum() * wn.sum()))

    reals, fakes = np.nonzero(~train & (y == 0))[0], np.nonzero(~train & (y == 1))[0]
    family = np.array([family_of(g) if g else "" for g in gen])
    rng = np.random.default_rng(0)
    people, generators = sorted({group[i] for i in reals}), sorted({gen[i] for i in fakes})
    draws = [(np.ones(len(reals)), np.ones(len(fakes)))]
    for _ in range(300):
        pc = collections.Counter(rng.choice(people, len(people)))
        gc = collections.Counter(rng.choice(generators, len(generators)))
        draws.append((np.array([pc[group[i]] for i in reals], float),
                      np.array([gc[gen[i]] for i in fakes], float)))  # fmt: skip
    scores = {}
    for name in WINDOWS:
        for match in (False, True):
            x, w = features[name], weights(match)
            idx = np.nonzero(w > 0)[0]
            folds = generator_folds([bool(y[i]) for i in idx], [gen[i] for i in idx],
                                    [group[i] for i in idx], 5)  # fmt: skip
            yi, wi = y[idx], w[idx]
            cv = {}
            for l2 in L2_GRID:
                o = cross_validate(x[idx], yi, wi, folds, l2, clip_z=np.inf)
                cv[l2] = auc(o[yi == 1], o[yi == 0], wi[yi == 1], wi[yi == 0])
            best = max(L2_GRID, key=lambda v: (cv[v], v))
            s = _logits(x, _fit(x[idx], yi, wi, best, np.inf), np.inf)
            key = name + ("+match" if match else "")
            scores[key] = s
            by_family = {
                str(f): round(auc(s[fakes[family[fakes] == f]], s[reals],
                             np.ones((family[fakes] == f).sum()), np.ones(len(reals))), 3)
                for f in sorted(set(family[fakes]))
            }  # fmt: skip
            ones = draws[0]
            print(f"{key}: L2 {best:g}, CV {cv[best]:.3f}; held-out photos "
                  f"{auc(s[fakes], s[reals], ones[1], ones[0]):.3f} {by_family}")  # fmt: skip
    base = scores["A+match"]
    for key, s in scores.items():
        if s is base:
            continue
        changes = [auc(s[fakes], s[reals], wf, wr) - auc(base[fakes], base[reals], wf, wr)
                   for wr, wf in draws]  # fmt: skip
        low, high = np.percentile(changes[1:], [2.5, 97.5])
        print(f"{key} - A+match: {changes[0]:+.3f} [{low:+.3f}, {high:+.3f}]")


if __name__ == "__main__":
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # LiteRT alone
    if len(sys.argv) < 3 or sys.argv[1] not in ("extract", "fit"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "extract":
        extract(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
    else:
        fit(Path(sys.argv[2]))
