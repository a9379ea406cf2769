"""Thresholds for a candidate that flag the training part's real videos as often as the shipped
model's do (no held-out file is read).

    python scripts/match_thresholds.py REFERENCE_SPEC CANDIDATE_SPEC [--write] GATHERED_DIR ...

A candidate that keeps the shipped model's thresholds inherits cut points fitted to another
score distribution: a refitted blend can read real videos a little higher or lower overall, and
the share of real videos it calls `fake` moves with that shift, not with what it detects. This
scores the protocol's training-part real videos (`mesh_feature_probe.protocol` over the shared
data and GATHERED_DIRs) through the analyzer as `evaluate --video-scores analyzer` does (the
same caches: the reference's crops are rescored for the candidate when their geometry agrees),
with each model's own calibration, and gives the candidate the `suspicious` and `fake`
thresholds at which the same share of those videos reaches each verdict as under the
reference's thresholds (midway between the two candidate scores around that share). With
`--write` the candidate spec gets them (its calibration and the rest unchanged). Judge the
result on the held-out table afterwards, as any model.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np


def matched(reference: np.ndarray, threshold: float, candidate: np.ndarray) -> float:
    """The candidate threshold that as many of `candidate`'s scores reach as `reference`'s
    scores reach `threshold` (the same videos in both): midway between the candidate scores
    ranked just inside and just outside that count."""
    count = int((reference >= threshold).sum())
    ranked = np.sort(candidate)[::-1]
    if count == 0:
        return float(min(1.0, (ranked[0] + 1.0) / 2))
    if count >= len(ranked):
        return float(ranked[-1])
    return float((ranked[count - 1] + ranked[count]) / 2)


def training_real_videos(gathered: list[Path]) -> list:
    from mesh_feature_probe import protocol

    from deepfake_analyzer.training.extract import source_key

    items, part = protocol(gathered)
    return [
        i for i in items
        if i.kind == "video" and not i.label and part.get(source_key(i.path)) == "train"
    ]  # fmt: skip


def scores_of(spec_path: Path, items: list) -> dict[str, float]:
    """Each video's analyzer score under `spec_path`'s own calibration."""
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.temporal.config import DEFAULT_TEMPORAL_MODEL
    from deepfake_analyzer.temporal.model import load_temporal_model
    from deepfake_analyzer.training.eval_analyzer import analyze_videos
    from deepfake_analyzer.training.evaluate import EvaluateConfig, analyzer_options
    from deepfake_analyzer.training.extract import default_cache_dir

    classifier = load_classifier(spec_path)
    analyzed = analyze_videos(
        items, classifier, analyzer_options(EvaluateConfig()), default_cache_dir(), None, None,
        load_temporal_model(DEFAULT_TEMPORAL_MODEL),
    )  # fmt: skip
    spec = classifier.spec
    out = {}
    for path, video in analyzed.items():
        score = video.score(spec.calibration, spec.thresholds)
        if score is not None:
            out[path] = score
    return out


def main(reference: Path, candidate: Path, write: bool, gathered: list[Path]) -> None:
    from deepfake_analyzer.models.spec import ModelSpec

    items = training_real_videos(gathered)
    print(f"{len(items)} real videos of the training part", flush=True)
    ref, cand = scores_of(reference, items), scores_of(candidate, items)
    both = sorted(set(ref) & set(cand))
    r, c = np.array([ref[p] for p in both]), np.array([cand[p] for p in both])
    ref_spec, cand_spec = ModelSpec.load(reference), ModelSpec.load(candidate)
    new = {}
    for name in ("suspicious", "fake"):
        at = getattr(ref_spec.thresholds, name)
        new[name] = matched(r, at, c)
        print(f"{name}: {reference.name} {at:.4f} flags {(r >= at).mean():.1%} of {len(both)}; "
              f"{candidate.name} had {getattr(cand_spec.thresholds, name):.4f} "
              f"({(c >= getattr(cand_spec.thresholds, name)).mean():.1%}), matched "
              f"{new[name]:.4f} ({(c >= new[name]).mean():.1%})")  # fmt: skip
    if write:
        thresholds = replace(cand_spec.thresholds, **new)
        replace(cand_spec, thresholds=thresholds).save(candidate)
        print(f"-> {candidate}")


if __name__ == "__main__":
    args = sys.argv[1:]
    write = "--write" in args
    args = [a for a in args if a != "--write"]
    main(Path(args[0]), Path(args[1]), write, [Path(a) for a in args[2:]])
