"""A second unseen-generator test set from a gathered manifest, and its per-family table.

    python scripts/unseen_eval.py subset EXTRA_DIR OUT_DIR [--trained TRAINING_DATA_CSV]
    deepfake-analyzer evaluate OUT_DIR --model SPEC -o eval-extra/
    python scripts/unseen_eval.py table eval-extra/evaluation.json [more.json ...]

`subset` keeps the fakes of generators the model never trained on and the reals of people it
never trained on (by the training-data list's `generator` and `group`), as symlinks under
OUT_DIR with a filtered `manifest.csv` (the `identity-manifest` layout). `table` prints AUC per
medium and family (`protocol.FAMILIES`) from evaluation.json's per-file scores.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from deepfake_analyzer.training.metrics import roc_auc
from deepfake_analyzer.training.protocol import family_of


def subset(extra: Path, out: Path, trained: Path) -> None:
    with trained.open(newline="") as handle:
        seen = list(csv.DictReader(handle))
    generators = {r["generator"] for r in seen if r["label"] == "fake"}
    people = {r["group"] for r in seen}
    with (extra / "manifest.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields = list(reader.fieldnames or ())
        rows = list(reader)
    keep = [
        r
        for r in rows
        if (r["label"] == "fake" and r["generator"] not in generators)
        or (r["label"] == "real" and r["identity"] not in people)
    ]
    for row in keep:
        target = out / row["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.symlink_to((extra / row["file"]).resolve())
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(keep)
    print(f"{len(keep)} of {len(rows)} files unseen by the model: {out}")


def _auc(reals: list[float], fakes: list[float]) -> str:
    if not reals or not fakes:
        return "-"
    labels = np.r_[np.zeros(len(reals)), np.ones(len(fakes))]
    return f"{roc_auc(labels, np.r_[reals, fakes]):.3f}"


def table(paths: list[Path]) -> None:
    for path in paths:
        files = json.loads(path.read_text())["videos"]
        print(f"{path}")
        for kind in ("image", "video"):
            rows = [f for f in files if f["kind"] == kind]
            reals = [f["score"] for f in rows if f["label"] == 0]
            by_family: dict[str, list[float]] = {}
            for f in rows:
                if f["label"] == 1:
                    by_family.setdefault(family_of(f["method"]), []).append(f["score"])
            fakes = [s for scores in by_family.values() for s in scores]
            parts = [f"all {_auc(reals, fakes)} ({len(fakes)} fakes, {len(reals)} reals)"]
            parts += [f"{k} {_auc(reals, v)} (n={len(v)})" for k, v in sorted(by_family.items())]
            print(f"  {kind}: " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("subset")
    make.add_argument("extra", type=Path)
    make.add_argument("out", type=Path)
    make.add_argument(
        "--trained", type=Path, default=Path("models/deepfake_xception.training-data.csv")
    )
    show = sub.add_parser("table")
    show.add_argument("evaluations", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "subset":
        subset(args.extra, args.out, args.trained)
    else:
        table(args.evaluations)


if __name__ == "__main__":
    main()
