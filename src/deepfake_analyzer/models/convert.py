"""Convert a Keras classifier to a LiteRT (`.tflite`) file and record it in the model spec.

The path that keeps the weights: `model.export(dir)` (a SavedModel), then
`tf.lite.TFLiteConverter.from_saved_model(dir)`. Converting from concrete functions drops
the weights of a Keras 3 model. Float16 weights halve the file (Xception: ~84 MB -> ~42 MB,
under the 50 MB per-file budget); XNNPACK still computes in float32.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.litert_classifier import LITERT_RUNTIME
from deepfake_analyzer.models.spec import ModelSpec, sha256_of

if TYPE_CHECKING:
    import keras

WeightsDtype = Literal["float32", "float16"]

MAX_FILE_BYTES = 50 * 1000 * 1000
"""The budget for one shipped file."""

AGREEMENT_TOLERANCE = 2e-3
"""Largest probability difference between Keras and LiteRT that still counts as the same scores.

Float32 copies agree to ~1e-6. Float16 copies differ by up to ~1e-3: the converter folds batch
norm into the convolution kernels and then rounds the folded kernels to float16, while Keras
multiplies float16-rounded kernels by float32 batch-norm scales. A broken conversion (weights
lost, wrong scaling) differs by 0.1 or more."""


def convert_to_tflite(
    model: keras.Model,
    out_path: Path | str,
    weights_dtype: WeightsDtype = "float32",
    max_bytes: int | None = MAX_FILE_BYTES,
) -> Path:
    """Write `model` as a `.tflite` file with float32 or float16 weights; return its path.

    Raises ModelError when the file would exceed `max_bytes` (default: the shipping budget;
    None for no limit, e.g. a benchmark's scratch copy) or when TensorFlow cannot convert it.
    """
    if weights_dtype not in ("float32", "float16"):
        raise ValueError(f"weights_dtype must be float32 or float16, got {weights_dtype!r}")
    out_path = Path(out_path)
    if out_path.suffix != ".tflite":
        raise ValueError(f"output name must end in .tflite, got {out_path.name!r}")
    import tensorflow as tf

    with tempfile.TemporaryDirectory(prefix="deepfake-export-") as saved_dir:
        try:
            model.export(saved_dir, format="tf_saved_model", verbose=False)
            converter = tf.lite.TFLiteConverter.from_saved_model(saved_dir)
            if weights_dtype == "float16":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.target_spec.supported_types = [tf.float16]
            data = converter.convert()
        except Exception as exc:  # TF raises many types for one cause: an unconvertible graph
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else repr(exc)
            raise ModelError(f"cannot convert the model to LiteRT: {first}", out_path) from None
    if max_bytes is not None and len(data) > max_bytes:
        hint = " with float16 weights" if weights_dtype == "float32" else ""
        raise ModelError(
            f"the converted model is {len(data) / 1e6:.1f} MB, over the "
            f"{max_bytes / 1e6:.0f} MB per-file budget; convert{hint or ' a smaller model'}",
            out_path,
        )
    atomic_write_bytes(out_path, data)
    return out_path


def pick_weights_dtype(model: keras.Model) -> WeightsDtype:
    """float32 when the float32 file fits the per-file budget, else float16."""
    params = int(sum(np.prod(w.shape) for w in model.weights))
    return "float32" if params * 4 + (1 << 20) <= MAX_FILE_BYTES else "float16"


def runtime_entry(
    tflite_path: Path,
    weights_dtype: WeightsDtype,
    max_abs_diff: float,
    source_weights_sha256: str = "",
) -> dict[str, Any]:
    """The `runtime_files["litert"]` entry for a converted file.

    `source_weights_sha256` is the Keras weights' hash it was converted from: the loader
    refuses a copy whose source no longer matches the spec's weights (a stale conversion).
    """
    return {
        "file": Path(tflite_path).name,
        "sha256": sha256_of(tflite_path),
        "source_weights_sha256": source_weights_sha256,
        "weights_dtype": weights_dtype,
        "max_abs_diff_vs_keras": float(max_abs_diff),
    }


def with_litert_runtime(
    spec: ModelSpec, tflite_path: Path, weights_dtype: WeightsDtype, max_abs_diff: float
) -> ModelSpec:
    """A copy of `spec` whose `runtime_files` names `tflite_path` (relative) and its hash."""
    files = dict(spec.runtime_files)
    files[LITERT_RUNTIME] = runtime_entry(
        tflite_path, weights_dtype, max_abs_diff, spec.weights_sha256
    )
    return replace(spec, runtime_files=files)


def agreement_crops(input_size: int, count: int = 8, seed: int = 0) -> np.ndarray:
    """(count, S, S, 3) uint8 crops to compare runtimes on: noise, flat and smooth images."""
    rng = np.random.default_rng(seed)
    crops = rng.integers(0, 256, size=(count, input_size, input_size, 3), dtype=np.uint8)
    ramp = np.linspace(0, 255, input_size, dtype=np.float32)
    if count > 1:
        crops[1] = 128
    if count > 2:
        crops[2] = np.stack(
            np.broadcast_arrays(ramp[None, :], ramp[:, None], 255 - ramp[None, :]), -1
        )
    return crops


def max_abs_difference(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"outputs differ in shape: {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def convert_spec(
    spec_path: Path | str,
    weights_dtype: WeightsDtype | None = None,
    tolerance: float = AGREEMENT_TOLERANCE,
    max_bytes: int | None = MAX_FILE_BYTES,
) -> tuple[ModelSpec, float]:
    """Convert the Keras model a `.spec.json` describes to `<stem>.tflite` beside it.

    Checks that both runtimes give the same probabilities (within `tolerance`) on a few crops,
    then rewrites the spec with `runtime_files["litert"]`. Returns the new spec and the largest
    difference seen. `weights_dtype=None` picks float32 when it fits the budget, else float16;
    `max_bytes=None` allows a float32 copy over the budget (a local copy, not for shipping).
    """
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
    from deepfake_analyzer.models.loader import load_keras_from_spec
    from deepfake_analyzer.models.spec import SPEC_SUFFIX

    spec_path = Path(spec_path)
    keras_classifier = load_keras_from_spec(spec_path)
    model = keras_classifier.model
    dtype = weights_dtype or pick_weights_dtype(model)
    stem = spec_path.name[: -len(SPEC_SUFFIX)]
    tflite_path = convert_to_tflite(
        model, spec_path.with_name(stem + ".tflite"), dtype, max_bytes=max_bytes
    )
    crops = agreement_crops(keras_classifier.spec.input_size)
    litert = LiteRTClassifier(tflite_path, keras_classifier.spec, keras_classifier.sha256)
    diff = max_abs_difference(
        keras_classifier.predict_outputs(crops), litert.predict_outputs(crops)
    )
    if diff > tolerance:
        tflite_path.unlink(missing_ok=True)
        raise ModelError(
            f"the LiteRT copy's scores differ from Keras by {diff:.2g} (> {tolerance:g}); "
            "it was not recorded: keep using the Keras runtime",
            spec_path,
        )
    spec = with_litert_runtime(keras_classifier.spec, tflite_path, dtype, diff)
    spec.save(spec_path)
    return spec, diff


def atomic_write_bytes(target: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `target`, then rename it over `target`: a
    reader (or a process racing to write the same file) never sees a partial file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
