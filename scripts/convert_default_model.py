"""Convert a spec's Keras model to LiteRT, write the copy beside the spec and record it there.

Usage: .venv/bin/python scripts/convert_default_model.py --spec DIR/X.spec.json
       [--weights-dtype auto|float32|float16] [--allow-large]

For a model whose LiteRT copy should travel beside its spec (a model you hand to others). The
shipped default model commits no copy (one weights file per model version): the analyzer
builds its copy into the user cache on first use, or ahead of time with
`deepfake-analyzer prepare-model`; do not run this on `models/`.

Writes `<stem>.tflite` beside the spec (float16 weights when float32 would exceed the 50 MB
per-file budget), checks that LiteRT and Keras give the same scores, and adds
`runtime_files["litert"]` (file, sha256, weights dtype, max difference) to the spec. From then
on the analyzer runs the model on LiteRT by default.

Float16 copies score within ~1e-3 of Keras (batch norm is folded into the kernels before they
are rounded); `--weights-dtype float32 --allow-large` makes an exact copy (~83 MB for
Xception, over the budget: for a local install, not for committing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.models.convert import MAX_FILE_BYTES, convert_spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, required=True, help="the model's .spec.json")
    parser.add_argument("--weights-dtype", choices=("auto", "float32", "float16"), default="auto")
    parser.add_argument(
        "--allow-large", action="store_true", help="allow a file over the 50 MB budget"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        spec, diff = convert_spec(
            args.spec,
            None if args.weights_dtype == "auto" else args.weights_dtype,
            max_bytes=None if args.allow_large else MAX_FILE_BYTES,
        )
    except AnalyzerError as exc:
        print(f"convert: error: {exc}", file=sys.stderr)
        return exc.exit_code
    entry = spec.runtime_files["litert"]
    tflite = args.spec.parent / entry["file"]
    print(
        f"wrote {tflite} ({tflite.stat().st_size / 1e6:.1f} MB, {entry['weights_dtype']} weights, "
        f"sha256 {entry['sha256'][:12]}...) in {time.perf_counter() - started:.0f} s; "
        f"max |LiteRT - Keras| = {diff:.2g}; spec updated: {args.spec}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
