"""Analysis flags shared by `analyze` and `batch`, built from `options.py`'s defaults and bounds."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.options import OPTION_BOUNDS, TEMPORAL_CHOICES, AnalyzeOptions

REPORT_FORMATS = ("json", "csv", "html")
_DEFAULTS = {f.name: f.default for f in fields(AnalyzeOptions)}


def bounded(
    kind: type, name: str, bounds: Mapping[str, tuple[float, float]] = OPTION_BOUNDS
) -> Any:
    """An argparse type that parses `kind` and checks `bounds[name]` (inclusive)."""
    low, high = bounds[name]

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {_show(low)} and {_show(high)}")
        return value

    return parse


def _show(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def parse_formats(text: str) -> tuple[str, ...]:
    """`"json,html"` -> `("json", "html")`; anything else is a usage error."""
    formats = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = sorted(set(formats) - set(REPORT_FORMATS))
    if unknown or not formats:
        raise UsageError(f"--format takes json, csv and/or html, not {','.join(unknown) or text!r}")
    return formats


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """Sampling, face and model flags: one per `AnalyzeOptions` field."""
    sampling = parser.add_argument_group("sampling")
    sampling.add_argument(
        "--fps",
        type=bounded(float, "fps"),
        default=_DEFAULTS["fps"],
        help="frames per second to sample from videos (default: %(default)s)",
    )
    sampling.add_argument("--every-frame", action="store_true", help="analyze every frame")
    sampling.add_argument(
        "--max-frames",
        type=bounded(int, "max_frames"),
        default=_DEFAULTS["max_frames"],
        help="at most this many frames per video (default: %(default)s)",
    )
    sampling.add_argument(
        "--start",
        type=bounded(float, "start_s"),
        default=0.0,
        metavar="SECONDS",
        help="start time in the video",
    )
    sampling.add_argument(
        "--end",
        type=bounded(float, "start_s"),
        default=None,
        metavar="SECONDS",
        help="end time in the video",
    )
    faces = parser.add_argument_group("faces")
    faces.add_argument(
        "--detector",
        choices=("auto", "short", "full"),
        default=_DEFAULTS["detector"],
        help="BlazeFace short range, full range (small/distant faces), or auto (default)",
    )
    faces.add_argument(
        "--min-face",
        type=bounded(int, "min_face"),
        default=_DEFAULTS["min_face"],
        metavar="PX",
        help="ignore faces narrower than this (default: %(default)s)",
    )
    faces.add_argument(
        "--min-confidence",
        type=bounded(float, "min_confidence"),
        default=_DEFAULTS["min_confidence"],
        help="detector confidence threshold (default: %(default)s)",
    )
    model = parser.add_argument_group("model")
    model.add_argument("--model", metavar="PATH", help="a .keras/.h5 model or a .spec.json")
    model.add_argument(
        "--trust-model",
        action="store_true",
        help="allow a model that contains code (Lambda layers, custom objects)",
    )
    model.add_argument(
        "--batch-size",
        type=bounded(int, "batch_size"),
        default=_DEFAULTS["batch_size"],
        help="face crops per classifier batch (default: %(default)s)",
    )
    model.add_argument(
        "--explain", action="store_true", help="Grad-CAM heatmaps for the report's crops"
    )
    model.add_argument(
        "--temporal",
        choices=TEMPORAL_CHOICES,
        default=_DEFAULTS["temporal"],
        help="face-mesh motion model per track: combine its score into the track score, only "
        "report it, or skip it; it needs frames at least ~5 per second apart, e.g. --fps 8 "
        "(default: %(default)s)",
    )
    model.add_argument(
        "--max-image-pixels", type=bounded(int, "max_image_pixels"),
        default=_DEFAULTS["max_image_pixels"],
        help="refuse images above this many pixels (default: %(default)s)",
    )  # fmt: skip


def options_from_args(args: argparse.Namespace) -> AnalyzeOptions:
    """The `AnalyzeOptions` that `add_analysis_arguments`' flags describe."""
    return AnalyzeOptions(
        fps=None if args.every_frame else args.fps,
        max_frames=args.max_frames,
        start_s=args.start,
        end_s=args.end,
        detector=args.detector,
        min_face=args.min_face,
        min_confidence=args.min_confidence,
        batch_size=args.batch_size,
        model_path=args.model,
        trust_model=args.trust_model,
        explain=args.explain,
        max_image_pixels=args.max_image_pixels,
        temporal=args.temporal,
    )
