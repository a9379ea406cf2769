"""Does the face mesh's own network carry fake evidence? (a face-trained backbone)

    python scripts/mesh_feature_probe.py extract OUT_DIR [GATHERED_DIR ...]
    python scripts/mesh_feature_probe.py fit OUT_DIR
    python scripts/mesh_feature_probe.py write OUT_DIR NAME MODEL_DIR [GATHERED_DIR ...]

The analyzer already runs MediaPipe's face mesh (`face_landmark.tflite`, a small network trained
on faces) on every face it verifies. `extract` cuts the protocol's crops as `train-texture` and
`evaluate` do (224 px, margin 1.3, 12 frames a video, one face per frame; cached in the evaluate
crop cache) and computes each crop's `MeshFeatures` (models/mesh_probe.py: channel means and
standard deviations of seven of the network's layers); for held-out crops it also keeps v12's
three member probabilities. `fit` fits a linear probe on those features as `train-texture` fits
the residual probe (real video frames and real photos a quarter each, labeled fakes half and
each generator alike, photo sizes matched; L2 by leave-generator-out CV), then prints the
held-out table on the crop path (one view, a video's score its crops' top-quarter mean) of v12's
blend, the mesh probe alone, v4's face probe alone and v12 with the mesh probe as a fourth equal
member, each paired against v12. `write` writes that four-member blend as the candidate NAME in
MODEL_DIR (v12's members copied beside it with their centers and spreads, the probe
`NAME_mesh`, the training-data list), for `evaluate --calibrate` and the paired evaluation
through the analyzer. Measured as `deepfake_v15`, not kept: models/deepfake_v12.md, "Tried since
shipping".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
PHOTO_FOLDERS = ("images", "images_web160", "images_studio")
V12 = ROOT / "models" / "deepfake_v12.spec.json"


def option(args: list[str], flag: str) -> str | None:
    """A script argument: the value after `flag` in `args`, both taken out of `args`; None
    when it is absent."""
    if flag not in args:
        return None
    at = args.index(flag)
    value = args[at + 1]
    del args[at : at + 2]
    return value


def path_option(args: list[str], flag: str) -> Path | None:
    """`option` read as a path."""
    value = option(args, flag)
    return Path(value) if value is not None else None


def protocol_parts(gathered: list[Path]) -> tuple[list, dict[str, str]]:
    """Every discovered file, in discovery order, and each one's part ("train", "heldout", or
    "" for train_real's photos that the protocol would hold out: trained on, never judged), as
    `train-texture` splits them. Also scripts/native_residual_probe.py's split."""
    from deepfake_analyzer.training.eval_crops import discover_items
    from deepfake_analyzer.training.extract import source_key
    from deepfake_analyzer.training.protocol import split_protocol

    photos_only = [DATA / "train_real" / f for f in PHOTO_FOLDERS]
    items = discover_items([DATA / "wild", DATA / "dev", *gathered],
                           real=[DATA / "train_real/videos", *photos_only])  # fmt: skip
    split = split_protocol(items)
    part = {source_key(i.path): "train" for i in split.train}
    part.update({source_key(i.path): "heldout" for i in split.heldout})
    for item in discover_items([], real=photos_only):  # trained on, never judged
        if part.get(source_key(item.path)) == "heldout":
            part[source_key(item.path)] = ""
    return list(items), part


def protocol(gathered: list[Path]) -> tuple[list, dict[str, str]]:
    """The files used (held-out first) and each one's part (`protocol_parts`)."""
    from deepfake_analyzer.training.extract import source_key

    items, part = protocol_parts(gathered)
    heldout = [i for i in items if part.get(source_key(i.path)) == "heldout"]
    train = [i for i in items if part.get(source_key(i.path)) == "train"]
    return [*heldout, *train], part


def extract(out: Path, gathered: list[Path]) -> None:
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.models.mesh_probe import MeshFeatures
    from deepfake_analyzer.training.eval_crops import extract_for_evaluation
    from deepfake_analyzer.training.evaluate import EvaluateConfig
    from deepfake_analyzer.training.extract import default_cache_dir, load_crop, source_key

    used, part = protocol(gathered)
    blend = load_classifier(V12)
    cache, records = extract_for_evaluation(used, blend.spec, EvaluateConfig(crop_size=224),
                                            default_cache_dir())  # fmt: skip
    print(f"{len(used)} files, {len(records)} crops", flush=True)
    mesh = MeshFeatures()
    rows, feats, members, batch = [], [], [], []

    def score(batch: list[np.ndarray]) -> None:
        members.extend(np.stack(blend.member_scores(np.stack(batch)), axis=1))

    for n, r in enumerate(records):
        crop = load_crop(cache, r)
        feats.append(mesh(crop[None])[0])
        heldout = part[source_key(r.source)] == "heldout"
        if heldout:
            batch.append(crop)
            if len(batch) == 64:
                score(batch)
                batch = []
        rows.append({"crop": str(cache.path_of(r)), "source": r.source, "label": r.label,
                     "kind": r.kind, "method": r.method, "group": r.group,
                     "part": part[source_key(r.source)]})  # fmt: skip
        if n % 2000 == 0:
            print(f"{n} crops", flush=True)
    if batch:
        score(batch)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "features.npz", mesh=np.array(feats), members=np.array(members))
    (out / "crops.json").write_text(json.dumps(rows))
    print(f"{len(rows)} crops -> {out}")


def labeled_crops(out: Path) -> tuple[list, list[dict], dict]:
    """An `extract` folder's crops as `texture_train.Crop`s, its rows and its stored arrays
    (also scripts/context_probe.py's). Parts are the protocol's as of now (`current_parts`):
    the stored held-out member scores (`members`) keep only the crops still held out."""
    from deepfake_analyzer.training.texture_train import Crop

    rows = json.loads((out / "crops.json").read_text())
    data = dict(np.load(out / "features.npz"))
    parts = current_parts(rows)
    if "members" in data:
        stored = [p for r, p in zip(rows, parts, strict=True) if r["part"] == "heldout"]
        data["members"] = data["members"][np.array([p == "heldout" for p in stored], bool)]
    sides = photo_sides(rows)
    crops = [Crop(r["source"], r["label"], r["kind"], r["method"], r["group"], p, False,
                  short_side=sides.get(r["source"], 0))
             for r, p in zip(rows, parts, strict=True)]  # fmt: skip
    return crops, rows, data


def current_parts(rows: list[dict]) -> list[str]:
    """Each crop's part under the protocol as of now: an extraction stores the parts of its
    day, and a held-out crop whose person has since been found on the training side under
    another name (`protocol.person_of`) is neither trained nor judged ("")."""
    from deepfake_analyzer.training.protocol import person_of

    trained = {person_of(r["group"]) for r in rows if r["part"] == "train"}
    moved = {
        r["group"] for r in rows if r["part"] == "heldout" and person_of(r["group"]) in trained
    }
    if moved:
        print(f"{len(moved)} held-out groups are people of the training part under another name: "
              "neither trained nor judged", flush=True)  # fmt: skip
    return ["" if r["group"] in moved else r["part"] for r in rows]


def held_out(crops: list) -> tuple[np.ndarray, list]:
    """Which of `crops` are of the held-out part (a mask), and those crops."""
    held = np.array([c.part == "heldout" for c in crops])
    return held, [c for c, h in zip(crops, held, strict=True) if h]


def training_rows(crops: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The residual probe's training weights of `crops` (`RESIDUAL_SHARES`, photo sizes
    matched; 0 outside the training part), the rows weighted above 0, and every crop's label:
    what `fit_probe` fits on, for the scripts that fit something else on the same rows."""
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, weights_of

    w = weights_of(crops, RESIDUAL_SHARES, match_resolution=True)
    return w, np.nonzero(w > 0)[0], np.array([c.label for c in crops])


def residual_fit(x: np.ndarray, crops: list, name: str) -> tuple:
    """A linear probe on `x` fitted on the training crops as the residual probe is
    (`RESIDUAL_SHARES`, photo sizes matched, L2 by leave-generator-out CV), its L2 and CV AUC
    printed as `name`'s; (the fit, CV AUC per L2). Also the other probe scripts'."""
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, fit_probe

    probe, cv = fit_probe(x, crops, RESIDUAL_SHARES, match_resolution=True)
    print(f"{name} probe: L2 {probe.l2:g}, CV {cv[probe.l2]:.3f}", flush=True)
    return probe, cv


def fitted(out: Path) -> tuple:
    """The probe fitted on `extract`'s features, with the crops' labels and the stored arrays."""
    crops, rows, data = labeled_crops(out)
    probe, cv = residual_fit(data["mesh"], crops, "mesh")
    return probe, cv, crops, rows, data


def member_fit(mesh_logit: np.ndarray, crops: list, members: int = 4) -> tuple[float, float]:
    """A new member's (weight, center) in a blend of `members` (`fit_blend`'s rule): its logit
    z-scored on the training crops, one `members`-th of the say."""
    train = np.array([c.part == "train" for c in crops])
    return 1.0 / (members * float(mesh_logit[train].std())), float(mesh_logit[train].mean())


def with_member(z3: np.ndarray, logit: np.ndarray, crops: list, held: np.ndarray) -> np.ndarray:
    """The held-out crops' log-odds of v12 (`z3`) with one more equal member whose log-odds on
    all `crops` are `logit` (`member_fit`): v12's members weigh 3/4 of what they did."""
    weight, center = member_fit(logit, crops)
    return np.asarray(0.75 * z3 + weight * (logit[held] - center))


def v12_logit(members: np.ndarray, spec: Path = V12) -> np.ndarray:
    """The blend `spec`'s log-odds (before its bias and calibration; v12's by default) from its
    members' stored probabilities, (N, members)."""
    from deepfake_analyzer.models.blend import Blend, logits

    blend = Blend.load(spec.with_name(spec.name.replace(".spec.json", ".blend.json")))
    z = [m.weight * (logits(members[:, k]) - m.center) for k, m in enumerate(blend.members)]
    return np.asarray(sum(z))


def print_tables(out: Path, tables: dict) -> None:
    """The crop-path tables (`texture_train.table_report`, each paired against the first),
    written to OUT/tables.json and printed."""
    from deepfake_analyzer.training.texture_train import table_report

    report = table_report(tables)
    (out / "tables.json").write_text(json.dumps(report, indent=1))
    first = next(iter(tables))
    for name, table in report.items():
        print(f"== {name}")
        for row in table["rows"]:
            print(f"  {row['name']:<28} {row['auc']:.3f}  ({row['num_fake']} fakes)")
        for row in table["against_first"]:
            print(f"  vs {first} {row['name']:<21} {row['difference']:+.3f} "
                  f"[{row['low']:+.3f}, {row['high']:+.3f}] {row['verdict']}")  # fmt: skip


def copy_v12_members(folder: Path, spec_path: Path = V12) -> tuple:
    """The blend `spec_path`'s `Blend` (v12's by default), its member files copied into
    `folder` (each with its weights and their base), and the name of the base file its texture
    members share."""
    from deepfake_analyzer.models.blend import Blend

    blend = Blend.load(spec_path.with_name(spec_path.name.replace(".spec.json", ".blend.json")))
    return blend, copy_member_files(spec_path.parent, folder, [m.spec for m in blend.members])


def copy_member_files(source: Path, folder: Path, member_specs: list[str]) -> str:
    """Each member spec of `source` (a file name) copied into `folder` with its weights and
    their base (files already there are kept); returns the first base file name ("" if none)."""
    import shutil

    folder.mkdir(parents=True, exist_ok=True)
    base = ""
    for name in member_specs:
        spec = json.loads((source / name).read_text())
        base = base or spec.get("weights_base") or ""
        for f in (name, spec["weights_file"], spec.get("weights_base") or ""):
            if f and not (folder / f).exists():
                shutil.copy(source / f, folder / f)
    return base


def write_variant(spec_path: Path, blend: Any, name: str, out: Path) -> Path:
    """OUT/NAME.spec.json: the blend spec `spec_path` written again with `blend` (another
    `Blend` of the same members or fewer), the members' files copied beside it where OUT is
    another folder. Thresholds, calibration and views are kept; the metrics are emptied (they
    were the other blend's). Also scripts/drop_member.py's and track_probe.py's."""
    from dataclasses import replace

    from deepfake_analyzer.models.spec import ModelSpec

    copy_member_files(spec_path.parent, out, [m.spec for m in blend.members])
    blend_path = blend.save(out / f"{name}.blend.json")
    written = out / f"{name}.spec.json"
    replace(ModelSpec.load(spec_path).with_weights(blend_path), name=name, metrics={}).save(written)
    return written


def trained_files(gathered: list[Path]) -> list:
    """The protocol's training files (`protocol`): what a written candidate's list names."""
    from deepfake_analyzer.training.extract import source_key

    used, part = protocol(gathered)
    return [i for i in used if part.get(source_key(i.path)) == "train"]


def training_record(probe: Any, cv: dict, crops: list, trained: list, name: str) -> dict:
    """What a written candidate's probe spec records of its fit, after its recipe: L2, CV AUC
    per L2, shares, photo-size matching, training crops and files, the training-data list."""
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, RESOLUTION_EDGES

    return {
        "l2": probe.l2, "cv_auc": {f"{k:g}": round(v, 4) for k, v in cv.items()},
        "shares": RESIDUAL_SHARES,
        "resolution_matched": {"short_side_edges": RESOLUTION_EDGES},
        "crops": training_counts(crops), "files": len(trained),
        "training_data": f"{name}.training-data.csv",
    }  # fmt: skip


def training_counts(crops: list) -> dict[str, int]:
    """The training part's crops per share (`RESIDUAL_SHARES`' names), for a spec's record."""
    return {k: sum(1 for c in crops if c.part == "train" and
                   (("labeled fake" if c.label else f"real {c.kind}") == k))
            for k in ("real video", "real image", "labeled fake")}  # fmt: skip


def fit(out: Path) -> None:
    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.training.texture_train import file_scores

    probe, _, crops, _, data = fitted(out)
    mesh_logit = logits(probe.probability(data["mesh"]))
    held, hcrops = held_out(crops)
    z3 = v12_logit(data["members"])
    z4 = with_member(z3, mesh_logit, crops, held)
    print_tables(out, {
        "v12": file_scores(z3, hcrops),
        "mesh probe": file_scores(mesh_logit[held], hcrops),
        "v4 face probe": file_scores(logits(data["members"][:, 0]), hcrops),
        "v12 + mesh": file_scores(np.asarray(z4), hcrops),
    })  # fmt: skip


def write(out: Path, name: str, folder: Path, gathered: list[Path]) -> None:
    """The candidate `name` in `folder`: v12's three members as they are (their weights x 3/4:
    four members share the say), the mesh probe `<name>_mesh` and the training-data list."""
    import cv2

    from deepfake_analyzer.models.blend import logits
    from deepfake_analyzer.models.mesh_probe import FEATURES_VERSION, MeshProbe
    from deepfake_analyzer.training.datalist import write_training_list
    from deepfake_analyzer.training.texture_export import write_blend, write_probe_model

    probe, cv, crops, rows, data = fitted(out)
    trained = trained_files(gathered)
    v12, _ = copy_v12_members(folder)
    order = [i for i, c in enumerate(crops) if c.part == "heldout"][:32]
    check = np.stack([cv2.imread(rows[i]["crop"])[..., ::-1] for i in order])
    training = {
        "recipe": "linear probe on the face mesh network's channel statistics "
                  "(models/mesh_probe.py), scripts/mesh_feature_probe.py",
        "features_version": FEATURES_VERSION, **training_record(probe, cv, crops, trained, name),
    }  # fmt: skip
    mesh_spec = write_probe_model(MeshProbe, probe, folder, f"{name}_mesh", 1.3, training, check,
                                 probe.probability(data["mesh"][order]))  # fmt: skip
    write_training_list(trained, folder / f"{name}.training-data.csv")
    weight, center = member_fit(logits(probe.probability(data["mesh"])), crops)
    members = [(folder / m.spec, (0.75 * m.weight, m.center)) for m in v12.members]
    members.append((mesh_spec, (weight, center)))
    spec = write_blend(folder, name, members, {
        "fitted_on": "v12's members with their centers and spreads (weights x 3/4); the mesh "
                     "probe z-scored on the protocol's training crops",
        "kept_as_fitted": [m.spec for m in v12.members],
    }, views=5)  # fmt: skip
    print(f"-> {spec}")


def photo_sides(rows: list[dict]) -> dict[str, int]:
    """Each photo's short side in pixels (0 where it does not open), for resolution matching."""
    from PIL import Image

    sides = {}
    for source in {r["source"] for r in rows if r["kind"] == "image"}:
        try:
            with Image.open(source) as im:
                sides[source] = min(im.size)
        except OSError:
            sides[source] = 0
    return sides


if __name__ == "__main__":
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # LiteRT alone
    if len(sys.argv) < 3 or sys.argv[1] not in ("extract", "fit", "write"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "extract":
        extract(Path(sys.argv[2]), [Path(p) for p in sys.argv[3:]])
    elif sys.argv[1] == "fit":
        fit(Path(sys.argv[2]))
    else:
        write(Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), [Path(p) for p in sys.argv[5:]])
