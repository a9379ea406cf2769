"""`deepfake-analyzer train-temporal`: fit the face-mesh motion model, judged leave-generator-out.

DATA folders are labeled sources (e.g. ../shared/data/wild, ../shared/data/dev); --real folders
hold real videos only. Only videos are used. The protocol (training/protocol.py) decides which
generators and people are held out; the model fits on the rest, then every held-out video is
scored and the table below is printed: video AUC overall and per family, per-generator mean
score, and the false-positive rate of held-out real videos at the threshold chosen on training
reals. --judge folders are judged on, not fitted on; --baseline compares with another
temporal model on the same held-out videos. Landmark sequences are cached per video under
--cache-dir (a rerun skips cached ones).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from deepfake_analyzer.cli.arguments import add_data_arguments
from deepfake_analyzer.cli.dashboard import choose_renderer
from deepfake_analyzer.errors import EXIT_OK, UsageError


def register(subparsers: Any) -> None:
    from deepfake_analyzer.temporal.config import (
        DEFAULT_FOLDS,
        DEFAULT_REAL_QUANTILE,
        DEFAULT_TEMPORAL_MODEL,
        LANDMARK_SOURCES,
        SequenceConfig,
    )

    seq = SequenceConfig()
    parser = subparsers.add_parser(
        "train-temporal",
        help="train the temporal (face-mesh motion) model with the leave-generator-out protocol",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser, "folder of real videos only; repeatable")
    parser.add_argument(
        "--output", "-o", type=Path, default=DEFAULT_TEMPORAL_MODEL, metavar="JSON",
        help="model file to write (default: models/temporal_v1.json); the training-data list "
        "goes beside it as <name>.training-data.csv",
    )  # fmt: skip
    parser.add_argument(
        "--scores", type=Path, metavar="JSON",
        help="per-video held-out scores (default: <cache-dir>/heldout_scores.json)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir", type=Path, metavar="DIR",
        help="landmark sequences (default: ~/.cache/deepfake-analyzer/temporal)",
    )  # fmt: skip
    parser.add_argument("--fps", type=float, default=seq.fps, help="sampled frames per second")
    parser.add_argument(
        "--seconds", type=float, default=seq.max_seconds, help="first seconds of each video"
    )
    parser.add_argument(
        "--landmarks", choices=LANDMARK_SOURCES, default=seq.landmarks,
        help="verified-detection: detect every sampled frame; followed: detect the analyzer's "
        "2 fps and follow face meshes between, as the analyzer does at its default rate",
    )  # fmt: skip
    parser.add_argument(
        "--folds", type=int, default=DEFAULT_FOLDS, help="leave-generator-out CV folds"
    )
    parser.add_argument(
        "--real-quantile", type=float, default=DEFAULT_REAL_QUANTILE,
        help="threshold = this quantile of training reals' out-of-fold scores",
    )  # fmt: skip
    parser.add_argument(
        "--judge", action="append", default=[], type=Path, metavar="DIR",
        help="labeled folder only judged on: its held-out videos join the table, its training "
        "videos are not fitted on; repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", type=Path, metavar="JSON",
        help="a temporal model to compare with on the same held-out videos (e.g. "
        "models/temporal_v1.json): AUC change per family, paired interval, verdict",
    )  # fmt: skip
    parser.add_argument("--quiet", "-q", action="store_true", help="only the final table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from deepfake_analyzer.temporal.config import SequenceConfig
    from deepfake_analyzer.temporal.train import TrainTemporalRequest, train_temporal

    try:
        request = TrainTemporalRequest(
            data=tuple(Path(p) for p in args.data),
            real=tuple(Path(p) for p in args.real),
            judge=tuple(args.judge),
            output=args.output,
            scores_path=args.scores,
            cache_dir=args.cache_dir,
            sequence=SequenceConfig(
                fps=args.fps, max_seconds=args.seconds, landmarks=args.landmarks
            ),
            folds=args.folds,
            real_quantile=args.real_quantile,
            baseline=args.baseline,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with choose_renderer(Console(stderr=True), quiet=args.quiet, transient=False) as renderer:
        result = train_temporal(request, hook=renderer)
    Console().print(render_result(result))
    if result.comparison is not None:
        from deepfake_analyzer.cli.evaluate import comparison_view

        Console().print(comparison_view(result.comparison))
    return EXIT_OK


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render_result(result: Any) -> Table:
    """The held-out table of a `TemporalTrainingResult`."""
    table = Table(
        title=(
            f"temporal model, held-out videos ({result.heldout_scored} of "
            f"{result.heldout_videos} scored; trained on {result.train_scored} of "
            f"{result.train_videos}; leave-generator-out CV AUC {result.cv_auc:.3f}, "
            f"L2 {result.l2:g})"
        ),
        caption=(
            f"model {result.model_path} · scores {result.scores_path} · threshold "
            f"{result.threshold:.3f}: FPR on {result.real_count} held-out real videos "
            f"{_fmt(result.real_fpr)}, TPR on held-out fakes {_fmt(result.fake_tpr)}"
        ),
    )
    for column in ("group", "n", "mean score", "video AUC"):
        table.add_column(column, justify="left" if column == "group" else "right")
    table.add_row("all", str(sum(g.n for g in result.families)), "", _fmt(result.auc))
    for g in result.families:
        table.add_row(f"family {g.name}", str(g.n), _fmt(g.mean_score), _fmt(g.auc))
    for g in result.generators:
        table.add_row(f"  {g.name}", str(g.n), _fmt(g.mean_score), _fmt(g.auc))
    reals = [s.score for s in result.scores if s.label == 0 and s.score is not None]
    if reals:
        table.add_row("real (held out)", str(len(reals)), _fmt(sum(reals) / len(reals)), "")
    return table
