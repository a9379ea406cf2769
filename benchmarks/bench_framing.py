"""Framing benchmark: how much a face's score moves with its box (training/framing.py).

Run:  .venv/bin/python benchmarks/bench_framing.py [--model SPEC ...] [--max-files N]
          [DATA ...]   (default: ../shared/data/wild ../shared/data/dev)

For the leave-generator-out held-out files of DATA (training/protocol.py: generators and
people no model of ours trained on), one face per file (the largest face of an image, of the
middle frame of a video) is scored with its detector box scaled 1.0-1.4x and shifted by 10 %
of its side. Prints, per model, the per-face standard deviation of the calibrated score
(median, mean, share of faces within the 0.05 target), the mean spread relative to the spread
of scores between faces (comparable across calibration temperatures) and the mean score.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = (REPO.parent / "shared" / "data" / "wild", REPO.parent / "shared" / "data" / "dev")


def middle_frame(path: Path, kind: str) -> np.ndarray | None:
    from deepfake_analyzer.errors import AnalyzerError
    from deepfake_analyzer.media.open import open_media
    from deepfake_analyzer.media.types import SamplingOptions

    sampling = SamplingOptions(fps=None if kind == "image" else 2.0, max_frames=12)
    try:
        source = open_media(path, sampling)
    except AnalyzerError:
        return None
    try:
        frames = [f.image for f in source.frames()]
    except AnalyzerError:
        return None
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return frames[len(frames) // 2] if frames else None


def collect_faces(data: list[Path], max_files: int, seed: int) -> list[tuple[np.ndarray, Any]]:
    from deepfake_analyzer.faces.detector import create_detector
    from deepfake_analyzer.training.protocol import split_protocol
    from deepfake_analyzer.training.sources import discover_labeled

    items = [i for root in data for i in discover_labeled(root)]
    heldout = list(split_protocol(items).heldout)
    rng = np.random.default_rng(seed)
    if len(heldout) > max_files:
        heldout = [heldout[i] for i in sorted(rng.choice(len(heldout), max_files, replace=False))]
    faces = []
    with create_detector("auto") as detector:
        for item in heldout:
            image = middle_frame(item.path, item.kind)
            if image is None:
                continue
            found = sorted(detector.detect(image), key=lambda d: -d.width * d.height)
            if found:
                faces.append((image, found[0].box_xyxy))
    return faces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="*", type=Path, default=list(DEFAULT_DATA))
    parser.add_argument("--model", action="append", default=[], help="spec (repeatable)")
    parser.add_argument("--max-files", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.training.framing import FRAMINGS, TARGET_STD, framing_stability

    faces = collect_faces(args.data, args.max_files, args.seed)
    print(f"{len(faces)} faces of held-out files, {len(FRAMINGS)} framings each")
    print(f"{'model':<48} {'median std':>10} {'mean std':>9} {'<= ' + str(TARGET_STD):>8} "
          f"{'relative':>8} {'mean score':>10}")  # fmt: skip
    for model in args.model or [None]:
        classifier = load_classifier(model)
        result = framing_stability(classifier, faces)
        name = str(model or "default model")[-48:]
        mean_score = float(np.mean(result.mean_scores))
        print(f"{name:<48} {result.median:>10.4f} {result.mean:>9.4f} "
              f"{result.share_within_target:>8.1%} {result.relative_spread:>8.3f} "
              f"{mean_score:>10.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
