"""`deepfake-analyzer train`: train the Xception detector from labeled data and real faces.

DATA folders are labeled sources (real/ + fake/, labels.csv, FaceForensics++, DFDC, Celeb-DF);
--real folders hold real faces only (used as negatives and self-blended into pseudo-fakes).
Face crops are cached under --cache-dir; checkpoints go to <cache-dir>/runs/<run name>/ every
few minutes and --resume continues them. At the end the model is written to --output as
float16 weights plus a .spec.json that `analyze --model` loads.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from deepfake_analyzer.cli.arguments import add_data_arguments
from deepfake_analyzer.cli.dashboard import LogHook, choose_renderer
from deepfake_analyzer.errors import EXIT_OK

if TYPE_CHECKING:
    from deepfake_analyzer.training.config import TrainConfig
    from deepfake_analyzer.training.extract import ExtractConfig

DEFAULT_OUTPUT_DIR = "trained-model"
LOG_EVERY_S = 60.0
"""Without a terminal, a training step is logged at most once a minute."""


def register(subparsers: Any) -> None:
    from deepfake_analyzer.training.config import (
        CACHED_CROP_SIZE,
        FAKE_STRATA,
        FRAMES_PER_VIDEO,
        PRECISIONS,
        SBI_LOWER_FACE_SHARE,
        TrainConfig,
    )

    d = TrainConfig()
    parser = subparsers.add_parser(
        "train",
        help="train a detector on labeled data and real faces",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser, "folder (or file) of real faces only; repeatable")
    parser.add_argument(
        "--output",
        "-o",
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help=f"where the trained model is written (default: ./{DEFAULT_OUTPUT_DIR})",
    )
    parser.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="crops and checkpoints (default: ~/.cache/deepfake-analyzer)",
    )
    parser.add_argument("--run-name", help="checkpoint folder name (default: the output's name)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run's checkpoint (same data and settings; the budget may change)",
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--backbone",
        metavar="FILE",
        help="start from these Xception base weights (ImageNet; scripts/get_backbone.sh) "
        "instead of random initialisation",
    )
    start.add_argument(
        "--init",
        metavar="SPEC",
        help="fine-tune a trained model: start from the weights of this .spec.json (e.g. "
        "models/deepfake_xception.spec.json); its input size must match --input-size",
    )
    parser.add_argument(
        "--export-checkpoint",
        action="store_true",
        help="only export the run's latest checkpoint to --output (no training)",
    )
    g = parser.add_argument_group("recipe")
    g.add_argument(
        "--input-size", type=int, default=d.input_size, help=f"crop pixels (default {d.input_size})"
    )
    g.add_argument("--epochs", type=int, help="train this many epochs (overrides --minutes)")
    g.add_argument(
        "--minutes",
        type=float,
        default=d.minutes,
        help=f"time budget in minutes (default {d.minutes:g})",
    )
    g.add_argument("--steps-per-epoch", type=int, default=d.steps_per_epoch)
    g.add_argument("--batch-size", type=int, default=d.batch_size)
    g.add_argument("--learning-rate", type=float, default=d.learning_rate)
    g.add_argument(
        "--labeled-fake-share",
        type=float,
        default=d.labeled_fake_share,
        help="share of fakes drawn from labeled fakes (rest self-blended)",
    )
    g.add_argument(
        "--sbi-lower-face",
        type=float,
        default=SBI_LOWER_FACE_SHARE,
        metavar="SHARE",
        help="share of self-blended fakes blended over the lower face only (mouth and jaw, "
        f"as lip-sync models paste them; default {SBI_LOWER_FACE_SHARE:g})",
    )
    g.add_argument(
        "--fake-strata",
        choices=FAKE_STRATA,
        default=d.fake_strata,
        help="draw labeled fakes evenly per generator, or per family then generator "
        f"(default {d.fake_strata})",
    )
    g.add_argument(
        "--paired-share",
        type=float,
        default=d.paired_share,
        metavar="SHARE",
        help="share of labeled fakes drawn with a real crop of the same person beside them in "
        "the batch (an edit and its input, a lip-synced clip and its template; "
        f"default {d.paired_share:g})",
    )
    g.add_argument(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of real identities held out for validation",
    )
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    g.add_argument("--frames-per-video", type=int, default=FRAMES_PER_VIDEO)
    g.add_argument(
        "--crop-size", type=int, default=CACHED_CROP_SIZE, help="cached crop pixels (>= input size)"
    )
    g.add_argument("--checkpoint-minutes", type=float, default=d.checkpoint_minutes)
    parser.add_argument("--quiet", "-q", action="store_true", help="no dashboard")
    parser.set_defaults(handler=run)


def _backbone(value: str | None) -> Path | None:
    from deepfake_analyzer.errors import UsageError

    if value is None:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise UsageError(f"{path}: no backbone weights file (scripts/get_backbone.sh makes it)")
    return path


def _init(value: str | None, config: TrainConfig, extract: ExtractConfig) -> Path | None:
    """The spec to fine-tune, checked against the run's recipe before any work."""
    from deepfake_analyzer.training.train import check_init

    if value is None:
        return None
    path = Path(value).expanduser()
    check_init(path, config, extract)
    return path


def run(args: argparse.Namespace) -> int:
    from deepfake_analyzer.errors import UsageError
    from deepfake_analyzer.training.config import TrainConfig
    from deepfake_analyzer.training.extract import ExtractConfig, default_cache_dir
    from deepfake_analyzer.training.sbi import SbiConfig
    from deepfake_analyzer.training.train import (
        StopRequest,
        TrainRequest,
        export_checkpoint,
        train,
    )

    if not args.data and not args.real:
        raise UsageError("give at least one DATA folder or --real folder")
    try:
        config = TrainConfig(
            input_size=args.input_size, batch_size=args.batch_size, epochs=args.epochs,
            minutes=None if args.epochs else args.minutes, steps_per_epoch=args.steps_per_epoch,
            learning_rate=args.learning_rate, labeled_fake_share=args.labeled_fake_share,
            fake_strata=args.fake_strata, paired_share=args.paired_share,
            val_fraction=args.val_fraction,
            seed=args.seed, precision=args.precision, checkpoint_minutes=args.checkpoint_minutes,
        )  # fmt: skip
        extract = ExtractConfig(
            crop_size=max(args.crop_size, config.wide_size), frames_per_video=args.frames_per_video
        )
        sbi = SbiConfig(lower_face_share=args.sbi_lower_face)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    request = TrainRequest(
        labeled=tuple(Path(p) for p in args.data),
        real=tuple(Path(p) for p in args.real),
        output_dir=Path(args.output),
        cache_dir=Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir(),
        run_name=args.run_name,
        resume=args.resume,
        backbone=_backbone(args.backbone),
        init=_init(args.init, config, extract),
        config=config,
        extract=extract,
        sbi=sbi,
    )
    console = Console(stderr=True)
    if args.export_checkpoint:
        spec_path = export_checkpoint(request, LogHook(console))
        Console().print(f"model written: {spec_path}", markup=False)
        return EXIT_OK
    # Ctrl-C and SIGTERM (e.g. `kill`) finish the current step and save a checkpoint
    stop = StopRequest()
    signal.signal(signal.SIGTERM, stop.stop)
    signal.signal(signal.SIGINT, stop.stop)
    with choose_renderer(
        console, quiet=args.quiet, transient=False, every_s=LOG_EVERY_S
    ) as renderer:
        spec_path = train(request, renderer, stop)
    Console().print(f"model written: {spec_path}", markup=False)
    return EXIT_OK
