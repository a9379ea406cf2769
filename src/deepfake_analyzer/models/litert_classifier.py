"""A LiteRT (`.tflite`) model as a `Classifier`: XNNPACK on every core, no TensorFlow import.

Importing only `ai_edge_litert` keeps an inference process light (~0.5 GB with the face
detector, against ~1.1 GB with TensorFlow) and quick to start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.faces.native_logs import quiet_native_stderr
from deepfake_analyzer.models.base import OUTPUT_COLUMNS
from deepfake_analyzer.models.keras_classifier import (
    DEFAULT_BATCH_SIZE,
    outputs_in_batches,
    predict_in_batches,
)
from deepfake_analyzer.models.spec import ModelSpec, sha256_of
from deepfake_analyzer.text import first_line

LITERT_RUNTIME = "litert"
"""The key of a converted `.tflite` copy in `ModelSpec.runtime_files`."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's total)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def litert_available() -> bool:
    """Whether the `ai-edge-litert` package can be imported."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return False
    return True


class LiteRTClassifier:
    """Scores face crops with a `.tflite` model whose input and output follow `spec`.

    `predict` resizes crops that are not `spec.input_size` square, preprocesses them with
    `spec.preprocess`, and runs them `batch_size` at a time. The interpreter's batch
    dimension is resized only when a call needs another size (measured: no cost after the
    first time). Measured on 2 cores: batch 16 runs Xception 1.2x faster than one crop per
    call at 128 px and about as fast at 299 px, where it needs ~450 MB more memory.
    `sha256` identifies the model (the spec's weights hash, so reports from either runtime
    name the same model); `runtime_sha256` is the `.tflite` file's own hash.
    """

    runtime = LITERT_RUNTIME

    def __init__(
        self,
        tflite_path: Path | str,
        spec: ModelSpec,
        sha256: str = "",
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_threads: int | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_threads is not None and num_threads < 1:
            raise ValueError(f"num_threads must be >= 1, got {num_threads}")
        tflite_path = Path(tflite_path)
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise ModelError(
                "the LiteRT runtime needs the ai-edge-litert package: pip install ai-edge-litert",
                tflite_path,
            ) from None
        if not tflite_path.is_file():
            raise ModelError("LiteRT model file not found", tflite_path)
        self.spec = spec
        self.path = tflite_path
        self.runtime_sha256 = sha256_of(tflite_path)
        self.sha256 = sha256 or spec.weights_sha256 or self.runtime_sha256
        self.batch_size = batch_size
        self.num_threads = num_threads or available_cores()
        try:
            self._interpreter: Any = Interpreter(
                model_path=str(tflite_path), num_threads=self.num_threads
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(
                f"cannot load the LiteRT model: {first_line(exc)}", tflite_path
            ) from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(
                f"LiteRT model has {len(inputs)} inputs and {len(outputs)} outputs; need one "
                "image input and one output (a probability per crop, models/base.py)",
                tflite_path,
            )
        shape = tuple(int(d) for d in inputs[0]["shape"])
        size = spec.input_size
        if len(shape) != 4 or shape[1:] != (size, size, 3):
            raise ModelError(
                f"LiteRT model input shape is {shape}; the spec needs (N, {size}, {size}, 3)",
                tflite_path,
            )
        self.columns = int(np.prod(outputs[0]["shape"][1:]))
        if self.columns not in OUTPUT_COLUMNS:
            raise ModelError(
                f"LiteRT model output shape is {tuple(outputs[0]['shape'])}; need (N, 1), or "
                "(N, 2) for a model with a track head",
                tflite_path,
            )
        self._input_index = int(inputs[0]["index"])
        self._output_index = int(outputs[0]["index"])
        self._planned_batch = 0

    @property
    def name(self) -> str:
        return self.spec.name

    def with_threads(self, num_threads: int) -> LiteRTClassifier:
        """This classifier with another thread count (itself when unchanged)."""
        if num_threads == self.num_threads:
            return self
        return LiteRTClassifier(self.path, self.spec, self.sha256, self.batch_size, num_threads)

    def _plan(self, batch: int) -> None:
        if batch == self._planned_batch:
            return
        size = self.spec.input_size
        self._interpreter.resize_tensor_input(self._input_index, [batch, size, size, 3])
        with quiet_native_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
            self._interpreter.allocate_tensors()
        self._planned_batch = batch

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB crops -> (N,) float32 probabilities that each is manipulated."""
        return predict_in_batches(crops_rgb_uint8, self.spec, self.batch_size, self._invoke)

    def predict_outputs(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB crops -> (N, `columns`) float32 outputs (models/base.py)."""
        return outputs_in_batches(
            crops_rgb_uint8, self.spec, self.batch_size, self._invoke, self.columns
        )

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch)
        self._plan(len(batch))
        self._interpreter.set_tensor(self._input_index, batch)
        self._interpreter.invoke()
        output: np.ndarray = self._interpreter.get_tensor(self._output_index)
        return output

    def __repr__(self) -> str:
        return (
            f"LiteRTClassifier(name={self.name!r}, input_size={self.spec.input_size}, "
            f"sha256={self.sha256[:12]}..., batch_size={self.batch_size}, "
            f"num_threads={self.num_threads})"
        )


def litert_file(spec: ModelSpec, spec_dir: Path) -> Path | None:
    """The `.tflite` file the spec's `runtime_files` names, or None when it names none."""
    entry = spec.runtime_files.get(LITERT_RUNTIME)
    if not entry or not entry.get("file"):
        return None
    return Path(spec_dir) / str(entry["file"])


def load_litert(
    spec: ModelSpec,
    spec_dir: Path | str,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_threads: int | None = None,
) -> LiteRTClassifier:
    """The LiteRT classifier for a spec with a `runtime_files["litert"]` entry.

    Verifies the file's sha256 against the entry; raises ModelError when the entry is
    missing, the file is missing or changed, or ai-edge-litert is not installed.
    """
    path = litert_file(spec, Path(spec_dir))
    if path is None:
        raise ModelError(f"the model spec {spec.name!r} names no LiteRT file (runtime_files)")
    if not path.is_file():
        raise ModelError("LiteRT file named by the spec's runtime_files not found", path)
    entry = spec.runtime_files[LITERT_RUNTIME]
    source = str(entry.get("source_weights_sha256", "")).lower()
    if source and spec.weights_sha256 and source != spec.weights_sha256.lower():
        raise ModelError(
            "the LiteRT copy was converted from other weights than the spec's: re-run the "
            "conversion (scripts/convert_default_model.py --spec SPEC), or remove "
            "runtime_files from the spec",
            path,
        )
    expected = str(entry.get("sha256", "")).lower()
    classifier = LiteRTClassifier(path, spec, batch_size=batch_size, num_threads=num_threads)
    if expected and classifier.runtime_sha256 != expected:
        raise ModelError(
            f"LiteRT file has sha256 {classifier.runtime_sha256[:16]}..., but the spec expects "
            f"{expected[:16]}...: re-run the conversion "
            "(scripts/convert_default_model.py --spec SPEC)",
            path,
        )
    return classifier


RUNTIMES = ("auto", "keras", LITERT_RUNTIME)
"""`auto`: a LiteRT copy (named by the spec, or cached: `runtime_cache`) when ai-edge-litert is
installed, else Keras; `keras`: always Keras (Grad-CAM needs it); `litert`: require the copy."""
