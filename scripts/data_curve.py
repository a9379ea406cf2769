"""Would more training data help? The held-out crop path against the share of training data.

    python scripts/data_curve.py CTX_DIR [L2] [SEEDS]
    python scripts/data_curve.py CTX_DIR --without FOLDER [FOLDER ...]

Every gathering round so far added generators and people to the protocol's training part; this
asks how much the last ones bought, to say whether another round is worth a session. On the
crops of an earlier `context_probe.py extract` folder (CTX_DIR), the Lite0 face probe (the face
member's kind, `RESIDUAL_SHARES`, photo sizes matched) is fitted on part of the training data
and judged on all the held-out files (a video's score its crops' top-quarter mean):

- `generators`: a random share of the training part's fake generators (all their fakes), every
  real crop and self-blend kept;
- `people`: a random share of the training part's real people (their crops and self-blends),
  every fake kept;
- `files`: every generator, but a random share of each one's fake files (at least one): fewer
  fakes without fewer generators, to tell the number of generators from the number of fakes.

Shares 1/4, 1/2, 3/4 and all, SEEDS draws each (default 3), L2 fixed (default 3000, what CV
chose on all the data: a smaller set would choose its own, so the curve is the data's effect
at one regularisation, not each share at its best).

`--without FOLDER ...` asks what a gathering round bought: the same probe fitted with and
without the training files under the FOLDERs, both judged on the same held-out files (the
FOLDERs' held-out files included).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SHARES = (0.25, 0.5, 0.75, 1.0)


def drawn(names: list[str], share: float, rng: np.random.Generator) -> set[str]:
    """`share` of the distinct `names` (at least one), drawn at random."""
    distinct = sorted(set(names))
    count = max(1, round(share * len(distinct)))
    return set(rng.choice(distinct, size=count, replace=False).tolist())


def drawn_per_generator(
    fakes: list[tuple[str, str]], share: float, rng: np.random.Generator
) -> set[str]:
    """`share` of each generator's distinct files (at least one), from (method, source) pairs."""
    by: dict[str, list[str]] = {}
    for method, source in fakes:
        by.setdefault(method, []).append(source)
    return set().union(*(drawn(sources, share, rng) for _, sources in sorted(by.items())))


def kept_rows(crops: list, axis: str, keep: set[str]) -> np.ndarray:
    """Rows of `crops` a fit on part of the training data reads: held-out rows always; on the
    `axis` ("generators": labeled fakes by method; "files": labeled fakes by file; "people":
    reals and their self-blends by group) only the training rows whose name is in `keep`."""
    rows = []
    for c in crops:
        fake = bool(c.label) and not c.blended
        varied = not fake if axis == "people" else fake
        name = {"generators": c.method, "files": c.source, "people": c.group}[axis]
        rows.append(c.part != "train" or not varied or name in keep)
    return np.array(rows)


def curve(ctx: Path, l2: float = 3000.0, seeds: int = 3) -> None:
    from mesh_feature_probe import labeled_crops

    crops, _, data = labeled_crops(ctx)
    x = data["face"]
    training = [c for c in crops if c.part == "train"]
    fakes = [(c.method, c.source) for c in training if c.label and not c.blended]
    people = [c.group for c in training if not c.label]
    print(f"training part: {len({m for m, _ in fakes})} generators, {len(set(fakes))} fake "
          f"files, {len(set(people))} real people; L2 {l2:g}")  # fmt: skip
    draws = {
        "generators": lambda share, rng: drawn([m for m, _ in fakes], share, rng),
        "files": lambda share, rng: drawn_per_generator(fakes, share, rng),
        "people": lambda share, rng: drawn(people, share, rng),
    }
    for axis, draw in draws.items():
        for share in SHARES:
            results = []
            for seed in range(seeds if share < 1 else 1):
                keep = draw(share, np.random.default_rng(seed))
                rows = kept_rows(crops, axis, keep)
                results.append(held_out_aucs(x, crops, rows, l2))
            video, image = np.array(results).T
            print(f"{axis:10s} share {share:4.2f}: held-out video {video.mean():.3f} "
                  f"(+-{video.std():.3f}), images {image.mean():.3f} (+-{image.std():.3f}) "
                  f"over {len(results)} draws", flush=True)  # fmt: skip


def held_out_aucs(x: np.ndarray, crops: list, rows: np.ndarray, l2: float) -> tuple[float, ...]:
    """Held-out video and image AUC of the face probe fitted on `rows` of the crops."""
    from deepfake_analyzer.training.metrics import roc_auc
    from deepfake_analyzer.training.texture_train import RESIDUAL_SHARES, file_scores, fit_probe

    sub = [c for c, k in zip(crops, rows, strict=True) if k]
    probe, _ = fit_probe(x[rows], sub, RESIDUAL_SHARES, match_resolution=True, l2=l2)
    files = file_scores(probe.probability(x), crops)
    return tuple(
        roc_auc([f.label for f in files if f.kind == kind],
                [f.score for f in files if f.kind == kind])
        for kind in ("video", "image")
    )  # fmt: skip


def without(ctx: Path, folders: list[str], l2: float = 3000.0) -> None:
    from mesh_feature_probe import labeled_crops

    crops, _, data = labeled_crops(ctx)
    inside = np.array([c.source.startswith(tuple(folders)) for c in crops])
    train = np.array([c.part == "train" for c in crops])
    print(f"{int((inside & train).sum())} training and {int((inside & ~train).sum())} other "
          f"crops under {', '.join(folders)}; L2 {l2:g}")  # fmt: skip
    for name, rows in (("without them", ~(inside & train)), ("with them", np.ones_like(train))):
        video, image = held_out_aucs(data["face"], crops, rows, l2)
        print(f"{name:12s}: held-out video {video:.3f}, images {image:.3f}", flush=True)


if __name__ == "__main__":
    args = sys.argv[2:]
    if args[:1] == ["--without"]:
        without(Path(sys.argv[1]), [str(Path(a).resolve()) for a in args[1:]])
    else:
        curve(Path(sys.argv[1]), *(float(a) for a in args[:1]), *(int(a) for a in args[1:2]))
