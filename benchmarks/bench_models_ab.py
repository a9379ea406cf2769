"""Paired warm timing of two or more models on one clip, in one process.

Run:  .venv/bin/python benchmarks/bench_models_ab.py --model A.spec.json --model B.spec.json
          [--option KEY=VALUE ...] [--clip CLIP] [--rounds 7]

Each model gets its own loaded `Analyzer`; each `--option` (an `AnalyzeOptions` field and a
value, e.g. `temporal_seconds=10` or `temporal=off`) adds one more, the first model with that
option set, so an analysis option is timed against the defaults in the same run;
`--without-crowd-probes` adds the first model with an auto detector that never probes large-face
frames with full range (faces/detector.py, `CROWD_PROBE_EVERY`), what they cost. After one
warm-up analysis each, the models analyze the clip in turn, the order reversed every round, so
drifts in the machine's speed fall on all of them alike. Prints each model's median warm time
and classify stage, every model's ratio to the first, and the CPU seconds an analysis takes: the
analyzer's process (all its threads) and ffmpeg's, and how many of the machine's cores that
keeps busy on average (CPU seconds over wall seconds; near the core count, only less work is
faster). TensorFlow is kept out of the process (the default runtime, LiteRT, does not need it).
The clip defaults to `bench_pipeline.py`'s target clip (1080p, one face, 10 s), made on first
use in its cache folder.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", required=True, type=Path, metavar="SPEC")
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE",
        help="also time the first model with this analysis option set; repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--without-crowd-probes", action="store_true",
        help="also time the first model with the auto detector's crowd probes off",
    )  # fmt: skip
    parser.add_argument("--clip", type=Path, help="default: the benchmark's 1080p one-face clip")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sys.modules["tensorflow"] = None  # type: ignore[assignment]
    from deepfake_analyzer.faces.detector import create_detector
    from deepfake_analyzer.options import AnalyzeOptions, parse_option
    from deepfake_analyzer.pipeline import Analyzer

    clip = args.clip
    if clip is None:
        import synthetic_clips as sc
        from bench_pipeline import DEFAULT_CACHE

        clip = sc.make_clip(sc.ClipRecipe("1080p", 1), DEFAULT_CACHE / "clips")
    variants = [(str(m), AnalyzeOptions(model_path=str(m))) for m in args.model]
    for option in args.option:
        key, _, value = option.partition("=")
        settings = AnalyzeOptions.from_mapping(
            {"model_path": str(args.model[0]), key: parse_option(key, value)}
        )
        variants.append((f"{args.model[0]} {key}={value}", settings))
    analyzers = [Analyzer(options) for _, options in variants]
    if args.without_crowd_probes:
        first = variants[0][1]
        unprobed = create_detector(
            first.detector, first.min_confidence, first.min_face, crowd_probe_every=None
        )
        variants.append((f"{args.model[0]} without crowd probes", first))
        analyzers.append(Analyzer(first, detector=unprobed))
    for analyzer in analyzers:
        analyzer.analyze(clip)  # warm-up: models loaded, runtimes built
    runs: list[list[tuple[float, float, float, float]]] = [[] for _ in analyzers]
    for r in range(args.rounds):
        order = range(len(analyzers)) if r % 2 == 0 else reversed(range(len(analyzers)))
        for i in order:
            own, children = _cpu_seconds()
            t0 = time.perf_counter()
            report = analyzers[i].analyze(clip)
            wall = time.perf_counter() - t0
            own_after, children_after = _cpu_seconds()
            classify = report.timings_s["classify"]
            runs[i].append((wall, classify, own_after - own, children_after - children))
    first = statistics.median(run[0] for run in runs[0])
    cores = os.cpu_count() or 1
    print(f"{clip.name}: {args.rounds} rounds, medians, {cores} cores")
    for (model, _), timed in zip(variants, runs, strict=True):
        warm, classify, own, ffmpeg = (statistics.median(run[k] for run in timed) for k in range(4))
        busy = statistics.median((run[2] + run[3]) / run[0] for run in timed)
        print(f"  {model}: {warm:.3f} s warm (classify {classify:.3f} s), {warm / first:.2f}x "
              f"the first; CPU {own:.2f} s analyzer + {ffmpeg:.2f} s ffmpeg, "
              f"{busy:.2f} of {cores} cores busy")  # fmt: skip
    return 0


def _cpu_seconds() -> tuple[float, float]:
    """User + system CPU seconds of this process (all threads) and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


if __name__ == "__main__":
    raise SystemExit(main())
