"""The LiteRT copy of a model, built once from its Keras weights into the user cache.

A model version ships one weights file (the default: `deepfake_xception.f16.npz`). Its faster
LiteRT copy is built locally on first use, with the conversion of `models/convert.py`, into
`<user cache>/runtime/<weights sha256>/litert-<S>px.tflite` beside `litert-<S>px.json`, its
`runtime_files["litert"]` entry (file, sha256, source weights sha256, weights dtype, largest
difference from Keras). Later loads find the copy by the weights' sha256 and verify its own.

Rules, and why:
- A spec that names an existing LiteRT file (`runtime_files`) runs it, as before; errors in a
  named file that exists (changed hash, stale source) are raised, not skipped.
- Otherwise a valid cached copy runs. Only when the caller asks (the shipped default model,
  `prepare_runtime`, or `runtime="litert"`) is a missing copy built: a user's spec is never
  converted behind their back.
- The copy is written to a temporary name and renamed, under an exclusive lock on the cache
  folder, so processes that start together (service workers) build it once and never see a
  half-written file. It is kept only if LiteRT and Keras agree within `AGREEMENT_TOLERANCE`.
- Conversion needs TensorFlow. A process that has not imported it (an inference process,
  ~0.5 GB) converts in a child process and stays TensorFlow-free; one that has (training,
  evaluation, tests) converts in-process.
- First use takes tens of seconds: a `ModelRuntimeWarning` says so before it starts. When the
  copy cannot be built (no TensorFlow or ai-edge-litert, a read-only cache, a failed
  conversion), one `ModelRuntimeWarning` says why and the model runs on Keras: never a crash.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepfake_analyzer import paths
from deepfake_analyzer.errors import ModelError, ModelRuntimeWarning
from deepfake_analyzer.models.keras_classifier import DEFAULT_BATCH_SIZE
from deepfake_analyzer.models.litert_classifier import (
    LITERT_RUNTIME,
    RUNTIMES,
    LiteRTClassifier,
    litert_available,
    litert_file,
    load_litert,
)
from deepfake_analyzer.models.mesh_probe import WEIGHTS_FORMAT as MESH_FORMAT
from deepfake_analyzer.models.residual import WEIGHTS_FORMAT as RESIDUAL_FORMAT
from deepfake_analyzer.models.spec import ModelSpec, sha256_of

COPY_SUFFIX = ".tflite"
MANIFEST_SUFFIX = ".json"
"""Per input size S: the copy `litert-<S>px.tflite` and its `runtime_files["litert"]` entry,
`litert-<S>px.json` (the same weights can be built for another crop size)."""
LOCK_NAME = ".lock"
CHILD_TIMEOUT_S = 1800.0
"""How long a loader waits for a child conversion (tens of seconds normally; longer when
another process holds the lock and is converting the same weights)."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHILD_ERROR = "runtime-cache: error: "


def default_runtime_cache() -> Path:
    """`<user cache>/runtime`: one folder per weights sha256."""
    return paths.user_cache_dir() / "runtime"


@dataclass(frozen=True)
class PreparedRuntime:
    """A cached LiteRT copy: its file, its `runtime_files` entry, and whether this call built
    it (False: it was already there) in how many seconds."""

    path: Path
    entry: dict[str, Any]
    built: bool
    seconds: float


def _spec_and_weights(spec_path: Path) -> tuple[ModelSpec, Path]:
    spec = ModelSpec.load(spec_path)
    if not spec.weights_file:
        raise ModelError("the model spec names no weights_file", spec_path)
    return spec, spec_path.parent / spec.weights_file


def weights_key(spec: ModelSpec, weights_path: Path) -> str:
    """The cache key: `ModelSpec.weights_identity` of the spec's weights sha256, or of the
    file's own when the spec has none."""
    recorded = spec.weights_sha256.lower()
    if _SHA256.fullmatch(recorded):
        return spec.weights_identity(recorded)
    if not weights_path.is_file():
        raise ModelError(f"weights file {weights_path.name!r} named by the spec not found")
    return spec.weights_identity(sha256_of(weights_path))


def _copy_stem(spec: ModelSpec) -> str:
    return f"litert-{spec.input_size}px"


def _read_entry(folder: Path, key: str, spec: ModelSpec) -> dict[str, Any] | None:
    stem = _copy_stem(spec)
    try:
        entry = json.loads((folder / (stem + MANIFEST_SUFFIX)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or str(entry.get("source_weights_sha256", "")).lower() != key:
        return None
    if entry.get("file") != stem + COPY_SUFFIX or not _SHA256.fullmatch(str(entry.get("sha256"))):
        return None
    return entry


def load_cached(
    spec: ModelSpec,
    key: str,
    cache_dir: Path | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> LiteRTClassifier | None:
    """The cached LiteRT copy of the weights `key` as a classifier; None when there is no
    valid one (missing, half-written, changed since it was built, unreadable)."""
    folder = Path(cache_dir or default_runtime_cache()) / key
    entry = _read_entry(folder, key, spec)
    if entry is None or not (folder / entry["file"]).is_file():
        return None
    try:
        classifier = LiteRTClassifier(folder / entry["file"], spec, key, batch_size=batch_size)
    except ModelError:
        return None
    return classifier if classifier.runtime_sha256 == entry["sha256"] else None


@contextlib.contextmanager
def _exclusive(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (POSIX); elsewhere the atomic rename alone."""
    try:
        import fcntl
    except ImportError:  # Windows: two builds may race; each writes whole files by rename
        yield
        return
    with open(folder / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _writable_folder(folder: Path) -> None:
    """Create `folder` and check a file can be written there; ModelError saying why not."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / LOCK_NAME, "a"):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ModelError(f"cannot write the runtime cache ({reason})", folder) from None


def needs_runtime_copy(spec: ModelSpec) -> bool:
    """Whether the model runs a network a LiteRT copy is built for: not a residual model,
    which runs in numpy (models/residual.py), nor a face-mesh model, which runs the shipped
    face mesh (models/mesh_probe.py)."""
    return spec.weights_format not in (RESIDUAL_FORMAT, MESH_FORMAT)


def prepare_runtime(
    spec_path: Path | str,
    cache_dir: Path | None = None,
    trust_model: bool = False,
    tolerance: float | None = None,
) -> PreparedRuntime:
    """The cached LiteRT copy of the model a `.spec.json` describes, built when missing.

    Converts in this process (imports TensorFlow). Raises ModelError when the weights cannot
    be loaded or converted, the cache cannot be written, or LiteRT and Keras disagree by more
    than `tolerance` (default `AGREEMENT_TOLERANCE`; nothing is kept then).
    """
    from deepfake_analyzer.models.convert import (
        AGREEMENT_TOLERANCE,
        agreement_crops,
        atomic_write_bytes,
        convert_to_tflite,
        max_abs_difference,
        pick_weights_dtype,
        runtime_entry,
    )
    from deepfake_analyzer.models.loader import load_keras_from_spec

    started = time.perf_counter()
    spec_path = Path(spec_path)
    spec, weights_path = _spec_and_weights(spec_path)
    key = weights_key(spec, weights_path)
    folder = Path(cache_dir or default_runtime_cache()) / key
    _writable_folder(folder)
    with _exclusive(folder):
        entry = _read_entry(folder, key, spec)
        if entry is not None and load_cached(spec, key, folder.parent) is not None:
            return PreparedRuntime(folder / entry["file"], entry, False, 0.0)
        if not litert_available():
            raise ModelError("the LiteRT runtime needs the ai-edge-litert package")
        if importlib.util.find_spec("tensorflow") is None:
            raise ModelError("building the LiteRT copy needs TensorFlow (tensorflow-cpu)")
        for leftover in folder.glob(".*.partial.tflite*"):  # from a builder that was killed
            leftover.unlink(missing_ok=True)
        keras_classifier = load_keras_from_spec(spec_path, trust_model)
        dtype = pick_weights_dtype(keras_classifier.model)
        stem = _copy_stem(spec)
        final = folder / (stem + COPY_SUFFIX)
        partial = folder / f".{stem}.{uuid.uuid4().hex[:12]}.partial.tflite"
        try:
            convert_to_tflite(keras_classifier.model, partial, dtype, max_bytes=None)
            crops = agreement_crops(spec.input_size)
            litert = LiteRTClassifier(partial, keras_classifier.spec, key)
            diff = max_abs_difference(
                keras_classifier.predict_outputs(crops), litert.predict_outputs(crops)
            )
            limit = AGREEMENT_TOLERANCE if tolerance is None else tolerance
            if diff > limit:
                raise ModelError(
                    f"the LiteRT copy's scores differ from Keras by {diff:.2g} (> {limit:g}); "
                    "it was not kept",
                    spec_path,
                )
            os.replace(partial, final)
        finally:
            partial.unlink(missing_ok=True)
        entry = runtime_entry(final, dtype, diff, key)
        text = json.dumps(entry, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(folder / (stem + MANIFEST_SUFFIX), text.encode("utf-8"))
    return PreparedRuntime(final, entry, True, time.perf_counter() - started)


def _build_in_child(spec_path: Path, cache_dir: Path, trust_model: bool) -> None:
    """`prepare_runtime` in a child process, so this one never imports TensorFlow."""
    command = [sys.executable, "-m", __name__, str(spec_path), str(cache_dir)]
    if trust_model:
        command.append("--trust-model")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise ModelError(f"the conversion took over {CHILD_TIMEOUT_S:.0f} s", spec_path) from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        ours = [line[len(_CHILD_ERROR) :] for line in lines if line.startswith(_CHILD_ERROR)]
        reason = (ours or lines or [f"exit status {done.returncode}"])[-1]
        raise ModelError(f"the conversion failed: {reason[:300]}", spec_path)


def _build(spec: ModelSpec, spec_path: Path, key: str, cache_dir: Path, trust: bool) -> None:
    folder = cache_dir / key
    _writable_folder(folder)  # fail fast, before a child process starts
    if not litert_available():
        raise ModelError("the LiteRT runtime needs the ai-edge-litert package")
    if importlib.util.find_spec("tensorflow") is None:
        raise ModelError("building the LiteRT copy needs TensorFlow (tensorflow-cpu)")
    warnings.warn(
        f"preparing the LiteRT runtime of model {spec.name!r} (first use of these weights; "
        f"takes a minute or so, once): converting into {folder}",
        ModelRuntimeWarning,
        stacklevel=4,
    )
    if "tensorflow" in sys.modules:
        prepare_runtime(spec_path, cache_dir, trust)
    else:
        _build_in_child(spec_path, cache_dir, trust)


def fast_classifier(
    spec: ModelSpec,
    spec_path: Path | str,
    runtime: str = "auto",
    batch_size: int = DEFAULT_BATCH_SIZE,
    trust_model: bool = False,
    build: bool = False,
    cache_dir: Path | None = None,
) -> LiteRTClassifier | None:
    """The LiteRT classifier for `runtime`; None means "run the Keras model".

    In order: the LiteRT file the spec names (when it exists), the cached copy of its
    weights, a copy built now (when `build`, or when `runtime` is "litert"). When building
    fails, "auto" warns once and returns None; "litert" raises ModelError.
    """
    if runtime not in RUNTIMES:
        raise ModelError(f"unknown runtime {runtime!r}; choose one of {', '.join(RUNTIMES)}")
    if runtime == "keras":
        return None
    spec_path = Path(spec_path)
    named = litert_file(spec, spec_path.parent)
    if named is not None and named.is_file() and (runtime == LITERT_RUNTIME or litert_available()):
        return load_litert(spec, spec_path.parent, batch_size=batch_size)
    if not litert_available():
        if runtime == LITERT_RUNTIME:
            raise ModelError("the LiteRT runtime needs the ai-edge-litert package")
        return None
    if not spec.weights_file:
        return None  # the loader says what is wrong with the spec
    cache_dir = Path(cache_dir or default_runtime_cache())
    key = weights_key(spec, spec_path.parent / spec.weights_file)
    cached = load_cached(spec, key, cache_dir, batch_size)
    if cached is not None:
        return cached
    if not (build or runtime == LITERT_RUNTIME):
        if named is not None:
            raise ModelError("LiteRT file named by the spec's runtime_files not found", named)
        return None
    try:
        _build(spec, spec_path, key, cache_dir, trust_model)
        built = load_cached(spec, key, cache_dir, batch_size)
        if built is None:
            raise ModelError("the LiteRT copy was built but does not load", cache_dir / key)
    except ModelError as exc:
        if runtime == LITERT_RUNTIME:
            raise
        warnings.warn(
            f"model {spec.name!r} runs on Keras (slower, more memory): its LiteRT copy could "
            f"not be prepared: {exc}",
            ModelRuntimeWarning,
            stacklevel=3,
        )
        return None
    return built


def _child_main(argv: list[str]) -> int:
    """`python -m deepfake_analyzer.models.runtime_cache SPEC CACHE_DIR [--trust-model]`."""
    spec_path, cache_dir = Path(argv[0]), Path(argv[1])
    try:
        prepare_runtime(spec_path, cache_dir, trust_model="--trust-model" in argv[2:])
    except ModelError as exc:
        print(f"{_CHILD_ERROR}{exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
