"""Paired warm timing of two or more models on one clip, in one process.

Run:  .venv/bin/python benchmarks/bench_models_ab.py --model A.spec.json --model B.spec.json
          [--clip CLIP] [--rounds 7]

Each model gets its own loaded `Analyzer`; after one warm-up analysis each, the models
analyze the clip in turn, the order reversed every round, so drifts in the machine's speed
fall on all of them alike. Prints each model's median warm time and classify stage, and every
model's ratio to the first. TensorFlow is kept out of the process (the default runtime,
LiteRT, does not need it). The clip defaults to `bench_pipeline.py`'s target clip (1080p, one
face, 10 s), made on first use in its cache folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, type=Path, metavar="SPEC")
    parser.add_argument("--clip", type=Path, help="default: the benchmark's 1080p one-face clip")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sys.modules["tensorflow"] = None  # type: ignore[assignment]
    from deepfake_analyzer.options import AnalyzeOptions
    from deepfake_analyzer.pipeline import Analyzer

    clip = args.clip
    if clip is None:
        import synthetic_clips as sc
        from bench_pipeline import DEFAULT_CACHE

        clip = sc.make_clip(sc.ClipRecipe("1080p", 1), DEFAULT_CACHE / "clips")
    analyzers = [Analyzer(AnalyzeOptions(model_path=str(m))) for m in args.model]
    for analyzer in analyzers:
        analyzer.analyze(clip)  # warm-up: models loaded, runtimes built
    runs: list[list[tuple[float, float]]] = [[] for _ in analyzers]
    for r in range(args.rounds):
        order = range(len(analyzers)) if r % 2 == 0 else reversed(range(len(analyzers)))
        for i in order:
            t0 = time.perf_counter()
            report = analyzers[i].analyze(clip)
            runs[i].append((time.perf_counter() - t0, report.timings_s["classify"]))
    first = statistics.median(t for t, _ in runs[0])
    print(f"{clip.name}: {args.rounds} rounds, median warm seconds")
    for model, timed in zip(args.model, runs, strict=True):
        warm = statistics.median(t for t, _ in timed)
        classify = statistics.median(c for _, c in timed)
        print(f"  {model}: {warm:.3f} s (classify {classify:.3f} s), {warm / first:.2f}x the first")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
