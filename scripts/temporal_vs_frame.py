"""Frame-only vs temporal vs frame+temporal video AUC on the protocol's held-out videos, as
the analyzer computes them.

Usage: .venv/bin/python scripts/temporal_vs_frame.py DATA [DATA ...] [--real DIR ...]
       [--model SPEC] [--temporal-model JSON] [--cache-dir DIR] [--set OPTION=VALUE ...]

Takes the videos of `training/protocol.py`'s held-out part of DATA (generators and people no
model trained on), analyzes each with the analyzer (default options unless `--set`: the dense
landmark window of temporal/follow.py at the default 2 fps) through
`training.eval_analyzer.analyze_videos`, the path and cache of `evaluate --video-scores
analyzer`, and reads three video scores under the model's calibration: frame-only (the
verdict without temporal evidence), temporal alone (the deciding track's motion score) and
frame+temporal (the verdict the analyzer gives). Prints AUC overall and per family for each.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from deepfake_analyzer.models.loader import load_classifier
from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.temporal.model import load_temporal_model
from deepfake_analyzer.training.eval_analyzer import AnalyzedVideo, analyze_videos
from deepfake_analyzer.training.extract import default_cache_dir
from deepfake_analyzer.training.metrics import roc_auc
from deepfake_analyzer.training.protocol import family_of, split_protocol
from deepfake_analyzer.training.sources import FAKE, discover_labeled, discover_real


def scores_of(video: AnalyzedVideo, spec: ModelSpec) -> dict[str, float | None]:
    """The video's frame-only, temporal and combined scores (module docstring)."""
    verdict = video.verdict(spec.calibration, spec.thresholds)
    frame_only = video.score(spec.calibration, spec.thresholds, temporal=False)
    temporal = video.temporal.get(verdict.track_id) if verdict.track_id is not None else None
    return {"frame": frame_only, "temporal": temporal, "combined": verdict.score}


def auc_row(name: str, rows: list[dict], key: str) -> str:
    rows = [r for r in rows if r[key] is not None]
    reals = np.array([r[key] for r in rows if r["label"] == 0])
    labels = np.array([r["label"] for r in rows], dtype=float)
    values = np.array([r[key] for r in rows])
    cells = [f"{name:15s} all {roc_auc(labels, values):.3f} ({int(labels.sum())} vs {len(reals)})"]
    by_family: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row["label"] == FAKE:
            by_family[row["family"]].append(row[key])
    for family, fakes in sorted(by_family.items()):
        y = np.r_[np.zeros(len(reals)), np.ones(len(fakes))]
        cells.append(f"{family} {roc_auc(y, np.r_[reals, fakes]):.3f}")
    return " | ".join(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+")
    parser.add_argument("--real", action="append", default=[])
    parser.add_argument("--model", help="frame classifier spec (default: the shipped one)")
    parser.add_argument("--temporal-model", type=Path, help="default: the shipped one")
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument(
        "--set", action="append", default=[], help="an AnalyzeOptions value, e.g. fps=8"
    )
    args = parser.parse_args()
    overrides: dict[str, object] = {}
    for pair in args.set:
        name, _, value = pair.partition("=")
        overrides[name] = json.loads(value) if value[:1].isdigit() else value
    options = AnalyzeOptions.from_mapping(overrides)
    items = [i for root in args.data for i in discover_labeled(root)]
    items += [i for root in args.real for i in discover_real(root)]
    videos = [i for i in split_protocol(items).heldout if i.kind == "video"]

    classifier = load_classifier(args.model)
    temporal = load_temporal_model(args.temporal_model) if args.temporal_model else None
    analyzed = analyze_videos(videos, classifier, options, args.cache_dir, temporal_model=temporal)
    rows = []
    for item in videos:
        video = analyzed.get(str(item.path))
        if video is None or not video.faces:
            continue
        rows.append(
            {"label": item.label, "family": family_of(item.method)}
            | scores_of(video, classifier.spec)
        )
    print(f"{len(rows)} of {len(videos)} held-out videos scored")
    for name, column in (
        ("frame-only", "frame"),
        ("temporal", "temporal"),
        ("frame+temporal", "combined"),
    ):
        print(auc_row(name, rows, column))
    both = [r for r in rows if r["temporal"] is not None]
    print(f"{len(both)} videos have a temporal score; on those:")
    for name, column in (("frame-only", "frame"), ("frame+temporal", "combined")):
        print(auc_row(name, both, column))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
