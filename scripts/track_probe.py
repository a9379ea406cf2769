"""Does the spread of a video's face features over its frames tell fakes apart? (a track model)

    python scripts/track_probe.py views OUT_DIR CONTEXT_DIR [--mouth] [--reuse EARLIER_OUT_DIR]
    python scripts/track_probe.py fit CONTEXT_DIR [OUT_DIR] [--dims K] [--mouth]
    python scripts/track_probe.py head CONTEXT_DIR [OUT_DIR] TARGET.npz [--dims K]
    python scripts/track_probe.py write CONTEXT_DIR OUT_DIR NAME MODEL_DIR [--mouth] [--base SPEC]
        [GATHERED ...]
    python scripts/track_probe.py weight CONTEXT_DIR OUT_DIR [--dims K] [--mouth]
    python scripts/track_probe.py reweight BLEND_SPEC NAME OUT_DIR WEIGHT [--why TEXT]
    python scripts/track_probe.py photos CONTEXT_DIR OUT_DIR [--dims K]

Every member of the shipped blend scores one face crop; a video's score is then the top-quarter
mean of its faces' scores. A generator that makes a clip frame by frame, or pastes a face into
real footage, may leave its trace in how the face's texture statistics vary from frame to
frame, which no single crop shows. This probe reads a whole video at once: per video, the mean
and the standard deviation over its frames of the 1,984 EfficientNet-Lite0 texture statistics
of the face crop (margin 1.3) and of the wide crop (margin 2.0) that `context_probe.py extract`
computed (12 frames a video), standardised and projected on the training videos' first K
principal components (`--dims`, 128 by default: the fit is Newton's on K values, and there are
far fewer training videos than statistics), then a linear probe fitted as the residual probe
is (`RESIDUAL_SHARES`, L2 by leave-generator-out CV over the training videos).

`views` computes the same statistics as the analyzer would see them: the analyzer reads a
video's n-th face of a track through view n modulo 5 (models/views.py), so the features of
the n-th crop of each video are taken through that view; `fit CONTEXT_DIR OUT_DIR` then uses
those. `fit` prints the CV of each statistic set (mean; mean and spread; mean and mean
frame-to-frame change) and, on the held-out videos, the crop path's v12 + joint probe (refitted
on CONTEXT_DIR's training part, as `context_probe.py fit`), the track probe alone and the two
together with the track probe as one more equal member (its logit z-scored on the training
videos, weight 1/4 of the spread as each of v12's z-scored members), paired against the first.

Measured (thirty-fifth session, frames as cropped, `fit CONTEXT_DIR`; held-out crop path, 292
fake videos): on the ten gathered folders of v18 (595 training videos), CV mean 0.718, mean+std
0.676, mean+change 0.679; v12 + joint 0.752, with the mean track probe 0.770 (+0.017 [+0.003,
+0.032] better; mean+std 0.782, +0.029, but CV ranks it last). With the five folders of
2026-12-06 added (911 training videos; the held-out reals now include their harder clips): CV
mean 0.731, mean+std 0.696, mean+change 0.684; v12 + joint 0.704, with the mean track probe
0.717 (+0.013 [-0.003, +0.031] unclear), mean+std 0.716 (+0.012). Through the analyzer's views
(`views`, then `fit CONTEXT_DIR OUT_DIR`, the fifteen folders): CV mean 0.736, mean+std 0.714,
mean+change 0.712; with v12 + joint 0.714 (+0.011 [-0.005, +0.029] unclear). These splits put
all 77 methods gathered on 2026-12-06 in the training part (the protocol has held 20 of them
out since). On the current protocol (thirty-sixth session, `fit` on its extraction: 843
training videos, 572 held-out, 352 fake): CV mean 0.711, mean+std 0.687, mean+change 0.682; v12
+ joint 0.702, **with the mean track probe 0.725 (+0.023 [+0.007, +0.040] better**; talking
head +0.027 better, reenactment +0.020, face swap +0.031 unclear, lip-sync +0.000); through the
analyzer's views (`views`, 16,826 video crops, 14 minutes; `fit CONTEXT_DIR OUT_DIR`): CV mean
0.730, mean+std 0.715, mean+change 0.704; v12 + joint 0.702 -> **0.722 (+0.020 [+0.004,
+0.037] better**; talking head +0.026 better). Built into the analyzer as `deepfake_v20`
(thirty-seventh session, `write`): through the analyzer, video 0.707 -> 0.726 against v18
(+0.019 [+0.00, +0.04] better), models/deepfake_v20.md. `head` writes the mean probe folded
into one linear head on a frame's features (the probe is affine in the mean of its frames, so
a track's plain mean of the head's per-frame values gives the probe's logit; checked within
3e-6 on 1,415 videos), the form an analyzer member takes. `write` makes it one: v18 with the
folded head as its track head (models/blend.py, `TrackHead`; weight 1/4 on the training videos'
spread, as `fit` joins it), written as the candidate NAME in MODEL_DIR: v18's files copied
there, its face (1.3) and context (2.0) members written again as `-track` models `NAME_face`
and `NAME_context` carrying the head's face and context parts
(`texture_export.add_track_head`), and the head's training videos as `NAME.training-data.csv`
(GATHERED_DIR: the gathered folders of the protocol CONTEXT_DIR was extracted on). Then
calibrate and judge it with `evaluate --video-scores analyzer`.

`--mouth` adds the mouth member's statistics (its box of the 1.3 crop, cut as its network cuts
it): `views --mouth` computes them for every video crop through its view (MOUTH_VIEWS), `fit
--mouth` compares the head's statistics with and without them (paired against the shipped
head's), and `write --mouth` folds the head over all three and rewrites v18's mouth member as a
`-mouth-track` model `NAME_mouth` too. Measured (thirty-ninth session, the protocol with one
person on one side): CV 0.730 -> 0.742; held-out crop path with the head 0.710 -> 0.718 (+0.008
[-0.003, +0.019] unclear; reenactment +0.023 and GAN face +0.018 better). Through the analyzer,
without the residual member, `deepfake_v22` (models/deepfake_v22.md).

`weight` chooses the head's weight (`TRACK_WEIGHT`, 1/4, was set by analogy, never fitted) on
the training videos alone: both sides out of fold (the joint probe per crop, the head per
video, each refitted without the video's generator or person), the crop side brought to the
crop path's spread, CV AUC of crop score + w x head for each w of `WEIGHT_GRID`. `reweight`
writes a blend again with another head weight, all else as it was. Measured (fortieth session,
843 training videos, `weight CONTEXT_DIR OUT_DIR --mouth`, 7 minutes): w 0 0.735, 0.125 0.746,
0.25 0.751, 0.375 0.754, 0.5 0.756, 0.75 0.757, 1 0.757, 1.5 0.755.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from context_probe import probe_features
from mesh_feature_probe import (
    held_out,
    labeled_crops,
    option,
    path_option,
    print_tables,
    residual_fit,
    v12_logit,
    with_member,
)

V18 = Path(__file__).resolve().parents[1] / "models" / "deepfake_v18.spec.json"
TRACK_WEIGHT = 0.25
"""The head's weight on its z-scored logit when `write` builds a blend: 1/4, as each of v12's
z-scored members (`fit`). `weight` measures it on the training videos; deepfake_v23 carries
0.5, written by `reweight`."""
STATS = ("mean", "mean+std", "mean+change")
"""The statistic sets `fit` compares; the first is the plain average of the frames."""
DIMS = 128
MOUTH_VIEWS = "views_mouth.npz"
"""Where `views --mouth` writes the mouth member's statistics of each video crop."""


def views(out: Path, context: Path, mouth: bool = False, reuse: Path | None = None) -> None:
    """Each video crop's features through the view the analyzer would read it with; with
    `mouth`, only the mouth member's (`MOUTH_BOX` of the margin-1.3 crop) into `MOUTH_VIEWS`.
    With `reuse` (an earlier `views` folder, `reuse/context.json` naming its extraction), a
    crop already computed there (the same crop files through the same view) is copied, not run
    again."""
    import cv2

    from deepfake_analyzer.models.texture import MOUTH_BOX
    from deepfake_analyzer.models.views import VIEWS, view_of
    from deepfake_analyzer.training.texture_backbone import (
        feature_model,
        load_backbone,
        texture_features,
    )

    rows = json.loads((context / "crops.json").read_text())
    order = view_order(rows, len(VIEWS))
    columns = {"mouth": "narrow"} if mouth else {"face": "narrow", "context": "crop"}
    known = earlier_views(reuse, MOUTH_VIEWS if mouth else "views.npz") if reuse else {}
    todo = [(i, k) for i, k in order if view_key(rows[i], k) not in known]
    print(f"{len(order)} video crops, {len(order) - len(todo)} from {reuse}", flush=True)
    backbone = load_backbone()
    extractors = {k: feature_model(backbone, MOUTH_BOX if k == "mouth" else None) for k in columns}
    computed: dict[tuple, dict[str, np.ndarray]] = {}
    for start in range(0, len(todo), 256):
        chunk = todo[start : start + 256]
        for key, column in columns.items():
            crops = [view_of(cv2.imread(rows[i][column])[..., ::-1], VIEWS[k]) for i, k in chunk]
            features = texture_features(extractors[key], np.stack(crops))
            for (i, k), f in zip(chunk, features, strict=True):
                computed.setdefault(view_key(rows[i], k), {})[key] = f
        print(f"{start + len(chunk)} of {len(todo)} video crops", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    found = {**known, **computed}
    arrays = {c: np.stack([found[view_key(rows[i], k)][c] for i, k in order]) for c in columns}
    index = np.array([i for i, _ in order])
    np.savez(out / (MOUTH_VIEWS if mouth else "views.npz"), index=index, **arrays)
    (out / "context.json").write_text(json.dumps({"extraction": str(context.resolve())}))
    print(f"{len(order)} video crops -> {out}")


def view_order(rows: list[dict], count: int) -> list[tuple[int, int]]:
    """(row, view) of each video crop: a video's n-th crop through view n modulo `count`, as
    the analyzer reads a track's n-th face (models/views.py)."""
    seen: dict[str, int] = {}
    order = []
    for i, r in enumerate(rows):
        if r["kind"] == "video":
            n = seen.get(r["source"], 0)
            seen[r["source"]] = n + 1
            order.append((i, n % count))
    return order


def view_key(row: dict, view: int) -> tuple[str, str, int]:
    """What a crop's view features depend on: its two crop files and the view."""
    return row["narrow"], row["crop"], view


def earlier_views(folder: Path, file: str) -> dict[tuple, dict[str, np.ndarray]]:
    """An earlier `views` folder's features by `view_key` (its extraction's crops.json, as
    `folder/context.json` names it, or the argument of the run that wrote it)."""
    from deepfake_analyzer.models.views import VIEWS

    named = json.loads((folder / "context.json").read_text())["extraction"]
    rows = json.loads((Path(named) / "crops.json").read_text())
    with np.load(folder / file) as saved:  # each read of an npz entry loads it whole: once
        arrays = {c: saved[c] for c in saved.files}
    position = {int(i): n for n, i in enumerate(arrays.pop("index"))}
    return {
        view_key(rows[i], k): {c: a[position[i]] for c, a in arrays.items()}
        for i, k in view_order(rows, len(VIEWS))
        if i in position
    }


def video_stats(x: np.ndarray, stats: str) -> np.ndarray:
    """One video's statistics of its frames' features `x` (frames, features)."""
    mean = x.mean(axis=0)
    if stats == "mean":
        return mean
    if stats == "mean+std":
        return np.concatenate([mean, x.std(axis=0)])
    return np.concatenate([mean, np.abs(np.diff(x, axis=0)).mean(axis=0)])


def projection(f: np.ndarray, train: np.ndarray, dims: int) -> tuple[np.ndarray, ...]:
    """The training rows' standardisation of `f` (mean, scale) and their first `dims`
    principal axes (dims, features)."""
    mean, scale = f[train].mean(axis=0), f[train].std(axis=0) + 1e-6
    _, _, axes = np.linalg.svd((f[train] - mean) / scale, full_matrices=False)
    return mean, scale, axes[:dims]


def projected(f: np.ndarray, train: np.ndarray, dims: int) -> np.ndarray:
    """`f` standardised and projected on the training rows' first `dims` principal axes."""
    mean, scale, axes = projection(f, train, dims)
    return np.asarray((f - mean) / scale @ axes.T)


def judged_videos(crops: list) -> tuple[dict[str, list[int]], list[str], list, np.ndarray]:
    """The protocol's videos with at least 4 crops: their crops' rows by source, the sources,
    one `Crop` each (its labels), and which are of the training part."""
    by: dict[str, list[int]] = {}
    for i, c in enumerate(crops):
        if c.kind == "video" and c.part:
            by.setdefault(c.source, []).append(i)
    sources = [s for s, ix in by.items() if len(ix) >= 4]
    videos = [replace(crops[by[s][0]], blended=False) for s in sources]
    return by, sources, videos, np.array([v.part == "train" for v in videos])


def features_of(
    context: Path, out: Path | None, mouth: bool = False
) -> tuple[list, dict, np.ndarray]:
    """CONTEXT_DIR's crops, its stored arrays and the crops' joint features (face, then wide
    crop), video crops taken through their views where `views` wrote OUT_DIR; with `mouth`,
    then the mouth member's statistics (`views --mouth`; zero for photos, which no track
    reads)."""
    crops, _, data = labeled_crops(context)
    x = probe_features(data, "joint")
    if out is not None:
        with np.load(out / "views.npz") as seen:
            x = x.copy()
            x[seen["index"]] = np.concatenate([seen["face"], seen["context"]], axis=1)
    if mouth:
        if out is None:
            raise SystemExit("the mouth statistics are read through the views: give OUT_DIR")
        with np.load(out / MOUTH_VIEWS) as seen:
            extra = np.zeros((len(x), seen["mouth"].shape[1]), np.float32)
            extra[seen["index"]] = seen["mouth"]
        x = np.concatenate([x, extra], axis=1)
    return crops, data, x


def folded_head(context: Path, out: Path | None, dims: int, mouth: bool = False) -> dict:
    """The mean track probe folded into one linear head on a frame's features: standardising,
    the projection and the probe are affine, so the probe's logit on a video's mean features is
    the mean over its frames of `x_f @ W` plus a bias. Returns the head (its face and context
    parts, and with `mouth` its mouth part, bias, the training videos' logit mean and spread, L2,
    CV, dims), its training videos' sources and how far the folded head is from the probe on all
    videos."""
    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.models.texture import FEATURE_SIZE
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, fit_probe

    crops, _, x = features_of(context, out, mouth)
    by, sources, videos, train = judged_videos(crops)
    f = np.stack([video_stats(x[by[s]], "mean") for s in sources])
    mean, scale, axes = projection(f, train, dims)
    p = (f - mean) / scale @ axes.T
    probe, cv = fit_probe(p, videos, RESIDUAL_SHARES)
    per_axis = probe.weights / probe.scale
    v = axes.T @ per_axis
    weights = v / scale
    bias = probe.bias - float(probe.mean @ per_axis) - float((mean / scale) @ v)
    z = logits(probe.probability(p))
    folded = np.array([float((x[by[s]] @ weights).mean()) + bias for s in sources])
    n = FEATURE_SIZE
    parts = {"face": weights[:n], "context": weights[n : 2 * n]} | (
        {"mouth": weights[2 * n :]} if mouth else {}
    )
    head = dict(**parts, bias=bias,
                center=float(folded[train].mean()), spread=float(folded[train].std()),
                l2=probe.l2, cv=cv[probe.l2], dims=dims, videos=int(train.sum()))  # fmt: skip
    trained = [s for s, t in zip(sources, train, strict=True) if t]
    return {"head": head, "trained": trained, "largest": float(np.abs(folded - z).max()),
            "videos": len(sources)}  # fmt: skip


def head(context: Path, out: Path | None, dims: int, target: Path) -> None:
    """Writes TARGET (.npz: `folded_head`'s head) and prints how far the folded head is from
    the probe on the training and held-out videos."""
    fitted = folded_head(context, out, dims)
    np.savez(target, **fitted["head"])
    h = fitted["head"]
    print(f"mean track probe: L2 {h['l2']:g}, CV {h['cv']:.3f}; folded head against the "
          f"probe on {fitted['videos']} videos: largest logit difference "
          f"{fitted['largest']:.2e} -> {target}")  # fmt: skip


def write(
    context: Path,
    out: Path,
    name: str,
    folder: Path,
    gathered: list[Path],
    mouth: bool = False,
    base: Path = V18,
) -> None:
    """The candidate NAME in MODEL_DIR (module docstring); with `mouth`, the head reads the
    mouth member's statistics too and that member is rewritten as a `-mouth-track` model.
    `base`: the fused blend whose face, context (and mouth) members carry the head (v18)."""
    from mesh_feature_probe import copy_v12_members, trained_files

    from deepfake_analyzer.models.blend import TrackHead
    from deepfake_analyzer.training.datalist import write_training_list
    from deepfake_analyzer.training.extract import source_key
    from deepfake_analyzer.training.texture_export import add_track_head

    fitted = folded_head(context, out, DIMS, mouth)
    h = fitted["head"]
    blend, _ = copy_v12_members(folder, base)
    for suffix in (".spec.json", ".blend.json"):
        (folder / base.name.replace(".spec.json", suffix)).write_bytes(
            base.with_name(base.name.replace(".spec.json", suffix)).read_bytes()
        )
    ends = {"face": "_face.spec.json", "context": "_context.spec.json", "mouth": "_mouth.spec.json"}
    member_of = {k: m.spec for m in blend.members for k, e in ends.items() if m.spec.endswith(e)}
    trained = {source_key(Path(s)) for s in fitted["trained"]}
    items = [i for i in trained_files(gathered) if source_key(i.path) in trained]
    if len(items) != len(trained):
        raise SystemExit(f"{len(trained)} training videos, {len(items)} found in GATHERED_DIRs")
    write_training_list(items, folder / f"{name}.training-data.csv")
    training = {
        "recipe": "mean over a video's frames of the EfficientNet-Lite0 texture statistics of "
                  f"the {', '.join(k for k in ends if k in h)} crops, standardised, PCA "
                  f"{h['dims']}, linear probe (residual shares), folded into one linear head "
                  "per frame; scripts/track_probe.py",
        "extraction": str(context), "views": str(out), "l2": h["l2"], "cv_auc": round(h["cv"], 4),
        "videos": h["videos"], "training_data": f"{name}.training-data.csv",
        "largest_difference_from_probe": fitted["largest"],
    }  # fmt: skip
    track = TrackHead(float(h["bias"]), h["center"], h["spread"], TRACK_WEIGHT, training)
    parts = {member_of[k]: h[k] for k in ends if k in h}
    spec = add_track_head(folder / base.name, name, parts, track)
    print(f"-> {spec}")


WEIGHT_GRID = (0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0, 1.5)
"""The head weights `weight` compares (`TRACK_WEIGHT`'s units: on the head's z-scored logit)."""
PHOTO_CROP_L2, PHOTO_CROP_REACH = 1000.0, 0.688
"""The joint probe's L2 and the crop side's spread factor that `weight` found (fortieth
session), reused by `photos` rather than fitted again."""


def out_of_fold(x: np.ndarray, crops: list, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """The linear probe on `x`, fitted as the residual probe is (`RESIDUAL_SHARES`) but at the
    given L2, scored out of fold on the training crops (`probe_folds`: a fake never scored by
    a fit that saw its generator, a real one by a fit that saw its person); returns the logits
    z-scored on those crops (NaN elsewhere) and the crops' row numbers."""
    from mesh_feature_probe import training_rows

    from deepfake_analyzer.temporal.train import cross_validate
    from deepfake_analyzer.training.texture_train import probe_folds

    w, idx, y = training_rows(crops)
    folds = probe_folds([crops[i] for i in idx])
    oof = np.full(len(crops), np.nan)
    oof[idx] = cross_validate(x[idx], y[idx], w[idx], folds, l2, clip_z=np.inf)
    return (oof - oof[idx].mean()) / oof[idx].std(), idx


def weight(context: Path, out: Path, dims: int, mouth: bool = False) -> None:
    """The head's weight chosen on the training videos alone: out-of-fold scores of both
    sides, each from models that never saw the video's generator (or its person, for a real
    one). The crop side is the joint probe (face and wide crop; the shipped blend's members
    read those two crops, and the mouth's weight is 1/8), refitted per fold at the L2 its fit
    chooses, z-scored on the training crops and brought to the crop path's spread (that of
    v12 + joint on the held-out crops, labels unread); a video's crop score is its crops'
    top-quarter mean, as `fit` joins them. The head is the mean track probe refitted per fold
    (projection on all training videos, labels unread). Prints the weighted CV AUC (as
    `fit_probe` weighs) of crop score + w x z-scored head for each w of `WEIGHT_GRID`."""
    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.scoring.aggregate import track_score
    from deepfake_analyzer.temporal.train import cross_validate
    from deepfake_analyzer.training.texture_train import (
        RESIDUAL_SHARES,
        fit_probe,
        probe_folds,
        weighted_auc,
        weights_of,
    )

    crops, data, xm = features_of(context, out, mouth)
    by, sources, videos, train = judged_videos(crops)
    joint_x = probe_features(data, "joint")
    if out is not None:  # the video crops as the analyzer's views read them (`features_of`)
        joint_x = xm[:, : joint_x.shape[1]]
    joint, _ = residual_fit(joint_x, crops, "joint")
    zj_oof, idx = out_of_fold(joint_x, crops, joint.l2)
    mask, _ = held_out(crops)
    zj = logits(joint.probability(joint_x))
    crop_path = with_member(v12_logit(data["members"]), zj, crops, mask)
    reach = float(crop_path.std()) / float((zj[mask] / zj[idx].std()).std())
    print(f"crop side brought to the crop path's spread: x {reach:.3f}", flush=True)

    f = projected(np.stack([video_stats(xm[by[s]], "mean") for s in sources]), train, dims)
    tv = [v for v, t in zip(videos, train, strict=True) if t]
    probe, _ = fit_probe(f[train], tv, RESIDUAL_SHARES)
    vw = weights_of(tv, RESIDUAL_SHARES)
    vy = np.array([v.label for v in tv])
    zt = cross_validate(f[train], vy, vw, probe_folds(tv), probe.l2, clip_z=np.inf)
    zt = (zt - zt.mean()) / zt.std()
    trained = [s for s, t in zip(sources, train, strict=True) if t]
    q = np.array([track_score(1.0 / (1.0 + np.exp(-reach * zj_oof[by[s]]))) for s in trained])
    frame_v = logits(np.clip(q, 1e-6, 1 - 1e-6))
    print(f"{len(tv)} training videos; track probe L2 {probe.l2:g}", flush=True)
    for k in WEIGHT_GRID:
        print(f"  head weight {k:<6g} CV AUC {weighted_auc(vy, frame_v + k * zt, vw):.4f}")


PHOTO_MOUTH = "photos_mouth.npz"
"""Where `photos` keeps the mouth member's statistics of every photo crop (as cropped)."""


def photos(context: Path, out: Path, dims: int) -> None:
    """Would the track head help stills? The head (with the mouth, as shipped) is fitted on the
    training videos alone, so the training photos are evidence it never read: their crop score
    is the joint probe's out of fold (as `weight`'s crop side, brought to the crop path's spread
    by `weight`'s factor), the head is read on the photo's own statistics (one crop; the
    analyzer would read a still's five views), and the weighted AUC (reals against fakes, each
    generator alike) of crop score + w x z-scored head is printed for each w of `WEIGHT_GRID`,
    over all training photos and over those whose fakes come from generators no training video
    has. The mouth statistics of photo crops are computed once into OUT_DIR/`PHOTO_MOUTH`.
    Measured (fortieth session): 0.780 -> 0.797 at w 0.5 (0.778 -> 0.800 on unseen generators),
    yet through the analyzer on the held-out photos (commit 9c910ac, `deepfake_v24`) images fell
    0.755 -> 0.706 and real photos at `fake` rose 2.5 % -> 21.6 %: the training photos' reals
    are mostly `train_real/images` (mean head z 0.02), the held-out reals gathered photos (0.9,
    near the fakes' 1.0). This AUC is confounded by source; the head does not carry to stills
    (models/deepfake_v23.md)."""
    import cv2

    from deepfake_analyzer.models.texture import MOUTH_BOX
    from deepfake_analyzer.training.texture_backbone import (
        feature_model,
        load_backbone,
        texture_features,
    )
    from deepfake_analyzer.training.texture_train import (
        RESIDUAL_SHARES,
        weighted_auc,
        weights_of,
    )

    crops, _, data = labeled_crops(context)
    index = np.array([i for i, c in enumerate(crops) if c.kind == "image"])
    if not (out / PHOTO_MOUTH).exists():
        rows = json.loads((context / "crops.json").read_text())
        model = feature_model(load_backbone(), MOUTH_BOX)
        mouth = [texture_features(model, np.stack([cv2.imread(rows[i]["narrow"])[..., ::-1]
                                                    for i in index[k : k + 64]]))
                 for k in range(0, len(index), 64)]  # fmt: skip
        np.savez(out / PHOTO_MOUTH, index=index, mouth=np.concatenate(mouth))
    with np.load(out / PHOTO_MOUTH) as stored:
        if not np.array_equal(stored["index"], index):
            raise SystemExit(f"{out / PHOTO_MOUTH} is of another extraction: remove it")
        mouth = stored["mouth"]
    z, _ = out_of_fold(probe_features(data, "joint"), crops, PHOTO_CROP_L2)
    y = np.array([c.label for c in crops])
    h = folded_head(context, out, dims, mouth=True)["head"]
    value = data["face"][index] @ h["face"] + data["context"][index] @ h["context"]
    head_z = (value + mouth @ h["mouth"] + h["bias"] - h["center"]) / h["spread"]
    trained = np.array([crops[i].part == "train" for i in index])
    in_videos = {c.method for c in crops if c.kind == "video" and c.part == "train" and c.label}
    unseen = np.array([not crops[i].label or crops[i].method not in in_videos for i in index])
    subsets = {"training photos": trained,
               "fakes of generators no training video has": trained & unseen}  # fmt: skip
    for name, sel in subsets.items():
        picked = index[sel]
        pw, py = weights_of([crops[i] for i in picked], RESIDUAL_SHARES), y[picked]
        print(f"{name}: {len(picked)} ({int(py.sum())} fake); head alone "
              f"{weighted_auc(py, head_z[sel], pw):.4f}")  # fmt: skip
        for k in WEIGHT_GRID:
            both = PHOTO_CROP_REACH * z[picked] + k * head_z[sel]
            print(f"  head weight {k:<6g} AUC {weighted_auc(py, both, pw):.4f}")


def reweighted(blend: Any, weight: float, source: str, why: str) -> Any:
    """`blend` (of the spec file `source`) with its track head's weight set to `weight`; the
    members, their weights and centers, the bias and the head's fit unchanged."""
    if blend.track is None:
        raise ValueError(f"{source} has no track head")
    training = {**blend.track.training, "weight_before": blend.track.weight,
                "weight_from": source, "weight_chosen": why}  # fmt: skip
    return replace(blend, track=replace(blend.track, weight=weight, training=training))


def reweight(spec_path: Path, name: str, out: Path, weight: float, why: str | None = None) -> Path:
    """OUT/NAME: the blend SPEC_PATH with the track head at `weight` (`reweighted`); its
    members' files copied beside it where OUT is another folder. Thresholds and calibration
    are kept (not refitted); the spec's metrics are emptied (they were the other blend's).
    `why` (`--why TEXT`) records how the weight was chosen; without it the record says only
    that it was given, not fitted for this head."""
    from mesh_feature_probe import write_variant

    from deepfake_analyzer.models.blend import Blend
    from deepfake_analyzer.models.spec import ModelSpec

    if (out / f"{name}.spec.json").exists():
        raise SystemExit(f"{out / name}.spec.json exists: give a new name")
    spec = ModelSpec.load(spec_path)
    why = why or (f"given as {weight:g}, not fitted for this head (scripts/track_probe.py "
                  f"weight compares WEIGHT_GRID {list(WEIGHT_GRID)} by CV)")  # fmt: skip
    blend = reweighted(Blend.load(spec_path.parent / spec.weights_file), weight,
                       spec_path.name, why)  # fmt: skip
    written = write_variant(spec_path, blend, name, out)
    print(f"-> {written}: track head weight {weight:g}")
    return written


def fit(context: Path, out: Path | None, dims: int, mouth: bool = False) -> None:
    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.models.texture import FEATURE_SIZE
    from deepfake_analyzer.training.eval_compare import BaselineFile
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, file_scores, fit_probe

    crops, data, xm = features_of(context, out, mouth)
    x = xm[:, : 2 * FEATURE_SIZE]
    sets = {stats: (stats, x) for stats in STATS}
    if mouth:
        sets = {"mean": ("mean", x), "mean + mouth": ("mean", xm)}
    by, sources, videos, train = judged_videos(crops)
    held = ~train
    print(f"{train.sum()} training videos, {held.sum()} held-out ({len(by) - len(sources)} "
          f"with fewer than 4 crops left out)", flush=True)  # fmt: skip

    # the crop path: v12 + joint probe per crop, then a video's top-quarter mean
    mask, hcrops = held_out(crops)
    joint, _ = residual_fit(probe_features(data, "joint"), crops, "joint")
    zj = logits(joint.probability(probe_features(data, "joint")))
    crop_path = with_member(v12_logit(data["members"]), zj, crops, mask)
    base = {f.source: f for f in file_scores(1.0 / (1.0 + np.exp(-crop_path)), hcrops)}
    judged = [i for i in np.nonzero(held)[0] if sources[i] in base]
    tables: dict[str, list] = {"v12 + joint": [base[sources[i]] for i in judged]}
    for label, (stats, feats) in sets.items():
        f = np.stack([video_stats(feats[by[s]], stats) for s in sources])
        f = projected(f, train, dims)
        probe, cv = fit_probe(f, videos, RESIDUAL_SHARES)
        print(f"{label}: L2 {probe.l2:g}, CV {cv[probe.l2]:.3f}", flush=True)
        z = logits(probe.probability(f))
        spread, middle = float(z[train].std()), float(z[train].mean())
        alone, together = [], []
        for i in judged:
            v, zv = videos[i], float(z[i])
            crop_logit = float(logits(np.array([base[sources[i]].score]))[0])
            both = crop_logit + (zv - middle) / (4 * spread)
            alone.append(BaselineFile(sources[i], v.label, v.kind, v.method, v.group, zv))
            together.append(BaselineFile(sources[i], v.label, v.kind, v.method, v.group, both))
        tables[f"track probe ({label})"] = alone
        tables[f"v12 + joint + track ({label})"] = together
    if mouth:  # paired against the shipped head's statistics
        first = "v12 + joint + track (mean)"
        tables = {first: tables.pop(first), **tables}
    folder = (out or context) / "track"
    folder.mkdir(exist_ok=True)
    print_tables(folder, tables)


if __name__ == "__main__":
    args = sys.argv[1:]
    mouth = "--mouth" in args
    args = [a for a in args if a != "--mouth"]
    commands = ("views", "fit", "head", "write", "weight", "reweight", "photos")
    if len(args) < 2 or args[0] not in commands:
        raise SystemExit(__doc__)
    if args[0] == "reweight":
        why = option(args, "--why")
        reweight(Path(args[1]), args[2], Path(args[3]), float(args[4]), why)
    elif args[0] == "views":
        earlier = path_option(args, "--reuse")
        views(Path(args[1]), Path(args[2]), mouth, earlier)
    elif args[0] == "write":
        base = Path(option(args, "--base") or V18)
        context, out, name, folder, *gathered = args[1:]
        dirs = [Path(g) for g in gathered]
        write(Path(context), Path(out), name, Path(folder), dirs, mouth, base)
    else:
        k = int(option(args, "--dims") or DIMS)
        if args[0] == "weight":
            weight(Path(args[1]), Path(args[2]), k, mouth)
        elif args[0] == "photos":
            photos(Path(args[1]), Path(args[2]), k)
        elif args[0] == "head":
            *dirs, target = args[1:]
            head(Path(dirs[0]), Path(dirs[1]) if len(dirs) > 1 else None, k, Path(target))
        else:
            fit(Path(args[1]), Path(args[2]) if len(args) > 2 else None, k, mouth)
