"""Which identity groups of the data are one person under different names?

    python scripts/same_people.py CONTEXT_DIR IDS.npz [IDS.npz ...] [--threshold T] [--write]

The protocol splits real people by their identity group, the manifest's `identity`. Folders
gathered from different repositories name the same person differently ("barack-obama",
"obama", "person-barack-obama"), and the same public photo or clip (a CelebA-HQ image, an
AFLW2000 image, a LivePortrait driving clip) appears in several repositories under several
names: by name alone, a person could be trained on under one name and judged under another.

This script reads each real group's faces through dlib's face descriptor
(`identity_probe.py extract`: 128 values a crop of CONTEXT_DIR, a `context_probe.py extract`
folder) and joins two real groups when the medians of their crops' descriptors are closer
than T (0.35 by default; single link: a chain of close pairs is one person). It prints the
people found and how many held-out groups, files and videos meet a group of the training part.
With --write it writes the people of two or more groups to
`src/deepfake_analyzer/training/same_people.csv` (group, person, trained, nearest, distance),
which `training/protocol.py` reads: a person with a group on the training side is trained on
under every name. `trained` says whether one of the person's groups lay on CONTEXT_DIR's
training side, so that the protocol knows it even when a run is given only some folders
(`evaluate` is given `train_real/videos`, while the probes also trained on `train_real/images`).

T: dlib's own same-person threshold is 0.6, but over the ~3,900 real groups here single
links chain into one giant component from 0.4 up (0.40: 237 groups; 0.45: 570; 0.50: 1,677);
at 0.35 the largest person has 11 groups, and nearly every pair under it is one photo or clip
in two repositories, or one famous person.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from identity_probe import descriptors

THRESHOLD = 0.35
TABLE = Path(__file__).resolve().parents[1] / "src/deepfake_analyzer/training/same_people.csv"


def people(context: Path, ids: list[Path], threshold: float) -> tuple[list[list[str]], dict]:
    """The people of two or more real groups (each: its groups, sorted), and for every group
    in them its nearest group in the same person and their distance."""
    rows = json.loads((context / "crops.json").read_text())
    desc = descriptors(ids, len(rows))
    crops: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r["label"] == 0:
            crops[r["group"]].append(i)
    groups = sorted(crops)
    middle = np.stack([np.median(desc[crops[g]], axis=0) for g in groups]).astype(np.float64)
    sq = (middle**2).sum(axis=1)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None] - 2 * middle @ middle.T, 0.0))
    np.fill_diagonal(dist, np.inf)
    parent = list(range(len(groups)))

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(*np.nonzero(np.triu(dist < threshold, 1)), strict=True):
        parent[root(int(a))] = root(int(b))
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(len(groups)):
        members[root(i)].append(i)
    found, nearest = [], {}
    for ix in members.values():
        if len(ix) < 2:
            continue
        found.append(sorted(groups[i] for i in ix))
        for i in ix:
            j = min((k for k in ix if k != i), key=lambda k: dist[i, k])
            nearest[groups[i]] = (groups[j], float(dist[i, j]))
    return sorted(found), nearest


def main(args: list[str]) -> None:
    write = "--write" in args
    args = [a for a in args if a != "--write"]
    threshold = THRESHOLD
    if "--threshold" in args:
        at = args.index("--threshold")
        threshold = float(args[at + 1])
        del args[at : at + 2]
    if len(args) < 2:
        raise SystemExit(__doc__)
    context, ids = Path(args[0]), [Path(a) for a in args[1:]]
    found, nearest = people(context, ids, threshold)
    rows = json.loads((context / "crops.json").read_text())
    part = {r["group"]: r["part"] for r in rows if r["label"] == 0}
    files: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        if r["label"] == 0:
            files[r["group"]].add((r["source"], r["kind"]))
    met = [g for person in found if any(part[g] == "train" for g in person)
           for g in person if part[g] == "heldout"]  # fmt: skip
    videos = sum(kind == "video" for g in met for _, kind in files[g])
    print(f"{len(found)} people of two or more real groups ({sum(map(len, found))} groups) at "
          f"distance < {threshold}; {len(met)} held-out groups meet a training group: "
          f"{sum(len(files[g]) for g in met)} files, {videos} videos")  # fmt: skip
    for person in found:
        print("  " + ", ".join(f"{g} ({part[g]})" for g in person))
    if write:
        with TABLE.open("w", newline="") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(["group", "person", "trained", "nearest", "distance"])
            for person in found:
                trained = "yes" if any(part[g] == "train" for g in person) else "no"
                for g in person:
                    out.writerow([g, person[0], trained, nearest[g][0], f"{nearest[g][1]:.3f}"])
        print(f"-> {TABLE}")


if __name__ == "__main__":
    main(sys.argv[1:])
