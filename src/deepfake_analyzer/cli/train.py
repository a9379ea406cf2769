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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from deepfake_analyzer.errors import EXIT_OK
from deepfake_analyzer.events import Message, StageProgress

DEFAULT_OUTPUT_DIR = "trained-model"


def register(subparsers: Any) -> None:
    from deepfake_analyzer.training.train import PRECISIONS, TrainConfig

    d = TrainConfig()
    parser = subparsers.add_parser(
        "train",
        help="train a detector on labeled data and real faces",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data", nargs="*", metavar="DATA", help="labeled dataset folder")
    parser.add_argument(
        "--real", action="append", default=[], metavar="DIR",
        help="folder (or file) of real faces only; repeatable",
    )  # fmt: skip
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
    parser.add_argument("--resume", action="store_true", help="continue the run's checkpoint")
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
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of real identities held out for validation",
    )
    g.add_argument("--seed", type=int, default=d.seed)
    g.add_argument("--precision", choices=PRECISIONS, default=d.precision)
    g.add_argument("--frames-per-video", type=int, default=12)
    g.add_argument("--crop-size", type=int, default=256, help="cached crop pixels (>= input size)")
    g.add_argument("--checkpoint-minutes", type=float, default=d.checkpoint_minutes)
    parser.add_argument("--quiet", "-q", action="store_true", help="no dashboard")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from deepfake_analyzer.errors import UsageError
    from deepfake_analyzer.training.extract import ExtractConfig, default_cache_dir
    from deepfake_analyzer.training.train import (
        StopRequest,
        TrainConfig,
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
            val_fraction=args.val_fraction,
            seed=args.seed, precision=args.precision, checkpoint_minutes=args.checkpoint_minutes,
        )  # fmt: skip
        extract = ExtractConfig(
            crop_size=max(args.crop_size, config.wide_size), frames_per_video=args.frames_per_video
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    request = TrainRequest(
        labeled=tuple(Path(p) for p in args.data),
        real=tuple(Path(p) for p in args.real),
        output_dir=Path(args.output),
        cache_dir=Path(args.cache_dir).expanduser() if args.cache_dir else default_cache_dir(),
        run_name=args.run_name,
        resume=args.resume,
        config=config,
        extract=extract,
    )
    if args.export_checkpoint:
        spec_path = export_checkpoint(request, TrainLogHook(Console(stderr=True, width=240)))
        Console().print(f"model written: {spec_path}", markup=False)
        return EXIT_OK
    # Ctrl-C and SIGTERM (e.g. `kill`) finish the current step and save a checkpoint
    stop = StopRequest()
    signal.signal(signal.SIGTERM, stop.stop)
    signal.signal(signal.SIGINT, stop.stop)
    console = Console(stderr=True)
    if args.quiet:
        spec_path = train(request, lambda event: None, stop)
    elif console.is_terminal:
        with TrainDashboard(console) as hook:
            spec_path = train(request, hook, stop)
    else:
        spec_path = train(request, TrainLogHook(Console(stderr=True, width=240)), stop)
    Console().print(f"model written: {spec_path}", markup=False)
    return EXIT_OK


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class TrainState:
    """What the dashboard and the log show, folded from events."""

    def __init__(self) -> None:
        self.started: Any = None
        self.progress: Any = None
        self.evaluations: list[Any] = []
        self.messages: list[str] = []
        self.extract: StageProgress | None = None
        self.checkpoint: Any = None

    def handle(self, event: Any) -> None:
        from deepfake_analyzer.training import progress as p

        if isinstance(event, p.TrainStarted):
            self.started = event
        elif isinstance(event, p.TrainProgress):
            self.progress = event
        elif isinstance(event, p.Evaluated):
            self.evaluations.append(event)
        elif isinstance(event, p.CheckpointSaved):
            self.checkpoint = event
        elif isinstance(event, StageProgress):
            self.extract = event
        elif isinstance(event, Message) and event.level != "info":
            self.messages = (self.messages + [f"{event.level}: {event.path}: {event.text}"])[-5:]


def progress_line(event: Any) -> str:
    total = event.total_steps or "?"
    return (
        f"step {event.step}/{total} epoch {event.epoch} loss {event.loss:.4f} "
        f"lr {event.learning_rate:.2e} {event.images_per_s:.1f} img/s "
        f"elapsed {_duration(event.elapsed_s)} eta {_duration(event.eta_s)}"
    )


def metrics_line(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items())


class TrainLogHook:
    """Plain log lines (output is a file or pipe): progress every `every_s` seconds."""

    def __init__(self, console: Console, every_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.console, self.every_s, self.clock = console, every_s, clock
        self.last = -1e9

    def __call__(self, event: Any) -> None:
        from deepfake_analyzer.training import progress as p

        stamp = time.strftime("%H:%M:%S")
        text = None
        if isinstance(event, p.TrainProgress):
            if self.clock() - self.last >= self.every_s:
                self.last = self.clock()
                text = progress_line(event)
        elif isinstance(event, p.TrainStarted):
            text = (f"training {event.input_size}px batch {event.batch_size} {event.precision} "
                    f"from step {event.start_step}; data {event.counts}")  # fmt: skip
        elif isinstance(event, p.Evaluated):
            text = f"eval step {event.step}: {metrics_line(event.metrics)}"
        elif isinstance(event, p.CheckpointSaved):
            text = f"checkpoint step {event.step}: {event.path}"
        elif isinstance(event, p.TrainFinished):
            text = f"finished at step {event.step}: {event.spec_path}"
        elif isinstance(event, Message):
            text = f"{event.level}: {event.path}: {event.text}"
        elif isinstance(event, StageProgress) and (
            event.done % 200 == 0 or event.done == event.total
        ):
            text = f"extract {event.done}/{event.total}"
        if text:
            self.console.print(f"{stamp} {text}", markup=False, highlight=False)


class TrainDashboard:
    """A rich `Live` dashboard: extraction, step, loss, learning rate, img/s, ETA, AUCs."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.state = TrainState()
        self.live = Live(console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> TrainDashboard:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.update(self.render())
        self.live.stop()

    def __call__(self, event: Any) -> None:
        self.state.handle(event)
        self.live.update(self.render())

    def render(self) -> Group:
        s = self.state
        table = Table(show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        if s.extract is not None and s.started is None:
            table.add_row("extracting", f"{s.extract.done}/{s.extract.total} files")
        if s.started is not None:
            table.add_row("run", f"{s.started.run_dir} ({s.started.input_size}px, "
                          f"batch {s.started.batch_size}, {s.started.precision})")  # fmt: skip
            table.add_row("data", ", ".join(f"{k} {v}" for k, v in s.started.counts.items()))
        if s.progress is not None:
            e = s.progress
            table.add_row("step", f"{e.step}/{e.total_steps or '?'} (epoch {e.epoch})")
            table.add_row("loss", f"{e.loss:.4f}   lr {e.learning_rate:.2e}")
            table.add_row("speed", f"{e.images_per_s:.1f} img/s")
            table.add_row("time", f"{_duration(e.elapsed_s)} elapsed, ETA {_duration(e.eta_s)}")
        if s.checkpoint is not None:
            table.add_row("checkpoint", f"step {s.checkpoint.step}")
        parts: list[Any] = [table]
        if s.evaluations:
            auc = Table(title="validation AUC", title_justify="left")
            names = list(s.evaluations[-1].metrics)
            auc.add_column("step", justify="right")
            for name in names:
                auc.add_column(name, justify="right")
            for ev in s.evaluations[-6:]:
                auc.add_row(
                    str(ev.step), *(f"{ev.metrics.get(n, float('nan')):.3f}" for n in names)
                )
            parts.append(auc)
        parts.extend(Text(m, style="yellow") for m in s.messages)
        return Group(*parts)
