"""`deepfake-analyzer evaluate`: measure a detector on labeled media, optionally calibrate it.

DATA folders are labeled sources (real/ + fake/, labels.csv, FaceForensics++, DFDC, Celeb-DF).
Writes evaluation.json, evaluation.html and PNG figures (ROC, score histograms, robustness) to
--output. --calibrate fits temperature (or Platt) scaling on half of the identities, picks the
suspicious / fake thresholds for target false-positive rates on real media, and reports the
other half; --write-spec saves the calibrated spec, which `analyze --model SPEC` then uses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deepfake_analyzer.cli.arguments import add_data_arguments, add_option_argument
from deepfake_analyzer.errors import EXIT_OK, OutputExistsError, UsageError
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.temporal.config import DEFAULT_TEMPORAL_MODEL
from deepfake_analyzer.training.config import FRAMES_PER_VIDEO

DEFAULT_OUTPUT_DIR = "evaluation"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a detector on labeled data (AUC, AP, EER, robustness) and calibrate it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(
        parser, "folder (or file) of real faces only, e.g. held-out identities; repeatable"
    )
    parser.add_argument(
        "--protocol",
        action="store_true",
        help="leave-generator-out: evaluate only the generators and people the protocol holds "
        "out of training (training/protocol.py) and print its table",
    )
    parser.add_argument(
        "--include",
        metavar="LIST",
        help="only these files: a text file with one path per line, or JSON such as a "
        "training run's heldout.json",
    )
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model",
        metavar="PATH",
        help="a .keras/.h5 model or a .spec.json (default: the shipped model)",
    )
    model.add_argument(
        "--temporal-model",
        type=Path,
        metavar="JSON",
        help="the face-mesh motion model the analyzer's video scores combine (with "
        f"--video-scores analyzer; default models/{DEFAULT_TEMPORAL_MODEL.name})",
    )
    model.add_argument(
        "--trust-model",
        action="store_true",
        help="allow a model file that contains code (Lambda layers)",
    )
    model.add_argument(
        "--batch-size",
        type=int,
        default=AnalyzeOptions.batch_size,
        help="crops per inference batch",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--output",
        "-o",
        default=DEFAULT_OUTPUT_DIR,
        metavar="DIR",
        help=f"report folder (default: ./{DEFAULT_OUTPUT_DIR})",
    )
    out.add_argument(
        "--baseline",
        metavar="JSON",
        help="an earlier evaluation.json (or its folder): compare AUCs per medium and family on "
        "the files both scored, with paired bootstrap intervals; writes comparison.json",
    )
    out.add_argument("--overwrite", action="store_true", help="replace existing reports / spec")
    out.add_argument("--json", action="store_true", help="also print the JSON result to stdout")
    out.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    faces = parser.add_argument_group("faces")
    faces.add_argument(
        "--cache-dir", metavar="DIR", help="face-crop cache (default: ~/.cache/deepfake-analyzer)"
    )
    faces.add_argument(
        "--frames-per-video",
        type=int,
        default=FRAMES_PER_VIDEO,
        help="frames sampled evenly from each video (default: %(default)s)",
    )
    faces.add_argument(
        "--crop-size",
        type=int,
        metavar="PX",
        help="cache crops at this size and resize them to the model input (e.g. 256 reuses "
        "train's cache); default: cut at the model's input size, exactly as analyze does",
    )
    faces.add_argument(
        "--video-scores",
        choices=("crops", "analyzer"),
        default="crops",
        help="a video's score: 'crops' = the top-quarter mean of --frames-per-video crops of "
        "its largest face (fast); 'analyzer' = the analyzer's own verdict score at default "
        "options (every track at 2 fps, temporal evidence combined), what users get",
    )
    add_option_argument(faces, "detector")
    add_option_argument(faces, "temporal_seconds")
    faces.add_argument(
        "--min-face",
        type=int,
        default=AnalyzeOptions.min_face,
        help="smallest face side in pixels",
    )
    faces.add_argument("--min-confidence", type=float, default=AnalyzeOptions.min_confidence)
    robust = parser.add_argument_group("robustness")
    robust.add_argument(
        "--perturb",
        action="store_true",
        help="also score under JPEG, blur, noise, resize and H.264 at 3 levels",
    )
    robust.add_argument(
        "--perturb-kinds",
        metavar="LIST",
        help="comma-separated subset, e.g. jpeg,h264 (implies --perturb)",
    )
    robust.add_argument(
        "--self-blend",
        action="store_true",
        help="also score a self-blended fake of every real face (its own breakdown row)",
    )
    cal = parser.add_argument_group("calibration")
    cal.add_argument(
        "--calibrate",
        action="store_true",
        help="fit calibration and thresholds on part of the identities, report the rest",
    )
    cal.add_argument(
        "--calibration-method",
        choices=("temperature", "platt"),
        default="temperature",
        help="temperature scaling (one parameter, default) or Platt scaling (two)",
    )
    cal.add_argument(
        "--calibration-fraction",
        type=float,
        default=0.5,
        help="share of identity groups used to fit (default 0.5)",
    )
    cal.add_argument(
        "--suspicious-fpr",
        type=float,
        default=0.10,
        help="target false-positive rate of 'suspicious' on real media (default 0.10)",
    )
    cal.add_argument(
        "--fake-fpr",
        type=float,
        default=0.02,
        help="target false-positive rate of 'fake' on real media (default 0.02)",
    )
    cal.add_argument(
        "--threshold-level",
        choices=("video", "frame"),
        default="video",
        help="choose thresholds on per-video scores (what verdicts read) or per frame",
    )
    cal.add_argument(
        "--write-spec", metavar="PATH", help="write the (calibrated) spec with its metrics here"
    )
    parser.add_argument("--seed", type=int, default=0, help="split and noise seed")
    parser.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> Any:
    from deepfake_analyzer.training.evaluate import EvaluateConfig
    from deepfake_analyzer.training.perturb import default_perturbations

    perturbations: tuple[Any, ...] = ()
    if args.perturb_kinds:
        kinds = [k.strip() for k in args.perturb_kinds.split(",") if k.strip()]
        perturbations = default_perturbations(kinds)
    elif args.perturb:
        perturbations = default_perturbations()
    try:
        return EvaluateConfig(
            frames_per_video=args.frames_per_video,
            crop_size=args.crop_size,
            detector=args.detector,
            min_confidence=args.min_confidence,
            min_face_px=args.min_face,
            perturbations=perturbations,
            calibrate=args.calibration_method if args.calibrate else None,
            calibration_fraction=args.calibration_fraction,
            suspicious_fpr=args.suspicious_fpr,
            fake_fpr=args.fake_fpr,
            threshold_level=args.threshold_level,
            video_scores=args.video_scores,
            temporal_seconds=args.temporal_seconds,
            self_blend=args.self_blend,
            protocol=args.protocol,
            seed=args.seed,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def source_spec_path(model: str | None) -> Path:
    """The spec file the classifier's `weights_file` is relative to."""
    from deepfake_analyzer import paths
    from deepfake_analyzer.models.spec import SPEC_SUFFIX, spec_path_for

    if model is None:
        return paths.DEFAULT_CLASSIFIER_SPEC
    path = Path(model).expanduser()
    return path if path.name.endswith(SPEC_SUFFIX) else spec_path_for(path)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from deepfake_analyzer.cli.dashboard import choose_renderer
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.training.calibrate import write_spec
    from deepfake_analyzer.training.eval_compare import (
        COMPARISON_NAME,
        compare,
        comparison_to_json,
        read_baseline,
    )
    from deepfake_analyzer.training.eval_report import (
        HTML_NAME,
        JSON_NAME,
        evaluation_to_json,
        write_evaluation_report,
    )
    from deepfake_analyzer.training.evaluate import evaluate, read_file_list

    if not args.data and not args.real:
        raise UsageError("give at least one labeled DATA folder or --real folder")
    config = config_from_args(args)
    if args.temporal_model is not None and config.video_scores != "analyzer":
        raise UsageError("--temporal-model applies only with --video-scores analyzer")
    include = read_file_list(args.include) if args.include else None
    if args.batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    output_dir = Path(args.output)
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output {output_dir} exists and is not a folder")
    baseline = read_baseline(args.baseline) if args.baseline else None
    if not args.overwrite:  # fail before a long run, not after it
        for name in (JSON_NAME, HTML_NAME) + ((COMPARISON_NAME,) if baseline else ()):
            if (output_dir / name).exists():
                raise OutputExistsError(
                    "evaluation report already exists; pass --overwrite or choose another --output",
                    output_dir / name,
                )
        if args.write_spec and Path(args.write_spec).exists():
            raise OutputExistsError(
                "--write-spec target already exists; choose another path or pass --overwrite",
                args.write_spec,
            )
    console = Console(stderr=True)
    classifier = load_classifier(args.model, args.trust_model, batch_size=args.batch_size)
    cache_dir = Path(args.cache_dir).expanduser() if args.cache_dir else None
    with choose_renderer(console, quiet=args.quiet, transient=False) as renderer:
        result = evaluate(
            args.data,
            classifier,
            config,
            cache_dir=cache_dir,
            hook=renderer,
            include=include,
            real=args.real,
            temporal_model=args.temporal_model,
        )
    written = write_evaluation_report(result, output_dir, overwrite=args.overwrite)
    comparison = None
    if baseline is not None:
        thresholds = None if baseline[2] is None else (baseline[2], result.spec.thresholds.fake)
        comparison = compare(baseline[1], result.videos, str(baseline[0]), thresholds)
        (output_dir / COMPARISON_NAME).write_text(comparison_to_json(comparison))
    if args.write_spec:
        write_spec(
            result.spec,
            Path(args.write_spec),
            source_spec_path=source_spec_path(args.model),
            overwrite=args.overwrite,
        )
    if args.json:
        sys.stdout.write(evaluation_to_json(result))
    if not args.quiet:
        console.print(summary_table(result))
        if result.protocol is not None:
            console.print(protocol_table_view(result.protocol))
        if result.temporal_effect is not None:
            console.print(comparison_view(result.temporal_effect, temporal_title(result)))
        if comparison is not None:
            console.print(comparison_view(comparison))
        for note in result.warnings:
            console.print(f"note: {note}", style="yellow", markup=False)
        console.print(f"report: {written['html']}", markup=False)
        if args.write_spec:
            console.print(f"spec written: {args.write_spec}", markup=False)
    return EXIT_OK


def _short(text: str, width: int = 36) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _fmt(value: float, form: str = ".3f") -> str:
    """A figure for the tables, "-" for NaN (checked without math)."""
    return "-" if value != value else f"{value:{form}}"


def protocol_table_view(table: Any) -> Any:
    """The leave-generator-out table: AUC per medium, family, generator and face size, and
    the shares of held-out reals and fakes at each verdict threshold."""
    from rich.table import Table

    view = Table(title=f"leave-generator-out (held-out files {table.rates_text()})")
    view.add_column("subset", no_wrap=True, max_width=28, overflow="ellipsis")
    for column in ("n", "AUC", "95 %", "mean fake"):
        view.add_column(column, justify="right", no_wrap=True)

    for r in table.rows:
        interval = f"{_fmt(r.auc_low)}-{_fmt(r.auc_high)}" if r.auc == r.auc else "-"
        view.add_row(r.name, f"{r.num_real}/{r.num_fake}", _fmt(r.auc), interval,
                     _fmt(r.mean_fake_score))  # fmt: skip
    view.caption = (
        "per medium, family, generator and face size (fakes and reals of that size); n: "
        "reals/fakes; 95 %: cluster-bootstrap interval "
        "of the AUC (reals by person, fakes by generator); mean fake: the fakes' mean score"
    )
    return view


def temporal_title(result: Any) -> str:
    """The title of the temporal evidence's table: what it compares, on how many videos."""
    return (
        f"temporal evidence: {result.temporal_effect.baseline} → with "
        f"{Path(result.temporal_model).name} ({result.temporal_effect.matched} videos)"
    )


def comparison_view(comparison: Any, title: str = "") -> Any:
    """This evaluation against `--baseline` (or what `title` says): AUCs, change, paired
    interval, verdict."""
    from rich.table import Table

    view = Table(
        title=title
        or f"against {comparison.baseline} ({comparison.matched} files scored by both; "
        f"{comparison.only_baseline} only there, {comparison.only_new} only here)",
        show_edge=False,
        pad_edge=False,
    )
    # at 80 columns the figures stay whole with three-digit counts; a long subset name is cut
    view.add_column("subset", no_wrap=True, max_width=22, overflow="ellipsis")
    for column in ("n", "AUC", "change [95 %]", "verdict"):
        view.add_column(column, justify="left" if column == "verdict" else "right", no_wrap=True)

    for r in comparison.rows:
        view.add_row(
            r.name, f"{r.num_real}/{r.num_fake}", f"{_fmt(r.baseline_auc)}→{_fmt(r.new_auc)}",
            f"{_fmt(r.difference, '+.3f')} [{_fmt(r.low, '+.2f')},{_fmt(r.high, '+.2f')}]",
            r.verdict,
        )  # fmt: skip
    for a in comparison.real_at_fake:
        view.add_row(
            f"{a.kind}: reals at fake", f"{a.num_real}",
            f"{a.baseline_share:.1%}→{a.new_share:.1%}",
            f"{a.difference:+.1%} [{a.low:+.1%},{a.high:+.1%}]", a.verdict,
        )  # fmt: skip
    view.caption = (
        "n: reals/fakes; AUC: baseline→this (reals at fake: shares at each model's fake "
        "threshold, fewer is better); paired cluster bootstrap (reals by person, fakes by "
        "generator)"
    )
    return view


def summary_table(result: Any) -> Any:
    """Overall and per-subset metrics (names shortened; `*` marks a borrowed class)."""
    from rich.table import Table

    table = Table(title=f"evaluation of {result.spec.name}")
    for column in ("subset", "level", "reals", "fakes", "AUC", "AP", "EER", "acc@fake",
                   "FPR@fake"):  # fmt: skip
        left = column in ("subset", "level")
        table.add_column(column, justify="left" if left else "right", no_wrap=True)

    rows = [("all", result.overall)] + [
        (_short(f"{b.by}:{b.name}") + ("*" if b.pooled else ""), b.metrics)
        for b in result.breakdowns
    ]
    for name, metrics in rows:
        for level, m in (("video", metrics.video), ("frame", metrics.frame)):
            fake = next((t for t in m.at_thresholds if t.name == "fake"), None)
            table.add_row(
                name, level, str(m.num_real), str(m.num_fake), _fmt(m.auc),
                _fmt(m.average_precision), _fmt(m.eer), _fmt(fake.accuracy) if fake else "-",
                _fmt(fake.false_positive_rate) if fake else "-",
            )  # fmt: skip
    for p in result.perturbations:
        table.add_row(
            p.description, "video", "", "", _fmt(p.video_auc), "", "", "", ""
        )  # fmt: skip
    return table
