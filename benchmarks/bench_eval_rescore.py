"""What `evaluate --video-scores analyzer` costs for a second model once a first has run.

Run:  .venv/bin/python benchmarks/bench_eval_rescore.py DATA --other B.spec.json
          [--model A.spec.json] [--limit N] [--check N] [--cache-dir DIR]

The analyzer's video scores of DATA's videos (`training.eval_analyzer.analyze_videos`) are
taken for model A (the shipped default unless given), which analyzes each video and leaves its
crops in the cache, then for model B of the same crop geometry (margin, input size, views),
which is scored on those crops alone. Prints the seconds of each pass and their ratio, then
analyzes the first `--check` videos afresh with B (in an empty cache) and prints the largest
difference between those scores and the rescored ones: 0 when rescoring gives what analyzing
again gives. The cache is a new temporary folder unless `--cache-dir` is given (a warm cache
makes the first pass fast too).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="a labeled folder (evaluate's DATA)")
    parser.add_argument("--model", type=Path, help="default: the shipped model")
    parser.add_argument("--other", type=Path, required=True, metavar="SPEC")
    parser.add_argument("--limit", type=int, default=0, help="only the first N videos")
    parser.add_argument("--check", type=int, default=10)
    parser.add_argument("--cache-dir", type=Path)
    args = parser.parse_args()
    sys.modules["tensorflow"] = None  # type: ignore[assignment]  # LiteRT needs none
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.options import AnalyzeOptions
    from deepfake_analyzer.temporal.model import load_temporal_model
    from deepfake_analyzer.training.eval_analyzer import analyze_videos
    from deepfake_analyzer.training.sources import discover_labeled

    videos = [i for i in discover_labeled(args.data) if i.kind == "video"]
    videos = videos[: args.limit] if args.limit else videos
    first = load_classifier(args.model)
    second = load_classifier(args.other)
    options = AnalyzeOptions()
    temporal = load_temporal_model()
    with tempfile.TemporaryDirectory() as scratch:
        cache = args.cache_dir or Path(scratch)
        timed = []
        for classifier in (first, second):
            t0 = time.perf_counter()
            scores = analyze_videos(videos, classifier, options, cache, temporal_model=temporal)
            timed.append(time.perf_counter() - t0)
        fresh_at = Path(scratch) / "fresh"
        checked = videos[: args.check]
        t0 = time.perf_counter()
        fresh = analyze_videos(checked, second, options, fresh_at, temporal_model=temporal)
        fresh_s = time.perf_counter() - t0
    print(f"{len(videos)} videos of {args.data}")
    print(f"  {first.spec.name}: {timed[0]:.1f} s (analyzed; crops cached)")
    print(f"  {second.spec.name}: {timed[1]:.1f} s (scored on the cached crops), "
          f"{timed[1] / timed[0]:.3f}x the first")  # fmt: skip
    worst, faces = 0.0, 0
    for key, video in fresh.items():
        again = [f.score for f in video.faces]
        kept = [f.score for f in scores[key].faces]
        if len(again) != len(kept):
            print(f"  {key}: {len(again)} faces analyzed afresh, {len(kept)} rescored")
            return 1
        faces += len(again)
        worst = max([worst, *(abs(a - b) for a, b in zip(again, kept, strict=True))])
    print(f"  check: {len(fresh)} videos analyzed afresh with {second.spec.name} in "
          f"{fresh_s:.1f} s; {faces} faces, largest score difference {worst:.2e}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
