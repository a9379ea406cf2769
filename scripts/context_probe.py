"""Does a wider field around the face carry fake evidence? (a context member)

    python scripts/context_probe.py extract OUT_DIR MARGIN [GATHERED_DIR ...]
    python scripts/context_probe.py fit OUT_DIR
    python scripts/context_probe.py write OUT_DIR NAME MODEL_DIR [GATHERED_DIR ...]

Every v12 member reads the crop cut at margin 1.3: the face box and a little around it. A face
swap's blend boundary and the hair, ears, neck and background that talking-head and reenactment
generators redraw lie mostly outside it. `extract` cuts the protocol's crops again at MARGIN
(the same frames and faces as the 1.3 crops: 12 frames a video, one face per frame, cached in
the evaluate crop cache) and computes each one's EfficientNet-Lite0 texture features (the
features v4's face probe reads, `training/texture_backbone.py`); for held-out frames it keeps
v12's three member probabilities on the 1.3 crop of the same frame. `fit` fits a linear probe on
the wide crops' features as the residual probe is fitted (`RESIDUAL_SHARES`, photo sizes
matched, L2 by leave-generator-out CV) and prints the held-out table on the crop path of v12,
the context probe alone and v12 with it as a fourth equal member, each paired against v12
(scripts/mesh_feature_probe.py's table). `write` writes that four-member blend as the candidate
NAME in MODEL_DIR (v12's members copied beside it, the context probe `NAME_context` as a texture
model on v4's backbone file, the training-data list); the blend cuts its crops at MARGIN and
hands v12's members the middle square their 1.3 covers (models/blend.py, `member_crops`).
Needs scripts/get_texture_backbone.sh first.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from mesh_feature_probe import V12, member_fit, photo_sides, protocol


def extract(out: Path, margin: float, gathered: list[Path]) -> None:
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
    extractor = feature_model(load_backbone())
    rows, feats, members = [], [], []
    for start in range(0, len(pairs), 256):
        chunk = pairs[start : start + 256]
        feats.append(
            texture_features(extractor, np.stack([load_crop(wide_cache, w) for _, w in chunk]))
        )
        held = [n for n, w in chunk if part[source_key(w.source)] == "heldout"]
        if held:
            crops = np.stack([load_crop(narrow_cache, n) for n in held])
            members.append(np.stack(blend.member_scores(crops), axis=1))
        for n, w in chunk:
            rows.append({"crop": str(wide_cache.path_of(w)), "narrow": str(narrow_cache.path_of(n)),
                         "source": w.source, "label": w.label, "kind": w.kind, "method": w.method,
                         "group": w.group, "part": part[source_key(w.source)]})  # fmt: skip
        print(f"{start + len(chunk)} of {len(pairs)} crops", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "features.npz", context=np.concatenate(feats), members=np.concatenate(members),
             margin=margin)  # fmt: skip
    (out / "crops.json").write_text(json.dumps(rows))
    print(f"{len(rows)} crops -> {out}")


def fitted(out: Path) -> tuple:
    """The probe fitted on `extract`'s features, with the crops' labels and the stored arrays."""
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, Crop, fit_probe

    rows = json.loads((out / "crops.json").read_text())
    data = np.load(out / "features.npz")
    sides = photo_sides(rows)
    crops = [Crop(r["source"], r["label"], r["kind"], r["method"], r["group"], r["part"], False,
                  short_side=sides.get(r["source"], 0)) for r in rows]  # fmt: skip
    probe, cv = fit_probe(data["context"], crops, RESIDUAL_SHARES, match_resolution=True)
    print(f"context probe: L2 {probe.l2:g}, CV {cv[probe.l2]:.3f}")
    return probe, cv, crops, rows, data


def fit(out: Path) -> None:
    from deepfake_analyzer.models.blend import Blend, logits
    from deepfake_analyzer.training.texture_train import file_scores, table_report

    probe, _, crops, _, data = fitted(out)
    context = logits(probe.probability(data["context"]))
    held = np.array([c.part == "heldout" for c in crops])
    hcrops = [c for c, h in zip(crops, held, strict=True) if h]
    v12 = Blend.load(V12.with_name("deepfake_v12.blend.json"))
    members = [data["members"][:, k] for k in range(3)]
    weight, center = member_fit(context, crops)
    z3 = sum(m.weight * (logits(p) - m.center) for m, p in zip(v12.members, members, strict=True))
    z4 = 0.75 * z3 + weight * (context[held] - center)
    tables = {
        "v12": file_scores(np.asarray(z3), hcrops),
        "context probe": file_scores(context[held], hcrops),
        "v12 + context": file_scores(np.asarray(z4), hcrops),
    }
    report = table_report(tables)
    (out / "tables.json").write_text(json.dumps(report, indent=1))
    for name, table in report.items():
        print(f"== {name}")
        for row in table["rows"]:
            print(f"  {row['name']:<28} {row['auc']:.3f}  ({row['num_fake']} fakes)")
        for row in table["against_first"]:
            print(f"  vs v12 {row['name']:<21} {row['difference']:+.3f} "
                  f"[{row['low']:+.3f}, {row['high']:+.3f}] {row['verdict']}")  # fmt: skip


def write(out: Path, name: str, folder: Path, gathered: list[Path]) -> None:
    """The candidate `name` in `folder`: v12's three members as they are (their weights x 3/4:
    four members share the say), the context probe `<name>_context` and the training-data list."""
    import shutil

    import cv2

    from deepfake_analyzer.models.blend import Blend, logits
    from deepfake_analyzer.training.datalist import write_training_list
    from deepfake_analyzer.training.extract import source_key
    from deepfake_analyzer.training.texture_backbone import load_backbone
    from deepfake_analyzer.training.texture_export import write_blend, write_texture_model
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, RESOLUTION_EDGES

    probe, cv, crops, rows, data = fitted(out)
    margin = float(data["margin"])
    used, part = protocol(gathered)
    trained = [i for i in used if part.get(source_key(i.path)) == "train"]
    folder.mkdir(parents=True, exist_ok=True)
    v12 = Blend.load(V12.with_name("deepfake_v12.blend.json"))
    base = ""
    for member in v12.members:
        spec = json.loads((V12.parent / member.spec).read_text())
        base = base or spec.get("weights_base") or ""
        for f in (member.spec, spec["weights_file"], spec.get("weights_base") or ""):
            if f and not (folder / f).exists():
                shutil.copy(V12.parent / f, folder / f)
    order = [i for i, c in enumerate(crops) if c.part == "heldout"][:32]
    check = np.stack([cv2.imread(rows[i]["crop"])[..., ::-1] for i in order])
    counts = {k: sum(1 for c in crops if c.part == "train" and
                     (("labeled fake" if c.label else f"real {c.kind}") == k))
              for k in ("real video", "real image", "labeled fake")}  # fmt: skip
    training = {
        "recipe": f"linear probe on frozen ImageNet EfficientNet-Lite0 block statistics of the "
                  f"crop cut at margin {margin:g} (the face and its surroundings), "
                  "scripts/context_probe.py",
        "l2": probe.l2, "cv_auc": {f"{k:g}": round(v, 4) for k, v in cv.items()},
        "shares": RESIDUAL_SHARES,
        "resolution_matched": {"short_side_edges": RESOLUTION_EDGES},
        "crops": counts, "files": len(trained), "training_data": f"{name}.training-data.csv",
    }  # fmt: skip
    context_spec = write_texture_model(
        load_backbone(), probe, folder, f"{name}_context", margin, training, check,
        probe.probability(data["context"][order]), base=folder / base,
    )  # fmt: skip
    write_training_list(trained, folder / f"{name}.training-data.csv")
    weight, center = member_fit(logits(probe.probability(data["context"])), crops)
    members = [(folder / m.spec, (0.75 * m.weight, m.center)) for m in v12.members]
    members.append((context_spec, (weight, center)))
    spec = write_blend(folder, name, members, {
        "fitted_on": "v12's members with their centers and spreads (weights x 3/4); the context "
                     "probe z-scored on the protocol's training crops",
        "kept_as_fitted": [m.spec for m in v12.members],
    }, views=5)  # fmt: skip
    print(f"-> {spec}")


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("extract", "fit", "write"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "extract":
        extract(Path(sys.argv[2]), float(sys.argv[3]), [Path(p) for p in sys.argv[4:]])
    elif sys.argv[1] == "fit":
        fit(Path(sys.argv[2]))
    else:
        write(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), [Path(p) for p in sys.argv[5:]])
