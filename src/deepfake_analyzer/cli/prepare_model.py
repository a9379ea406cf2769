"""`deepfake-analyzer prepare-model`: build a model's LiteRT copy ahead of its first use.

A model ships one weights file per version; the analyzer runs a LiteRT copy built from it
once, on first use, into ~/.cache/deepfake-analyzer/runtime/<weights sha256>/ (tens of
seconds). This command builds it now, e.g. while installing, or for your own model's spec so
that `analyze --model my.spec.json` runs on LiteRT too. A blend (the default is one) runs its
members, so each member gets its copy (a residual member, models/residual.py, runs in numpy
and a face-mesh member, models/mesh_probe.py, runs the shipped face mesh: they need none).
Needs TensorFlow; nothing is downloaded. A copy already there is verified and kept.

With --fuse NAME, a blend whose members include several texture models of one region (a kept
probe and a new one, say) is first rewritten as the blend NAME beside it, those members fused
into one model each: a linear probe's weighted logits add up, so NAME scores as the blend does
(checked as it is written) and runs one network per region. Calibration, thresholds and views
carry over.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepfake_analyzer.errors import EXIT_OK, ModelError, ModelNotInstalledError

if TYPE_CHECKING:
    from deepfake_analyzer.models.spec import ModelSpec


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prepare-model",
        help="build a model's LiteRT copy into the user cache now, not on first use",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model", metavar="SPEC", help="a .spec.json (default: the shipped default model)"
    )
    parser.add_argument(
        "--trust-model",
        action="store_true",
        help="allow a model that contains code (Lambda layers, custom objects)",
    )
    parser.add_argument(
        "--fuse",
        metavar="NAME",
        help="first write the blend NAME beside the --model blend: its texture members of one "
        "region fused into one model each (the same scores, fewer networks to run), then "
        "prepare that",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from deepfake_analyzer import paths
    from deepfake_analyzer.models.blend import BLEND_FORMAT, Blend
    from deepfake_analyzer.models.loader import NO_DEFAULT_MODEL_HINT
    from deepfake_analyzer.models.spec import SPEC_SUFFIX, ModelSpec

    spec_path = Path(args.model).expanduser() if args.model else paths.DEFAULT_CLASSIFIER_SPEC
    if not spec_path.is_file():
        if args.model is None:
            raise ModelNotInstalledError(NO_DEFAULT_MODEL_HINT, option="model_path")
        raise ModelError("model spec not found", spec_path)
    if not spec_path.name.endswith(SPEC_SUFFIX):
        raise ModelError(f"pass the model's {SPEC_SUFFIX} (its weights file lies beside it)")
    if args.fuse:
        from deepfake_analyzer.training.texture_export import fuse_blend

        spec_path = fuse_blend(spec_path, args.fuse)
        print(f"wrote {spec_path}")
    spec = ModelSpec.load(spec_path)
    if spec.weights_format != BLEND_FORMAT:
        _prepare(spec, spec_path, args.trust_model)
        return EXIT_OK
    blend = Blend.load(spec_path.parent / spec.weights_file)
    for member in blend.members:  # a blend runs its members: each gets its copy
        member_path = spec_path.parent / member.spec
        _prepare(ModelSpec.load(member_path), member_path, args.trust_model)
    return EXIT_OK


def _prepare(spec: ModelSpec, spec_path: Path, trust_model: bool) -> None:
    from deepfake_analyzer.models.litert_classifier import litert_file
    from deepfake_analyzer.models.runtime_cache import (
        default_runtime_cache,
        needs_runtime_copy,
        prepare_runtime,
    )

    if not needs_runtime_copy(spec):
        print(f"{spec.name}: a probe model has no network of its own: nothing to prepare")
        return
    named = litert_file(spec, spec_path.parent)
    if named is not None and named.is_file():
        print(f"{spec.name}: its spec names a LiteRT copy, {named}: nothing to prepare")
        return
    print(
        f"{spec.name}: preparing its LiteRT copy in {default_runtime_cache()} "
        "(a minute or so the first time)...",
        file=sys.stderr,
    )
    started = time.perf_counter()
    prepared = prepare_runtime(spec_path, trust_model=trust_model)
    entry = prepared.entry
    what = "built" if prepared.built else "already prepared"
    print(
        f"{spec.name}: {what}: {prepared.path} ({prepared.path.stat().st_size / 1e6:.1f} MB, "
        f"{entry['weights_dtype']} weights, max |LiteRT - Keras| "
        f"{entry['max_abs_diff_vs_keras']:.2g}) in {time.perf_counter() - started:.0f} s"
    )
