"""`deepfake-analyzer train-texture`: fit the texture models, judged leave-generator-out.

Per --region of the face crop (default: the whole crop and its mouth box), a logistic
regression over a frozen ImageNet EfficientNet-Lite0's block statistics
(`training/texture_train.py`; --region residual: over the crop's noise-residual
co-occurrences, models/residual.py), fitted on the protocol's training part of DATA, --real and
--train-real, and judged on its held-out part beside the classifier (--model, default the
shipped one) and the blend of them all. Needs `scripts/get_texture_backbone.sh` once.
--train-real folders are trained on but not judged (as `train --real`; `evaluate` is not
given them). With --output DIR (holding the classifier's spec) it writes the models NAME_REGION,
their training-data list and the blend NAME (--name, default deepfake_v4) there; calibrate the
blend with `evaluate --calibrate --write-spec` before use. --keep adds fitted models as they
are (e.g. the shipped blend's members) beside the classifier, to extend a blend by a new
region without refitting the others; --without-classifier leaves the classifier out of the
blend (it stays the table's reference). Face crops are cached under
--cache-dir, and beside them (in its `features` folder) every crop's features and classifier
score: a rerun on the same crops reuses both and only fits.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from deepfake_analyzer.cli.arguments import add_data_arguments
from deepfake_analyzer.cli.dashboard import choose_renderer
from deepfake_analyzer.errors import EXIT_OK, UsageError
from deepfake_analyzer.training.texture_config import (
    BLEND_NAME,
    DEFAULT_COPIES,
    DEFAULT_REGIONS,
    MEMBER_REGIONS,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train-texture",
        help="fit the texture probe and its blend with the classifier, judged leave-generator-out",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser, "folder of real faces only, trained and judged on; repeatable")
    parser.add_argument(
        "--train-real", action="append", default=[], type=Path, metavar="DIR",
        help="folder of real faces only, trained on and never judged; repeatable",
    )  # fmt: skip
    parser.add_argument("--model", type=Path, metavar="SPEC", help="the classifier to blend with")
    parser.add_argument(
        "--output", "-o", type=Path, metavar="DIR",
        help="write the texture models and their blend here, beside the --model spec",
    )  # fmt: skip
    parser.add_argument(
        "--name", default=BLEND_NAME, metavar="NAME",
        help=f"the blend's name; its texture models are NAME_REGION (default {BLEND_NAME})",
    )  # fmt: skip
    parser.add_argument(
        "--weights-base", type=Path, metavar="FILE",
        help="an f16 texture model in --output (e.g. texture_v1.f16.npz): the written models "
        "read its frozen backbone instead of storing their own copy",
    )  # fmt: skip
    parser.add_argument(
        "--region", action="append", choices=list(MEMBER_REGIONS), metavar="REGION",
        help=f"a region of the crop to fit a probe on, repeatable: {', '.join(MEMBER_REGIONS)} "
        f"(residual: the crop's noise statistics; default: {' and '.join(DEFAULT_REGIONS)})",
    )  # fmt: skip
    parser.add_argument(
        "--keep", action="append", default=[], type=Path, metavar="SPEC",
        help="a fitted texture model in --output (e.g. an earlier blend's member) that joins "
        "the new blend as it is, scored and not refitted; repeatable",
    )  # fmt: skip
    parser.add_argument(
        "--without-classifier", dest="classifier_member", action="store_false",
        help="leave the --model classifier out of the blend (it is still scored and tabled "
        "first, as the reference)",
    )  # fmt: skip
    parser.add_argument(
        "--views", type=int, default=1, metavar="N",
        help="the written blend reads each face through N views (models/views.py; default 1, "
        "the crop alone)",
    )  # fmt: skip
    parser.add_argument(
        "--match-resolution", action="store_true",
        help="weight the real photos so their resolutions are mixed as the labeled fake "
        "photos' are (so photo size cannot tell real from fake)",
    )  # fmt: skip
    parser.add_argument(
        "--cache-dir", type=Path, metavar="DIR",
        help="face-crop cache (default: ~/.cache/deepfake-analyzer/texture-crops)",
    )  # fmt: skip
    parser.add_argument(
        "--augmented-copies", type=int, default=DEFAULT_COPIES, metavar="N",
        help="also fit on N reframed and degraded copies of each training crop "
        f"(default {DEFAULT_COPIES})",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the tables here")
    parser.add_argument("--quiet", "-q", action="store_true", help="only the final tables")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from deepfake_analyzer.training.texture_config import TextureRequest
    from deepfake_analyzer.training.texture_train import train_texture

    try:
        request = TextureRequest(
            data=tuple(Path(p) for p in args.data),
            real=tuple(Path(p) for p in args.real),
            train_real=tuple(args.train_real),
            model=args.model,
            cache_dir=args.cache_dir,
            output=args.output,
            augmented_copies=args.augmented_copies,
            regions=tuple(args.region or DEFAULT_REGIONS),
            name=args.name,
            weights_base=args.weights_base,
            kept=tuple(args.keep),
            classifier_member=args.classifier_member,
            match_resolution=args.match_resolution,
            views=args.views,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with choose_renderer(Console(stderr=True), quiet=args.quiet, transient=False) as renderer:
        result = train_texture(request, hook=renderer)
    console = Console()
    for region, by_l2 in result.cv_auc.items():
        cv = ", ".join(f"{l2:g}: {auc:.3f}" for l2, auc in by_l2.items())
        console.print(
            f"{region}: leave-generator-out CV AUC by L2 ({cv}); chosen {result.fits[region].l2:g}"
        )
    for name, table in result.tables.items():
        console.print(render_table(name, table))
    if args.json:
        args.json.write_text(json.dumps(result.tables, indent=1) + "\n")
    for path in result.written:
        console.print(f"wrote {path}")
    return EXIT_OK


def render_table(name: str, table: dict[str, Any]) -> Table:
    """One score's held-out rows and, after the first score, its paired change from it."""
    paired = {row["name"]: row for row in table["against_first"]}
    view = Table(title=f"{name}, held-out files")
    for column in ("row", "real", "fake", "AUC [95 %]", "change [95 %]"):
        view.add_column(column, justify="left" if column == "row" else "right")
    for row in table["rows"]:
        change = ""
        if row["name"] in paired:
            d = paired[row["name"]]
            change = (
                f"{_fmt(d['difference'], 3, '+')} [{_fmt(d['low'], 2, '+')}, "
                f"{_fmt(d['high'], 2, '+')}] {d['verdict']}"
            )
        view.add_row(
            row["name"], str(row["num_real"]), str(row["num_fake"]),
            f"{_fmt(row['auc'], 3)} [{_fmt(row['auc_low'])}, {_fmt(row['auc_high'])}]", change,
        )  # fmt: skip
    return view


def _fmt(value: float | None, digits: int = 2, sign: str = "") -> str:
    return "-" if value is None else f"{value:{sign}.{digits}f}"
