"""Give a shipped spec the real statistics that raise its thresholds for several faces.

    python scripts/real_spread.py EVALUATION_JSON [--write-spec SPEC]

`evaluate --calibrate` now stores `real_mean` and `real_std` (the mean and standard deviation
of real videos' calibrated log-odds, `training.calibrate.real_spread`) in the thresholds it
chooses; a verdict over several faces reads thresholds raised from them
(`Thresholds.for_faces`). A spec calibrated before that has none. This script takes an
`evaluate --protocol --video-scores analyzer` run of that spec (its `evaluation.json`),
splits its files by identity group as `evaluate --calibrate` does (half the groups of each
dataset and label, seed 0), and reads the two numbers from the real videos of the half that
calibrates. With `--write-spec` it writes them into SPEC's thresholds (nothing else changes).
Used once for v12 (models/deepfake_v12.md, 2026-12-05).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from deepfake_analyzer.training.calibrate import real_spread
from deepfake_analyzer.training.evaluate import EvaluateConfig
from deepfake_analyzer.training.sources import LabeledItem, split_by_group


def calibration_reals(evaluation: Path) -> np.ndarray:
    """The calibrated scores of the real videos `evaluate --calibrate` would fit on."""
    videos = [v for v in json.loads(evaluation.read_text())["videos"] if v["label"] in (0, 1)]
    items = {
        v["source"]: LabeledItem(
            Path(v["source"]), v["label"], v["group"], v["dataset"], v["method"], v["kind"]
        )
        for v in videos
    }
    config = EvaluateConfig()
    _, fit = split_by_group(items.values(), config.calibration_fraction, config.seed)
    groups = {item.group for item in fit}
    return np.array(
        [
            v["score"]
            for v in videos
            if v["group"] in groups and v["label"] == 0 and v["kind"] == "video"
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evaluation", type=Path, help="an evaluate run's evaluation.json")
    parser.add_argument("--write-spec", type=Path, help="write the two numbers into this spec")
    args = parser.parse_args(argv)
    reals = calibration_reals(args.evaluation)
    mean, std = real_spread(reals)
    print(json.dumps({"real_videos": int(reals.size), "real_mean": mean, "real_std": std}))
    if args.write_spec is not None and mean is not None and std is not None:
        spec = json.loads(args.write_spec.read_text())
        spec["thresholds"].update(real_mean=round(mean, 6), real_std=round(std, 6))
        args.write_spec.write_text(json.dumps(spec, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
