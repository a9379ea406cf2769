"""Framing benchmark: how much a face's score moves with its box (training/framing.py).

Run:  .venv/bin/python benchmarks/bench_framing.py [--model SPEC ...] [--max-files N] [--detectors]
          [DATA ...]   (default: ../shared/data/wild ../shared/data/dev)

For the leave-generator-out held-out files of DATA (training/protocol.py: generators and
people no model of ours trained on), one face per file (the largest face of an image, of the
middle frame of a video) is scored with its detector box scaled 1.0-1.4x and shifted by 10 %
of its side. Prints, per model, the per-face standard deviation of the calibrated score
(median, mean, share of faces within the 0.05 target), the mean spread relative to the spread
of scores between faces (comparable across calibration temperatures) and the mean score.

`--detectors` measures instead what issue 8 first saw: the same face boxed by the short-range
and by the full-range BlazeFace detector (the largest face of each on the middle frame, paired
when their boxes overlap by IoU 0.3 or more), each box's crop scored as `analyze` scores it.
Prints, per model, the median and mean |difference| of the two calibrated scores, the share of
faces within 0.05 and the share that moves by more than 0.2.
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


def heldout_sample(data: list[Path], max_files: int, seed: int) -> list[Any]:
    """The protocol's held-out items of `data`, `max_files` of them drawn with `seed` if more."""
    from deepfake_analyzer.training.protocol import split_protocol
    from deepfake_analyzer.training.sources import discover_labeled

    items = [i for root in data for i in discover_labeled(root)]
    heldout = list(split_protocol(items).heldout)
    rng = np.random.default_rng(seed)
    if len(heldout) > max_files:
        heldout = [heldout[i] for i in sorted(rng.choice(len(heldout), max_files, replace=False))]
    return heldout


def collect_faces(data: list[Path], max_files: int, seed: int) -> list[tuple[np.ndarray, Any]]:
    from deepfake_analyzer.faces.detector import create_detector

    faces = []
    with create_detector("auto") as detector:
        for item in heldout_sample(data, max_files, seed):
            image = middle_frame(item.path, item.kind)
            if image is None:
                continue
            box = largest_box(detector, image)
            if box is not None:
                faces.append((image, box))
    return faces


def largest_box(detector: Any, image: np.ndarray) -> Any:
    """The box of the largest face `detector` finds in `image`, or None."""
    found = sorted(detector.detect(image), key=lambda d: -d.width * d.height)
    return found[0].box_xyxy if found else None


def collect_box_pairs(
    data: list[Path], max_files: int, seed: int
) -> list[tuple[np.ndarray, Any, Any]]:
    """(middle frame, short-range box, full-range box) of the largest face each detector finds
    in the held-out files of `data` (sampled as `collect_faces` samples), where the two boxes
    overlap by IoU >= 0.3."""
    from deepfake_analyzer.faces.detector import create_detector
    from deepfake_analyzer.faces.tracker import box_iou

    pairs = []
    with create_detector("short") as short, create_detector("full") as full:
        for item in heldout_sample(data, max_files, seed):
            image = middle_frame(item.path, item.kind)
            if image is None:
                continue
            boxes = [largest_box(detector, image) for detector in (short, full)]
            if (
                None not in boxes
                and box_iou(np.asarray(boxes[0]), np.asarray(boxes[1]))[0, 0] >= 0.3
            ):
                pairs.append((image, boxes[0], boxes[1]))
    return pairs


def detector_table(models: list[str | None], pairs: list[tuple[np.ndarray, Any, Any]]) -> None:
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.training.framing import TARGET_STD, box_pair_differences

    print(f"{len(pairs)} faces of held-out files boxed by both the short- and full-range detector")
    print(f"{'model':<48} {'median |d|':>10} {'mean |d|':>9} {'<= ' + str(TARGET_STD):>8} "
          f"{'> 0.2':>6}")  # fmt: skip
    for model in models:
        diff = box_pair_differences(load_classifier(model), pairs)
        name = str(model or "default model")[-48:]
        print(f"{name:<48} {np.median(diff):>10.4f} {np.mean(diff):>9.4f} "
              f"{np.mean(diff <= TARGET_STD):>8.1%} {np.mean(diff > 0.2):>6.1%}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="*", type=Path, default=list(DEFAULT_DATA))
    parser.add_argument("--model", action="append", default=[], help="spec (repeatable)")
    parser.add_argument("--max-files", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--detectors", action="store_true", help="short- against full-range boxes, not framings"
    )
    args = parser.parse_args(argv)
    if args.detectors:
        detector_table(args.model or [None],
                       collect_box_pairs(args.data, args.max_files, args.seed))  # fmt: skip
        return 0

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
