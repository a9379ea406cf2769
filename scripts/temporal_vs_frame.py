"""Frame-only vs temporal vs frame+temporal video AUC on the protocol's held-out videos.

Usage: .venv/bin/python scripts/temporal_vs_frame.py [--scores HELDOUT.json] [--model SPEC]
       [--frame-scores CACHE.json]

Reads the per-video held-out temporal scores that `deepfake-analyzer train-temporal` wrote
(default `~/.cache/deepfake-analyzer/temporal/heldout_scores.json`), analyzes each of those
videos with the frame classifier alone (`AnalyzeOptions(temporal="off")`, default sampling;
the video score is the verdict's score), combines the two per video with the analyzer's own
rule (`temporal.tracks.combine_scores` around the temporal model's prior; one face per clip
makes video and track level the same) and prints video AUC overall and per family for each.
Frame scores are cached in `--frame-scores` (a rerun skips videos already there).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.pipeline import Analyzer
from deepfake_analyzer.temporal.extract import default_temporal_cache
from deepfake_analyzer.temporal.model import load_temporal_model
from deepfake_analyzer.temporal.tracks import combine_scores
from deepfake_analyzer.training.metrics import roc_auc


def frame_scores(videos: list[str], cache: Path, model: str | None) -> dict[str, float | None]:
    scores = json.loads(cache.read_text()) if cache.is_file() else {}
    todo = [v for v in videos if v not in scores]
    if todo:
        with Analyzer(AnalyzeOptions(temporal="off", model_path=model)) as analyzer:
            for k, path in enumerate(todo, start=1):
                try:
                    scores[path] = analyzer.analyze(path).verdict.score
                except AnalyzerError as exc:
                    print(f"skipped {path}: {exc}")
                    scores[path] = None
                print(f"{k}/{len(todo)} {path} {scores[path]}", flush=True)
                cache.write_text(json.dumps(scores, indent=1) + "\n")
    return scores


def auc_row(name: str, rows: list[dict], values: np.ndarray) -> str:
    labels = np.array([r["label"] == "fake" for r in rows], dtype=float)
    reals = values[labels == 0]
    cells = [f"{name:15s} all {roc_auc(labels, values):.3f}"]
    by_family: dict[str, list[float]] = defaultdict(list)
    for row, value in zip(rows, values, strict=True):
        if row["label"] == "fake":
            by_family[row["family"]].append(value)
    for family, fakes in sorted(by_family.items()):
        y = np.r_[np.zeros(len(reals)), np.ones(len(fakes))]
        cells.append(f"{family} {roc_auc(y, np.r_[reals, fakes]):.3f}")
    return " | ".join(cells)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scores", type=Path, default=default_temporal_cache() / "heldout_scores.json"
    )
    parser.add_argument(
        "--frame-scores", type=Path, default=default_temporal_cache() / "heldout_frame_scores.json"
    )
    parser.add_argument("--model", help="frame classifier spec (default: the shipped one)")
    args = parser.parse_args()
    videos = json.loads(args.scores.read_text())["videos"]
    frames = frame_scores([v["path"] for v in videos], args.frame_scores, args.model)
    rows = [
        v for v in videos if v["temporal_score"] is not None and frames.get(v["path"]) is not None
    ]
    prior = load_temporal_model().prior
    frame = np.array([frames[r["path"]] for r in rows])
    temporal = np.array([r["temporal_score"] for r in rows])
    combined = np.array([combine_scores(f, t, prior) for f, t in zip(frame, temporal, strict=True)])
    print(f"{len(rows)} of {len(videos)} held-out videos have both scores (prior {prior:.3f})")
    for name, values in (
        ("frame-only", frame),
        ("temporal", temporal),
        ("frame+temporal", combined),
    ):
        print(auc_row(name, rows, values))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
