"""Frame-only vs temporal vs frame+temporal video AUC on the protocol's held-out videos, as
the analyzer computes them.

Usage: .venv/bin/python scripts/temporal_vs_frame.py DATA [DATA ...] [--real DIR ...]
       [--model SPEC] [--temporal-model JSON] [--cache RESULTS.json] [--set OPTION=VALUE ...]

Takes the videos of `training/protocol.py`'s held-out part of DATA (generators and people no
model trained on), analyzes each with the analyzer's default options (`--temporal combine`:
the dense landmark window of temporal/follow.py at the default 2 fps) and reads from each
report the three video scores: frame-only (the verdict its face scores give without temporal
evidence, through `scoring.aggregate`),
temporal alone (the deciding track's motion score) and frame+temporal (the verdict's score).
Prints AUC overall and per family for each. Results are cached per video in `--cache` (a
rerun skips videos already there, for the same model and options).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.models.spec import Thresholds
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.pipeline import Analyzer
from deepfake_analyzer.report.types import Report
from deepfake_analyzer.scoring.aggregate import FaceScore, aggregate
from deepfake_analyzer.temporal.extract import default_temporal_cache
from deepfake_analyzer.temporal.model import load_temporal_model
from deepfake_analyzer.training.metrics import roc_auc
from deepfake_analyzer.training.protocol import canonical_generator, family_of, split_protocol
from deepfake_analyzer.training.sources import FAKE, discover_labeled, discover_real


def scores_of(report: Report) -> dict[str, float | None]:
    """The report's frame-only, temporal and combined video scores (module docstring)."""
    if not report.tracks:
        return {"frame": None, "temporal": None, "combined": None}
    faces = [
        FaceScore(frame.index, frame.timestamp_s, face.track_id, face.score)
        for frame in report.frames
        for face in frame.faces
    ]
    frame_only = aggregate(faces, Thresholds(**report.model.thresholds)).verdict
    decisive = next(t for t in report.tracks if t.id == report.verdict.track_id)
    temporal = decisive.temporal.score if decisive.temporal else None
    return {"frame": frame_only.score, "temporal": temporal, "combined": report.verdict.score}


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
    parser.add_argument(
        "--cache", type=Path, default=default_temporal_cache() / "heldout_analyzer_scores.json"
    )
    parser.add_argument(
        "--set", action="append", default=[], help="an AnalyzeOptions value, e.g. fps=8"
    )
    args = parser.parse_args()
    overrides: dict[str, object] = {}
    for pair in args.set:
        name, _, value = pair.partition("=")
        overrides[name] = json.loads(value) if value[:1].isdigit() else value
    if args.model:
        overrides["model_path"] = args.model
    options = AnalyzeOptions.from_mapping(overrides)
    items = [i for root in args.data for i in discover_labeled(root)]
    items += [i for root in args.real for i in discover_real(root)]
    videos = [i for i in split_protocol(items).heldout if i.kind == "video"]

    temporal = load_temporal_model(args.temporal_model) if args.temporal_model else None
    key = json.dumps(
        [options.to_dict(), str(args.temporal_model or "")], sort_keys=True, default=str
    )
    cache = json.loads(args.cache.read_text()) if args.cache.is_file() else {}
    done: dict[str, dict] = cache.get(key, {})
    with Analyzer(options, temporal_model=temporal) as analyzer:
        for k, item in enumerate(videos, start=1):
            path = str(item.path)
            if path in done:
                continue
            row: dict[str, object] = {
                "label": item.label,
                "generator": canonical_generator(item.method),
                "family": family_of(item.method),
            }
            try:
                row |= scores_of(analyzer.analyze(path))
            except AnalyzerError as exc:
                print(f"skipped {path}: {exc}")
                row |= {"frame": None, "temporal": None, "combined": None}
            done[path] = row
            print(f"{k}/{len(videos)} {path} {row}", flush=True)
            args.cache.parent.mkdir(parents=True, exist_ok=True)
            args.cache.write_text(json.dumps({**cache, key: done}, indent=1) + "\n")

    rows = [done[str(i.path)] for i in videos if done[str(i.path)]["frame"] is not None]
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
