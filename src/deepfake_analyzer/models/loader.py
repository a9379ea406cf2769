"""Load a classifier: the shipped default, a model spec, or a user's `.keras` / `.h5` file.

Loading is safe by default: a Keras file whose architecture holds code (Lambda layers,
custom objects) is refused before it is deserialized, unless the caller trusts it. A
missing default model is an error, never a randomly initialized detector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from deepfake_analyzer import paths
from deepfake_analyzer.errors import ModelError, ModelNotInstalledError
from deepfake_analyzer.models.base import Classifier, probe_classifier
from deepfake_analyzer.models.blend import BLEND_FORMAT, load_blend
from deepfake_analyzer.models.f16_weights import F16_NPZ_FORMAT, load_weights_f16
from deepfake_analyzer.models.keras_classifier import DEFAULT_BATCH_SIZE, KerasClassifier
from deepfake_analyzer.models.mesh_probe import WEIGHTS_FORMAT as MESH_FORMAT
from deepfake_analyzer.models.mesh_probe import load_mesh_probe
from deepfake_analyzer.models.registry import architecture_columns, create_architecture
from deepfake_analyzer.models.residual import WEIGHTS_FORMAT as RESIDUAL_FORMAT
from deepfake_analyzer.models.residual import load_residual
from deepfake_analyzer.models.safety import H5_SUFFIXES, KERAS_SUFFIXES, check_model_file
from deepfake_analyzer.models.spec import (
    SEED_STYLE_SPEC,
    SPEC_SUFFIX,
    ModelSpec,
    sha256_of,
    spec_path_for,
)
from deepfake_analyzer.text import first_line

if TYPE_CHECKING:
    import keras

KERAS_MODEL_FORMAT = "keras"
"""Weights file is a whole Keras model (`.keras` or legacy `.h5`), architecture included."""
KERAS_WEIGHTS_FORMAT = "keras-weights"
"""Weights file from `model.save_weights` (`.weights.h5`); the spec's architecture is built."""

NO_DEFAULT_MODEL_HINT = (
    "no default model is installed yet; pass `model_path` to use your own Keras model"
)

WeightsLoader = Callable[[ModelSpec, Path, bool], "keras.Model"]


def load_keras_model_file(path: Path, trust_model: bool = False) -> keras.Model:
    """A whole Keras model from `.keras` / `.h5`, refused when it holds code unless trusted."""
    path = Path(path)
    check_model_file(path, trust_model)
    import keras

    try:
        return keras.saving.load_model(path, compile=False, safe_mode=not trust_model)
    except Exception as exc:  # Keras raises many types for one cause: a file it cannot rebuild
        raise ModelError(f"cannot load the Keras model: {first_line(exc)}", path) from None


def _load_keras_model(spec: ModelSpec, weights_path: Path, trust_model: bool) -> keras.Model:
    return load_keras_model_file(weights_path, trust_model)


def _load_f16_npz(spec: ModelSpec, weights_path: Path, trust_model: bool) -> keras.Model:
    model = create_architecture(spec.architecture, spec.input_size)
    base = weights_path.parent / spec.weights_base if spec.weights_base else None
    load_weights_f16(model, weights_path, base)
    return model


def _load_keras_weights(spec: ModelSpec, weights_path: Path, trust_model: bool) -> keras.Model:
    model = create_architecture(spec.architecture, spec.input_size)
    try:
        model.load_weights(weights_path)
    except Exception as exc:  # shape mismatch, corrupt HDF5, wrong layer names
        raise ModelError(f"cannot load weights: {first_line(exc)}", weights_path) from None
    return model


WEIGHTS_FORMATS: dict[str, WeightsLoader] = {
    F16_NPZ_FORMAT: _load_f16_npz,
    KERAS_MODEL_FORMAT: _load_keras_model,
    KERAS_WEIGHTS_FORMAT: _load_keras_weights,
}
"""A spec's `weights_format` -> how its weights file becomes a Keras model."""
WITHOUT_KERAS_MODEL: dict[str, str] = {
    BLEND_FORMAT: "a blend has no Keras model of its own (Grad-CAM, fine-tuning and conversion "
    "use one): pass one of the member specs its blend file names",
    RESIDUAL_FORMAT: "a residual model has no Keras model (Grad-CAM, fine-tuning and conversion "
    "need one): it is a probe on numpy noise statistics, models/residual.py",
    MESH_FORMAT: "a face-mesh model has no Keras model (Grad-CAM, fine-tuning and conversion "
    "need one): it is a probe on the face mesh network's statistics, models/mesh_probe.py",
}
"""The `weights_format`s `load_from_spec` runs without Keras, and why each has no Keras model."""


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return "(" + ", ".join("N" if d is None else str(d) for d in shape) + ")"


def check_model_io(model: keras.Model, path: Path, columns: int = 1) -> int | None:
    """Require one (N, S, S, 3) image input and one (N, `columns`) output: the probability, and
    for an architecture with a track head its part too (models/registry.py,
    `architecture_columns`); return S.

    S is None when the model accepts any input size.
    """
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, ValueError):
        raise ModelError(
            "model has no defined input: save it after building it on an input shape", path
        ) from None
    if len(inputs) != 1:
        raise ModelError(f"model has {len(inputs)} inputs; need one image input (N, H, W, 3)", path)
    in_shape = tuple(inputs[0].shape)
    if len(in_shape) != 4 or in_shape[-1] != 3:
        raise ModelError(
            f"model input shape is {_shape_text(in_shape)}; need RGB images (N, H, W, 3)", path
        )
    height: int | None = in_shape[1]
    width: int | None = in_shape[2]
    if height != width:
        raise ModelError(
            f"model input shape is {_shape_text(in_shape)}; face crops are square (N, S, S, 3)",
            path,
        )
    out_shapes = [_shape_text(tuple(o.shape)) for o in outputs]
    if len(outputs) != 1 or tuple(outputs[0].shape)[1:] != (columns,):
        need = "one sigmoid probability per crop, shape (N, 1)"
        if columns != 1:
            need = f"the probability and its track head part per crop, shape (N, {columns})"
        raise ModelError(f"model output shape is {', '.join(out_shapes)}; need {need}", path)
    last = model.layers[-1] if model.layers else None
    activation = getattr(last, "activation", None)
    activation_name = getattr(activation, "__name__", "")
    if last is not None and activation_name and activation_name not in ("sigmoid", "hard_sigmoid"):
        raise ModelError(
            f"model's last layer {last.name!r} has activation {activation_name!r}; need a "
            "sigmoid so the output is a probability",
            path,
        )
    return height


def _verify_sha(spec: ModelSpec, weights_path: Path, spec_path: Path) -> str:
    """The weights' identity (`ModelSpec.weights_identity`), after checking the weights file's
    sha256 against the spec's, and the base file's (if any)."""
    sha = sha256_of(weights_path)
    pairs = [(weights_path, sha, spec.weights_sha256)]
    if spec.weights_base:
        base = weights_path.parent / spec.weights_base
        if not base.is_file():
            raise ModelError(f"base weights file {spec.weights_base!r} not found", spec_path)
        pairs.append((base, sha256_of(base), spec.weights_base_sha256))
    for path, got, expected in pairs:
        if expected and expected.lower() != got:
            raise ModelError(
                f"weights file {path.name!r} has sha256 {got[:16]}..., but the spec expects "
                f"{expected[:16]}...: the weights changed or the spec belongs to another file",
                spec_path,
            )
    return spec.weights_identity(sha)


def _classifier(
    model: keras.Model, spec: ModelSpec, sha: str, path: Path, batch_size: int
) -> KerasClassifier:
    size = check_model_io(model, path, architecture_columns(spec.architecture))
    if size is not None and size != spec.input_size:
        raise ModelError(
            f"the spec says input_size {spec.input_size} but the model takes {size}x{size} crops",
            path,
        )
    return KerasClassifier(model, spec, sha, batch_size=batch_size)


def load_from_spec(
    spec_path: Path,
    trust_model: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    runtime: str = "auto",
    build_runtime: bool = False,
) -> Classifier:
    """The classifier a `.spec.json` describes; its weights file lies beside it.

    `runtime` "auto" uses a LiteRT copy when there is one (named by the spec's `runtime_files`,
    or cached from its weights: `runtime_cache`), "keras" always the Keras model (Grad-CAM
    needs it), "litert" requires the copy. `build_runtime` builds a missing copy into the cache
    first (the shipped default model does; Keras runs when it cannot be built). A residual
    model (models/residual.py) has no network: it runs in numpy whatever `runtime` says; a
    face-mesh model (models/mesh_probe.py) runs the shipped face mesh on LiteRT.
    """
    spec_path = Path(spec_path)
    spec = ModelSpec.load(spec_path)
    if spec.weights_format == BLEND_FORMAT:
        return load_blend(
            spec,
            spec_path,
            lambda member: load_from_spec(
                member, trust_model, batch_size, runtime, build_runtime=build_runtime
            ),
        )
    if spec.weights_format == RESIDUAL_FORMAT:
        return load_residual(spec, spec_path)
    if spec.weights_format == MESH_FORMAT:
        return load_mesh_probe(spec, spec_path)
    from deepfake_analyzer.models.runtime_cache import fast_classifier

    fast = fast_classifier(
        spec, spec_path, runtime, batch_size, trust_model=trust_model, build=build_runtime
    )
    if fast is not None:
        return fast
    return _keras_from_spec(spec, spec_path, trust_model, batch_size)


def load_keras_from_spec(
    spec_path: Path, trust_model: bool = False, batch_size: int = DEFAULT_BATCH_SIZE
) -> KerasClassifier:
    """The Keras classifier a `.spec.json` describes, never its LiteRT copy (what
    `load_from_spec(runtime="keras")` gives; Grad-CAM and conversion need the Keras model)."""
    spec_path = Path(spec_path)
    return _keras_from_spec(ModelSpec.load(spec_path), spec_path, trust_model, batch_size)


def _keras_from_spec(
    spec: ModelSpec, spec_path: Path, trust_model: bool, batch_size: int
) -> KerasClassifier:
    if not spec.weights_file:
        raise ModelError("the model spec names no weights_file", spec_path)
    weights_path = spec_path.parent / spec.weights_file
    if not weights_path.is_file():
        raise ModelError(
            f"weights file {spec.weights_file!r} named by the spec not found", spec_path
        )
    if spec.weights_format in WITHOUT_KERAS_MODEL:
        raise ModelError(WITHOUT_KERAS_MODEL[spec.weights_format], spec_path)
    loader = WEIGHTS_FORMATS.get(spec.weights_format)
    if loader is None:
        known = ", ".join(sorted(WEIGHTS_FORMATS))
        raise ModelError(
            f"unknown weights_format {spec.weights_format!r}; known: {known}", spec_path
        )
    sha = _verify_sha(spec, weights_path, spec_path)
    model = loader(spec, weights_path, trust_model)
    return _classifier(model, spec, sha, weights_path, batch_size)


def load_user_model(
    path: Path, trust_model: bool = False, batch_size: int = DEFAULT_BATCH_SIZE
) -> KerasClassifier:
    """A user's `.keras` / `.h5` model, with the spec beside it or seed-style defaults."""
    path = Path(path)
    spec_path = spec_path_for(path)
    spec: ModelSpec | None = None
    if spec_path.is_file():
        spec = ModelSpec.load(spec_path)
        if spec.weights_file and spec.weights_file != path.name:
            raise ModelError(
                f"the spec beside this model, {spec_path.name!r}, describes {spec.weights_file!r}: "
                "pass that spec instead, or fix its weights_file",
                path,
            )
        if spec.weights_format != KERAS_MODEL_FORMAT:
            raise ModelError(
                f"the spec beside this model has weights_format {spec.weights_format!r}: pass "
                f"the spec itself ({spec_path.name})",
                path,
            )
        sha = _verify_sha(spec, path, spec_path)
    else:
        sha = sha256_of(path)
    model = load_keras_model_file(path, trust_model)
    if spec is None:
        size = check_model_io(model, path) or SEED_STYLE_SPEC.input_size
        spec = replace(
            SEED_STYLE_SPEC,
            name=path.stem,
            input_size=size,
            weights_file=path.name,
            weights_sha256=sha,
            weights_format=KERAS_MODEL_FORMAT,
        )
    return _classifier(model, spec, sha, path, batch_size)


def load_default(batch_size: int = DEFAULT_BATCH_SIZE, runtime: str = "auto") -> Classifier:
    """The shipped model at `paths.DEFAULT_CLASSIFIER_SPEC`, or ModelNotInstalledError.

    Its LiteRT copy is built into the user cache on first use when the spec names none."""
    spec_path = paths.DEFAULT_CLASSIFIER_SPEC
    if not spec_path.is_file():
        raise ModelNotInstalledError(NO_DEFAULT_MODEL_HINT, option="model_path")
    spec = ModelSpec.load(spec_path)
    if not spec.weights_file or not (spec_path.parent / spec.weights_file).is_file():
        raise ModelNotInstalledError(
            f"the default model's weights file {spec.weights_file!r} is missing from "
            f"{spec_path.parent}; {NO_DEFAULT_MODEL_HINT}",
            option="model_path",
        )
    return load_from_spec(
        spec_path, trust_model=False, batch_size=batch_size, runtime=runtime, build_runtime=True
    )


def load_classifier(
    model_path: str | Path | None,
    trust_model: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    runtime: str = "auto",
) -> Classifier:
    """The classifier for `--model PATH` (a `.spec.json`, `.keras` or `.h5`), or the default.

    `runtime` applies to specs (see `load_from_spec`); a bare Keras file always runs on Keras.

    Raises ModelNotInstalledError when `model_path` is None and no default model ships,
    UnsafeModelError when the file holds code and `trust_model` is False, and ModelError for
    anything else that stops the model from loading (missing, corrupt, wrong shapes).
    Every model runs a probe batch first: ModelOutputError when its scores are not
    probabilities (NaN or inf weights).
    """
    classifier = _load_classifier(model_path, trust_model, batch_size, runtime)
    probe_classifier(classifier, "the default model" if model_path is None else str(model_path))
    return classifier


def _load_classifier(
    model_path: str | Path | None, trust_model: bool, batch_size: int, runtime: str
) -> Classifier:
    if model_path is None:
        return load_default(batch_size, runtime)
    path = Path(model_path).expanduser()
    if not path.exists():
        raise ModelError("model file not found", path)
    if path.is_dir():
        raise ModelError("is a folder: pass a .keras, .h5 or .spec.json file", path)
    if path.name.endswith(SPEC_SUFFIX):
        return load_from_spec(path, trust_model, batch_size, runtime)
    suffix = path.suffix.lower()
    if suffix in KERAS_SUFFIXES + H5_SUFFIXES:
        return load_user_model(path, trust_model, batch_size)
    if suffix == ".npz":
        raise ModelError(
            "an .npz holds weights only: pass the .spec.json beside it "
            f"({spec_path_for(path).name})",
            path,
        )
    raise ModelError(
        f"unsupported model file type {suffix or '(none)'!r}: give a .keras or .h5 Keras model, "
        "or a .spec.json",
        path,
    )
