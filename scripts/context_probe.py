"""Does a wider field around the face carry fake evidence? (a context member)

    python scripts/context_probe.py extract OUT_DIR MARGIN [--maps] [--reuse EARLIER_OUT_DIR]
        [GATHERED_DIR ...]
    python scripts/context_probe.py copies OUT_DIR [K]
    python scripts/context_probe.py reframe OUT_DIR [K] [--reuse EARLIER_OUT_DIR]
    python scripts/context_probe.py fit OUT_DIR
    python scripts/context_probe.py write OUT_DIR context|joint NAME MODEL_DIR [GATHERED_DIR ...]

Every v12 member reads the crop cut at margin 1.3: the face box and a little around it. A face
swap's blend boundary and the hair, ears, neck and background that talking-head and GAN-edit
generators redraw lie mostly outside it. `extract` cuts the protocol's crops again at MARGIN
(the same frames and faces as the 1.3 crops: 12 frames a video, one face per frame, cached in
the evaluate crop cache) and computes the EfficientNet-Lite0 texture features (those v4's face
probe reads, `training/texture_backbone.py`) of both crops of each frame; for held-out frames
it keeps v12's three member probabilities on the 1.3 crop. `fit` fits two linear probes as the
residual probe is fitted (`RESIDUAL_SHARES`, photo sizes matched, L2 by leave-generator-out CV):
`context`, on the wide crop's features, and `joint`, on both crops' features side by side (so
it can weigh the face against its surroundings), and prints the held-out table on the crop path
of v12, each probe alone and v12 with each as a fourth equal member, paired against v12
(scripts/mesh_feature_probe.py's table). `write` writes v12 with one of them as the candidate
NAME in MODEL_DIR: v12's members copied beside it (weights x 3/4), the probe as texture models
on v4's backbone file (the joint probe is linear, so it is written as two members that share its
weight, `NAME_face` at 1.3 and `NAME_context` at MARGIN, whose logits add up to its logit), and
the training-data list. The blend cuts its crops at MARGIN and hands each 1.3 member the middle
square it covers (models/blend.py, `member_crops`). Needs scripts/get_texture_backbone.sh first.
`extract --reuse EARLIER_OUT_DIR` takes the features of crops an earlier extraction already
computed (the same crop files give the same features) and computes only the others, crop by
crop (`chunk_features`), and v12's member probabilities only for held-out crops it did not
score (not with `--maps`, which it ignores); extractions over more and more folders can so
build on each other as folders are restored.
`copies OUT_DIR K` (default 1) computes both crops' features of K degraded copies of every
training frame (`LOWRES`: one draw per frame shared by its two crops, as if the frame itself had
been shrunk and compressed; `COPIES_FILE`); `fit` and `write` then fit the probe on the crops
and the copies (each copy in its original's share, `texture_train.weights_of`) and judge it on
clean held-out crops; `fit` tables the probe without copies beside it. Measured on the
fifteen-folder protocol (two copies, 27,944 rows, 22 minutes; the fits 20): v12 + joint held-out
video 0.692, image 0.752; v12 + joint fitted with the copies 0.688, 0.754 (no gain; not used).
`reframe OUT_DIR K` (default 1) writes instead K reframed copies of every training frame: the
frame decoded again and both crops cut anew around its detector box scaled by a draw in 1.0-1.4
and moved by draws within 10 % of its side (`REFRAME`, the range `training/framing.py` measures;
one draw per frame shared by its two crops, as the blend cuts both from one box); `fit` and
`write` use them as they use degraded copies (one copies file: `reframe` replaces `copies`').
Measured (forty-third session, the 26-folder protocol, `reframe CTX 2`: 35,942 copies of 17,971
training frames, 22 minutes; then `write` as v29 was made): `deepfake_v30`, framing median std
0.0466 on 150 held-out faces against v29's 0.0580 without copies (v27 0.0518), the AUCs as
v29's (models/deepfake_v30.md). `reframe OUT_DIR K --reuse EARLIER_OUT_DIR` takes the copies an
earlier `reframe` made of the same crops (a row's copies depend on its crop files and K alone)
and decodes only the other training rows, as `extract --reuse` does for features (`deepfake_v32`,
forty-fourth session: 37,268 of its 38,052 copies were v30's, 784 decoded).
Measured as `deepfake_v16` (context, not kept) and `deepfake_v17` (joint; shipped fused as
`deepfake_v18`): models/deepfake_v18.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from mesh_feature_probe import (
    V12,
    copy_v12_members,
    held_out,
    labeled_crops,
    member_fit,
    path_option,
    print_tables,
    protocol,
    residual_fit,
    trained_files,
    training_record,
    v12_logit,
    with_member,
)

from deepfake_analyzer.training.texture_train import DEGRADE


def extract(
    out: Path,
    margin: float,
    gathered: list[Path],
    keep_maps: bool = False,
    reuse: Path | None = None,
) -> None:
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.training.eval_crops import extract_for_evaluation
    from deepfake_analyzer.training.evaluate import EvaluateConfig
    from deepfake_analyzer.training.extract import default_cache_dir, load_crop, source_key
    from deepfake_analyzer.training.texture_backbone import (
        feature_model,
        load_backbone,
        texture_features,
    )

    used, part = protocol(gathered)
    blend = load_classifier(V12)
    config = EvaluateConfig(crop_size=224)
    narrow_cache, narrow = extract_for_evaluation(used, blend.spec, config, default_cache_dir())
    wide_spec = replace(blend.spec, crop_margin=margin)
    wide_cache, wide = extract_for_evaluation(used, wide_spec, config, default_cache_dir())
    at = {(source_key(r.source), r.frame_index): r for r in narrow}
    pairs = [(at[k], r) for r in wide if (k := (source_key(r.source), r.frame_index)) in at]
    print(f"{len(used)} files; {len(narrow)} crops at 1.3, {len(wide)} at {margin:g}, "
          f"{len(pairs)} frames in both", flush=True)  # fmt: skip
    backbone = load_backbone()
    extractor = feature_model(backbone)
    with_maps = maps_model(backbone) if keep_maps else None
    rows, feats, face_feats, members, maps = [], [], [], [], []
    known = earlier_features(reuse) if reuse is not None and not keep_maps else {}
    for start in range(0, len(pairs), 256):
        chunk = pairs[start : start + 256]
        keys = [(str(wide_cache.path_of(w)), str(narrow_cache.path_of(n))) for n, w in chunk]
        held = [part[source_key(w.source)] == "heldout" for _, w in chunk]
        rows += [crop_row(w, k, part) for (_, w), k in zip(chunk, keys, strict=True)]
        if with_maps is None:
            wide_f, face_f, held_m = chunk_features(known, keys, held, chunk, extractor, blend,
                                                    wide_cache, narrow_cache)  # fmt: skip
            feats.append(wide_f)
            face_feats.append(face_f)
            members.append(held_m)
        else:
            feats.append(texture_features(extractor, np.stack([load_crop(wide_cache, w)
                                                               for _, w in chunk])))  # fmt: skip
            narrow_crops = np.stack([load_crop(narrow_cache, n) for n, _ in chunk])
            face, block_maps = block_outputs(with_maps, narrow_crops)
            maps.append(block_maps)
            face_feats.append(face)
            if any(held):
                members.append(np.stack(blend.member_scores(narrow_crops[held]), axis=1))
        print(f"{start + len(chunk)} of {len(pairs)} crops", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "features.npz", context=np.concatenate(feats), face=np.concatenate(face_feats),
             members=np.concatenate(members), margin=margin)  # fmt: skip
    if keep_maps:
        np.save(out / MAPS_FILE, np.concatenate(maps))
    (out / "crops.json").write_text(json.dumps(rows))
    print(f"{len(rows)} crops -> {out}")


def crop_row(record: Any, key: tuple[str, str], part: dict[str, str]) -> dict[str, Any]:
    """One line of crops.json: the wide and 1.3 crops' files, the record's label and part."""
    from deepfake_analyzer.training.extract import source_key

    return {"crop": key[0], "narrow": key[1], "source": record.source, "label": record.label,
            "kind": record.kind, "method": record.method, "group": record.group,
            "part": part[source_key(record.source)]}  # fmt: skip


def earlier_features(out: Path) -> dict[tuple[str, str], tuple[Any, Any, Any]]:
    """An earlier `extract`'s features by (wide crop, 1.3 crop) file: (context, face, v12's
    member probabilities or None where that crop was not held out). The same crops give the same
    features, so `extract --reuse EARLIER` computes only the crops it has not seen."""
    rows = json.loads((out / "crops.json").read_text())
    with np.load(out / "features.npz") as data:
        context, face, members = data["context"], data["face"], data["members"]
    held = iter(range(len(members)))
    return {(r["crop"], r["narrow"]): (context[i], face[i],
             members[next(held)] if r["part"] == "heldout" else None)
            for i, r in enumerate(rows)}  # fmt: skip


def chunk_features(
    known: dict[tuple[str, str], tuple[Any, Any, Any]],
    keys: list[tuple[str, str]],
    held: list[bool],
    chunk: list,
    extractor: Any,
    blend: Any,
    wide_cache: Any,
    narrow_cache: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chunk's (context, face, held-out members) features: those `known` (an earlier
    extraction's, `earlier_features`; empty without `--reuse`) has, the others computed:
    features of crops it has not seen, v12's member probabilities of held-out crops it did not
    score; each crop read once."""
    from deepfake_analyzer.training.extract import load_crop
    from deepfake_analyzer.training.texture_backbone import texture_features

    found = [known.get(k) for k in keys]
    new = [i for i, f in enumerate(found) if f is None]
    unscored = [i for i, (f, h) in enumerate(zip(found, held, strict=True))
                if h and (f is None or f[2] is None)]  # fmt: skip
    narrow = {i: load_crop(narrow_cache, chunk[i][0]) for i in sorted({*new, *unscored})}
    if new:
        wide = texture_features(extractor, np.stack([load_crop(wide_cache, chunk[i][1])
                                                     for i in new]))  # fmt: skip
        face = texture_features(extractor, np.stack([narrow[i] for i in new]))
        for j, i in enumerate(new):
            found[i] = (wide[j], face[j], None)
    if unscored:
        scored = np.stack(blend.member_scores(np.stack([narrow[i] for i in unscored])), axis=1)
        for j, i in enumerate(unscored):
            found[i] = (found[i][0], found[i][1], scored[j])
    members = [f[2] for f, h in zip(found, held, strict=True) if h]
    return (np.stack([f[0] for f in found]), np.stack([f[1] for f in found]),
            np.stack(members) if members else np.empty((0, 3)))  # fmt: skip


MAPS_FILE = "maps.npy"
"""`extract --maps`' output beside features.npz: each 1.3 crop's block-10 activations (float16,
14 x 14 x 112 at 224 px), where scripts/finetune_probe.py's trainable top starts."""


def maps_model(backbone: Any) -> Any:
    """A Keras model from scaled crops to their texture features and block-10 maps."""
    import keras

    from deepfake_analyzer.models.texture import TAPS, pooled_features

    tap = backbone.outputs[TAPS.index(10)]
    return keras.Model(backbone.input, [pooled_features(backbone.outputs), tap])


def block_outputs(model: Any, crops: np.ndarray, batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The texture features of `crops` (uint8 RGB) and their block-10 maps (`MAPS_FILE`), in
    one pass of `maps_model`'s `model`."""
    feats, maps = [], []
    for start in range(0, len(crops), batch):
        x = (np.asarray(crops[start : start + batch], np.float32) - 127.0) / 128.0
        f, m = model(x, training=False)
        feats.append(np.asarray(f, np.float32))
        maps.append(np.asarray(m, np.float16))
    return np.concatenate(feats), np.concatenate(maps)


LOWRES = replace(
    DEGRADE, resize_p=0.5, resize_scale=(0.25, 0.72), jpeg_quality=(30, 90), h264_crf=(23, 38)
)
"""How `copies` degrades a training frame: each step with its probability, shrunk to 56-161 px
of the 224-px crop and back, noise, JPEG at quality 30-90, H.264 at crf 23-38 (the
low-resolution, heavily compressed real footage of the 2026-12-06e folder reads fake;
`texture_train.DEGRADE` has no resizing and keeps JPEG at 60-100). Fixed before any copy was
fitted."""
COPIES_FILE = "copies.npz"
"""`copies`' output beside features.npz: each copy's training-crop index and both features."""
COPIES_SEED = 7


def degraded_pair(
    narrow: np.ndarray, wide: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One `LOWRES` copy of a frame's 1.3 and wide crops (uint8 RGB, the same size): the same
    draws for both (each crop through `augment` with its own generator in `rng`'s state), and
    with probability `LOWRES.h264_p` both through one H.264 round trip."""
    from copy import deepcopy

    from deepfake_analyzer.training.augment import augment, h264_roundtrip

    twin = deepcopy(rng)
    a, b = augment(narrow, rng, LOWRES), augment(wide, twin, LOWRES)
    if rng.random() < LOWRES.h264_p:
        a, b = h264_roundtrip(np.stack([a, b]), int(rng.integers(*LOWRES.h264_crf, endpoint=True)))
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def copies(out: Path, count: int) -> None:
    """`count` `LOWRES` copies of every training frame of `extract`'s OUT, their features in
    OUT/`COPIES_FILE`. Copy k of a frame draws from (`COPIES_SEED`, k, its 1.3 crop's file)."""
    import zlib

    import cv2

    from deepfake_analyzer.training.texture_backbone import (
        feature_model,
        load_backbone,
        texture_features,
    )

    rows = json.loads((out / "crops.json").read_text())
    train = [i for i, r in enumerate(rows) if r["part"] == "train"]
    extractor = feature_model(load_backbone())
    index, face, context = [], [], []
    for k in range(count):
        for start in range(0, len(train), 256):
            chunk = train[start : start + 256]
            pairs = [degraded_pair(cv2.imread(rows[i]["narrow"])[..., ::-1],
                                   cv2.imread(rows[i]["crop"])[..., ::-1],
                                   np.random.default_rng([COPIES_SEED, k, zlib.crc32(
                                       rows[i]["narrow"].encode())]))
                     for i in chunk]  # fmt: skip
            face.append(texture_features(extractor, np.stack([p[0] for p in pairs])))
            context.append(texture_features(extractor, np.stack([p[1] for p in pairs])))
            index += chunk
            print(f"copy {k + 1} of {count}: {start + len(chunk)} of {len(train)}", flush=True)
    np.savez(out / COPIES_FILE, index=np.array(index), face=np.concatenate(face),
             context=np.concatenate(context))  # fmt: skip
    print(f"{len(index)} copies -> {out / COPIES_FILE}")


REFRAME = {"scale": (1.0, 1.4), "shift": 0.1, "seed": 11}
"""How `reframe` moves a training frame's box: side times U(scale), centre moved by U(-shift,
shift) sides in x and in y; copy k of a frame draws from (seed, k, its 1.3 crop's file)."""


def reframe_draw(narrow_file: str, k: int) -> tuple[float, float, float]:
    """(scale, dx, dy) of copy `k` of the frame whose 1.3 crop is `narrow_file` (`REFRAME`)."""
    import zlib

    rng = np.random.default_rng([REFRAME["seed"], k, zlib.crc32(narrow_file.encode())])
    shift = REFRAME["shift"]
    return (float(rng.uniform(*REFRAME["scale"])), float(rng.uniform(-shift, shift)),
            float(rng.uniform(-shift, shift)))  # fmt: skip


def reframed_pairs(
    rows: list[dict], count: int, skip: frozenset[int] = frozenset()
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """(row index, 1.3 crop, wide crop) of `count` reframed copies of each training row of
    `extract`'s crops.json but those in `skip`, a row's copies in order, file by file: the
    source decoded as its crops were
    (`extract._iter_frames` with the wide crops' cache settings), each wanted frame's detector
    box (the wide crop's record) reframed by `reframe_draw` and both crops cut by
    `faces.crop.crop_face` at the cache's crop size. A row whose frame is no longer found is
    skipped."""
    from collections import defaultdict

    from deepfake_analyzer.errors import AnalyzerError
    from deepfake_analyzer.faces.crop import crop_face
    from deepfake_analyzer.models.spec import DEFAULT_CROP_MARGIN
    from deepfake_analyzer.training.extract import (
        ExtractConfig,
        _iter_frames,
        read_manifest,
        source_key,
    )
    from deepfake_analyzer.training.framing import reframe

    train = [i for i, r in enumerate(rows) if r["part"] == "train"]
    root = Path(rows[train[0]]["crop"]).parents[1]
    train = [i for i in train if i not in skip]
    config = ExtractConfig(**json.loads((root / "config.json").read_text()))
    records = {str(root / r.crop): r for r in read_manifest(root).records}
    by_source: dict[str, list[int]] = defaultdict(list)
    for i in train:
        by_source[source_key(rows[i]["source"])].append(i)
    for source, wanted in by_source.items():
        at = {records[rows[i]["crop"]].frame_index: i for i in wanted}
        try:
            for frame in _iter_frames(Path(source), rows[wanted[0]]["kind"], config):
                if (i := at.get(frame.index)) is None:
                    continue
                box = records[rows[i]["crop"]].box_xyxy
                for k in range(count):
                    moved = reframe(box, *reframe_draw(rows[i]["narrow"], k))
                    yield (i, *(crop_face(frame.image, moved, m, config.crop_size)
                                for m in (DEFAULT_CROP_MARGIN, config.margin)))  # fmt: skip
        except AnalyzerError as exc:
            print(f"skipped {source}: {exc.message}", flush=True)


def reframe_copies(out: Path, count: int, reuse: Path | None = None) -> None:
    """`count` reframed copies of every training frame of `extract`'s OUT (`reframed_pairs`),
    their features in OUT/`COPIES_FILE` (replacing any degraded copies). With `reuse`, an
    earlier `reframe`'s copies of the same crops (`earlier_copies`) are taken as they are and
    only the other rows are decoded: a row's copies depend on its crops alone."""
    from deepfake_analyzer.training.texture_backbone import (
        feature_model,
        load_backbone,
        texture_features,
    )

    rows = json.loads((out / "crops.json").read_text())
    known = earlier_copies(reuse) if reuse is not None else {}
    reused = [i for i, r in enumerate(rows) if r["part"] == "train"
              and all((r["crop"], r["narrow"], k) in known for k in range(count))]  # fmt: skip
    pairs = [known[(rows[i]["crop"], rows[i]["narrow"], k)] for i in reused for k in range(count)]
    index = [i for i in reused for _ in range(count)]
    face = [np.array([f for f, _ in pairs])] if pairs else []
    context = [np.array([c for _, c in pairs])] if pairs else []
    if reuse is not None:
        print(f"{len(index)} reframed copies from {reuse}", flush=True)
    extractor = None
    chunk: list = []

    def flush() -> None:
        nonlocal extractor
        if extractor is None:  # not loaded when every copy is reused
            extractor = feature_model(load_backbone())
        face.append(texture_features(extractor, np.stack([c[1] for c in chunk])))
        context.append(texture_features(extractor, np.stack([c[2] for c in chunk])))
        index.extend(c[0] for c in chunk)
        chunk.clear()
        print(f"{len(index)} reframed copies", flush=True)

    for copy in reframed_pairs(rows, count, frozenset(reused)):
        chunk.append(copy)
        if len(chunk) == 256:
            flush()
    if chunk:
        flush()
    np.savez(out / COPIES_FILE, index=np.array(index), face=np.concatenate(face),
             context=np.concatenate(context), reframe=json.dumps(REFRAME))  # fmt: skip
    print(f"{len(index)} reframed copies -> {out / COPIES_FILE}")


def earlier_copies(out: Path) -> dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]]:
    """An earlier `reframe`'s copies by (wide crop, 1.3 crop, copy number): their (face,
    context) features. A row's copies lie in its copies file in order (`reframe_copies`); a
    file of degraded copies or of another `REFRAME` is refused."""
    made = copies_of(out)
    recipe = json.loads(str(made["reframe"])) if made is not None and "reframe" in made else None
    if recipe != json.loads(json.dumps(REFRAME)):
        raise SystemExit(f"{out / COPIES_FILE}: no reframed copies of this REFRAME to reuse")
    rows = json.loads((out / "crops.json").read_text())
    seen: dict[int, int] = {}
    known = {}
    for j, i in enumerate(made["index"].tolist()):
        k = seen[i] = seen.get(i, -1) + 1
        known[(rows[i]["crop"], rows[i]["narrow"], k)] = (made["face"][j], made["context"][j])
    return known


def copies_of(out: Path) -> dict | None:
    """OUT's `copies` (`COPIES_FILE`'s arrays), or None where it has none."""
    return dict(np.load(out / COPIES_FILE)) if (out / COPIES_FILE).is_file() else None


def with_copies(data: dict, crops: list, probe: str, made: dict | None) -> tuple[np.ndarray, list]:
    """`probe`'s features and crops for its fit: the crops', and after them the copies `made`
    (`copies_of`; marked `augmented`) where there are any."""
    x = probe_features(data, probe)
    if made is None:
        return x, crops
    marked = [replace(crops[i], augmented=True) for i in made["index"]]
    return np.concatenate([x, probe_features(made, probe)]), [*crops, *marked]


PROBES = ("context", "joint")
"""The probes `fit` compares and `write` can write."""


def probe_features(data: dict, probe: str) -> np.ndarray:
    """`probe`'s features: the wide crop's, or the 1.3 crop's and the wide crop's side by side."""
    if probe == "context":
        return data["context"]
    return np.concatenate([data["face"], data["context"]], axis=1)


def fit(out: Path) -> None:
    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.training.texture_train import file_scores

    crops, _, data = labeled_crops(out)
    held, hcrops = held_out(crops)
    z3 = v12_logit(data["members"])
    tables = {"v12": file_scores(z3, hcrops)}
    made = copies_of(out)
    for name in PROBES:
        fits = [(name, probe_features(data, name), crops)]
        if made is not None:
            fits.append((f"{name} (copies)", *with_copies(data, crops, name, made)))
        for label, x, fit_crops in fits:
            probe, _ = residual_fit(x, fit_crops, label)
            z = logits(probe.probability(probe_features(data, name)))
            tables[f"{label} probe"] = file_scores(z[held], hcrops)
            tables[f"v12 + {label}"] = file_scores(with_member(z3, z, crops, held), hcrops)
    print_tables(out, tables)


def write(out: Path, probe_name: str, name: str, folder: Path, gathered: list[Path]) -> None:
    """The candidate `name` in `folder` (module docstring)."""
    import cv2

    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.models.spec import DEFAULT_CROP_MARGIN
    from deepfake_analyzer.training.datalist import write_training_list
    from deepfake_analyzer.training.texture_backbone import load_backbone
    from deepfake_analyzer.training.texture_export import ProbeFit, write_blend, write_texture_model

    crops, rows, data = labeled_crops(out)
    made = copies_of(out)
    probe, cv = residual_fit(*with_copies(data, crops, probe_name, made), probe_name)
    margin = float(data["margin"])
    trained = trained_files(gathered)
    v12, base = copy_v12_members(folder)
    training = {
        "recipe": f"linear probe ({probe_name}) on frozen ImageNet EfficientNet-Lite0 block "
                  f"statistics of the face crop and of the crop cut at margin {margin:g}, "
                  "scripts/context_probe.py",
        **training_record(probe, cv, crops, trained, name),
    }  # fmt: skip
    if made is not None and "reframe" in made:
        training["reframed_copies"] = {
            "copies": len(made["index"]), "recipe": json.loads(str(made["reframe"])),
        }  # fmt: skip
    elif made is not None:
        training["degraded_copies"] = {
            "copies": len(made["index"]), "recipe": asdict(LOWRES), "seed": COPIES_SEED,
        }  # fmt: skip
    # (suffix, margin, crop column, feature slice, bias): a joint probe's logit is the sum of
    # a face part and a context part; the context part carries the bias
    n = data["face"].shape[1]
    parts = [("context", margin, "crop", slice(0, n), probe.bias)]
    if probe_name == "joint":
        parts = [("face", DEFAULT_CROP_MARGIN, "narrow", slice(0, n), 0.0),
                 ("context", margin, "crop", slice(n, 2 * n), probe.bias)]  # fmt: skip
    order = [i for i, c in enumerate(crops) if c.part == "heldout"][:32]
    z_all = logits(probe.probability(probe_features(data, probe_name)))
    weight, _ = member_fit(z_all, crops)
    train = np.array([c.part == "train" for c in crops])
    members = [(folder / m.spec, (0.75 * m.weight, m.center)) for m in v12.members]
    backbone = load_backbone()
    for suffix, part_margin, column, cut, bias in parts:
        part_fit = ProbeFit(probe.mean[cut], probe.scale[cut], probe.weights[cut], bias, probe.l2)
        x = data["face" if column == "narrow" else "context"]
        check = np.stack([cv2.imread(rows[i][column])[..., ::-1] for i in order])
        spec_path = write_texture_model(
            backbone, part_fit, folder, f"{name}_{suffix}", part_margin,
            {**training, "part": suffix}, check, part_fit.probability(x[order]),
            base=folder / base,
        )  # fmt: skip
        members.append((spec_path, (weight, float(logits(part_fit.probability(x))[train].mean()))))
    write_training_list(trained, folder / f"{name}.training-data.csv")
    spec = write_blend(folder, name, members, {
        "fitted_on": f"v12's members with their centers and spreads (weights x 3/4); the "
                     f"{probe_name} probe z-scored on the protocol's training crops",
        "kept_as_fitted": [m.spec for m in v12.members],
    }, views=5)  # fmt: skip
    print(f"-> {spec}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("extract", "copies", "reframe", "fit", "write"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "extract":
        rest = [a for a in sys.argv[4:] if a != "--maps"]
        reuse = path_option(rest, "--reuse")
        extract(Path(sys.argv[2]), float(sys.argv[3]), [Path(p) for p in rest],
                keep_maps="--maps" in sys.argv[4:], reuse=reuse)  # fmt: skip
    elif sys.argv[1] == "copies":
        copies(Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    elif sys.argv[1] == "reframe":
        rest = sys.argv[3:]
        reuse = path_option(rest, "--reuse")
        reframe_copies(Path(sys.argv[2]), int(rest[0]) if rest else 1, reuse)
    elif sys.argv[1] == "fit":
        fit(Path(sys.argv[2]))
    elif sys.argv[3] not in PROBES:
        raise SystemExit(__doc__)
    else:
        out, probe, name, folder, *gathered = sys.argv[2:]
        write(Path(out), probe, name, Path(folder), [Path(p) for p in gathered])
