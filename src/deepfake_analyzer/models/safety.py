"""Read a Keras model file's architecture JSON and find code in it, before anything is built.

A `.keras` file is a zip holding `config.json`; a legacy `.h5` holds the same JSON in its
`model_config` attribute. Loading either can run code from the file: a Lambda layer stores
Python bytecode, and a custom class or function names a module to import. Both are found
here from the JSON alone, so an untrusted file is refused without deserializing it.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deepfake_analyzer.errors import ModelError, UnsafeModelError
from deepfake_analyzer.text import first_line

KERAS_SUFFIXES = (".keras",)
H5_SUFFIXES = (".h5", ".hdf5")
_TF1_OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})
_MODEL_CLASSES = frozenset({"Functional", "Sequential", "Model"})


@dataclass(frozen=True)
class CodeFinding:
    """One place in a model's config that would run or import code when loaded."""

    kind: str  # "Lambda layer" | "custom object" | "custom function"
    name: str
    module: str = ""

    def describe(self) -> str:
        where = f" from module '{self.module}'" if self.module else ""
        return f"{self.kind} '{self.name}'{where}"


def read_model_config(path: Path) -> dict[str, Any]:
    """The architecture JSON of a `.keras` or `.h5` model file, without deserializing it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in KERAS_SUFFIXES:
        raw = _read_keras_zip_config(path)
    elif suffix in H5_SUFFIXES:
        raw = _read_h5_config(path)
    else:
        raise ModelError(
            f"unsupported model file type {suffix or '(none)'!r}: give a .keras or .h5 Keras "
            "model, or a .spec.json",
            path,
        )
    try:
        config = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"model config is not valid JSON ({first_line(exc)})", path) from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelError("model config has no class_name: not a saved Keras model", path)
    return config


def _read_keras_zip_config(path: Path) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ModelError("the .keras file has no config.json: not a Keras model", path)
            return archive.read("config.json")
    except zipfile.BadZipFile:
        raise ModelError("not a valid .keras file (corrupt or not a zip archive)", path) from None
    except OSError as exc:
        raise ModelError(f"cannot read model file: {first_line(exc)}", path) from None


def _read_h5_config(path: Path) -> bytes:
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            raw = handle.attrs.get("model_config")
    except OSError:
        raise ModelError("not a valid .h5 file (corrupt or not HDF5)", path) from None
    if raw is None:
        raise ModelError(
            "this .h5 file holds weights only, no architecture: save the full model with "
            "model.save(), or give a .spec.json naming its architecture",
            path,
        )
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def _walk(node: Any, in_layer_list: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every dict in the config, with whether it is an entry of a `layers` list."""
    if isinstance(node, dict):
        yield node, in_layer_list
        for key, value in node.items():
            if key == "layers" and isinstance(value, list):
                for item in value:
                    yield from _walk(item, in_layer_list=True)
            else:
                yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _is_keras_module(module: str) -> bool:
    return module == "keras" or module.startswith("keras.")


def find_code(config: dict[str, Any], known_layers: frozenset[str]) -> list[CodeFinding]:
    """Lambda layers and non-Keras classes or functions named in a model config.

    `known_layers` are the Keras layer class names; in legacy configs (no `module` keys) a
    layer whose class is not among them must be a custom object.
    """
    findings: list[CodeFinding] = []
    for node, is_layer in _walk(config):
        class_name = node.get("class_name")
        if not isinstance(class_name, str):
            continue
        inner = node.get("config")
        name = inner.get("name", class_name) if isinstance(inner, dict) else class_name
        module = node.get("module")
        if class_name == "Lambda":
            findings.append(CodeFinding("Lambda layer", str(name)))
        elif class_name == "__lambda__":
            continue  # the function inside a Lambda layer, already reported
        elif isinstance(module, str) and not _is_keras_module(module):
            kind = "custom function" if class_name == "function" else "custom object"
            label = inner if kind == "custom function" and isinstance(inner, str) else class_name
            findings.append(CodeFinding(kind, str(label), module))
        elif is_layer and module is None and class_name not in known_layers | _MODEL_CLASSES:
            findings.append(CodeFinding("custom object", class_name))
    return findings


def known_keras_layers() -> frozenset[str]:
    import keras

    return frozenset(name for name in dir(keras.layers) if not name.startswith("_"))


def check_model_file(path: Path, trust_model: bool) -> dict[str, Any]:
    """Read `path`'s config; refuse it when it holds code and `trust_model` is False."""
    config = read_model_config(path)
    tf1_ops = sorted(
        {
            node["class_name"]
            for node, _ in _walk(config)
            if node.get("class_name") in _TF1_OP_LAYERS
        }
    )
    if tf1_ops:
        raise ModelError(
            f"model uses {', '.join(tf1_ops)} layers from tf.keras 2, which Keras 3 cannot "
            "load: rebuild the model without raw TensorFlow ops, or re-save it with Keras 3",
            path,
        )
    if trust_model:
        return config
    findings = find_code(config, known_keras_layers())
    if findings:
        more = f" and {len(findings) - 1} more" if len(findings) > 1 else ""
        raise UnsafeModelError(
            f"model contains code ({findings[0].describe()}{more}); load it only if you trust "
            "it: `trust_model`",
            path,
            option="trust_model",
        )
    return config
