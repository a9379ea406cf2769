"""Half-precision weights files: a plain `.npz` of arrays, loaded without pickle.

Xception has ~21M parameters: 84 MB in float32, over the 50 MB budget for a shipped file.
Here kernels are stored as float16 (~42 MB); small 0/1-D arrays (biases, batch-norm
statistics) and any array float16 cannot represent stay float32. The file holds no code:
it is read with `allow_pickle=False`, so loading one is safe whatever its origin.

A file may be written against a base file (`save_weights_f16(..., base=)`): it then holds only
the arrays that differ from the base's, and loading reads the rest from the base. The texture
models (models/texture.py) share one frozen ImageNet backbone this way: a new probe adds a few
kilobytes to the repository, not another copy of the backbone. Arrays are matched by name, and
a model may have weights its base lacks (a texture model with a track head on a base without
one): the file then holds them.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepfake_analyzer.errors import ModelError

if TYPE_CHECKING:
    import keras

F16_NPZ_FORMAT = "f16-npz"
"""The `weights_format` of a spec whose weights file was written by `save_weights_f16`."""

FORMAT_TAG = "deepfake-analyzer-f16-npz-v1"
_FLOAT16_MAX = float(np.finfo(np.float16).max)


def _structural(path: str) -> str:
    """`conv2d_3/kernel` -> `conv2d/kernel`: Keras numbers unnamed layers per process, so
    the same architecture built twice in one process gets different layer names."""
    layer, _, variable = path.rpartition("/")
    return f"{re.sub(r'_[0-9]+$', '', layer)}/{variable}"


def _key(index: int) -> str:
    return f"w{index:05d}"


def _storage_array(value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=np.float32)
    if value.ndim <= 1 or not np.all(np.isfinite(value)):
        return value
    if np.abs(value).max(initial=0.0) > _FLOAT16_MAX:
        return value
    return value.astype(np.float16)


def save_weights_f16(model: keras.Model, path: Path | str, base: Path | str | None = None) -> Path:
    """Write every weight of `model` (in `model.weights` order) to `path` (an `.npz`); with a
    `base` file (which must fit `model`), only those whose stored array differs from the
    base's.

    Returns the path written (numpy adds `.npz` when missing, so pass a name ending in it).
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"weights file name must end in .npz, got {path.name!r}")
    stored = [_storage_array(np.asarray(w.numpy())) for w in model.weights]
    kept = list(range(len(stored)))
    if base is not None:
        base_arrays = _base_arrays(model, Path(base))
        kept = [
            i for i, (a, b) in enumerate(zip(stored, base_arrays, strict=True))
            if b is None or a.dtype != b.dtype or not np.array_equal(a, b)
        ]  # fmt: skip
    arrays: dict[str, np.ndarray] = {
        "__format__": np.array(FORMAT_TAG),
        "__paths__": np.array([model.weights[i].path for i in kept], dtype=np.str_),
    }
    for index, i in enumerate(kept):
        arrays[_key(index)] = stored[i]
    with open(path, "wb") as handle:
        np.savez(handle, allow_pickle=True, **arrays)  # numpy's default, named for the types
    return path


def read_weights_f16(path: Path | str) -> tuple[list[str], list[np.ndarray]]:
    """The weight paths and arrays (as stored: float16 or float32) of an f16 `.npz` file."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "__format__" not in data.files or str(data["__format__"]) != FORMAT_TAG:
                raise ModelError(
                    "not a deepfake-analyzer f16 weights file (missing format tag)", path
                )
            paths = [str(p) for p in data["__paths__"]]
            arrays = [data[_key(i)] for i in range(len(paths))]
    except ModelError:
        raise
    except FileNotFoundError:
        raise ModelError("weights file not found", path) from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"weights file is corrupt or not an .npz: {message}", path) from None
    return paths, arrays


def load_weights_f16(model: keras.Model, path: Path | str, base: Path | str | None = None) -> None:
    """Assign the weights in `path` to `model`; the count, names and shapes must all match.
    With a `base` file, it holds all those it has and `path` replaces or adds those it names
    (module docstring)."""
    if base is None:
        _, whole = _matched(model, *read_weights_f16(path), Path(path))
        arrays: list[np.ndarray | None] = list(whole)
    else:
        arrays = _base_arrays(model, Path(base))
        where = {_structural(w.path): i for i, w in enumerate(model.weights)}
        for stored_path, array in zip(*read_weights_f16(path), strict=True):
            i = where.get(_structural(stored_path), -1)
            if i < 0 or tuple(array.shape) != tuple(model.weights[i].shape):
                raise ModelError(
                    f"weight {stored_path!r} {tuple(array.shape)} is not one of the model's",
                    path,
                )
            arrays[i] = array
        missing = [w.path for w, a in zip(model.weights, arrays, strict=True) if a is None]
        if missing:
            raise ModelError(
                f"weight {missing[0]!r} is in neither the weights file nor its base", path
            )
    for value, weight in zip(arrays, model.weights, strict=True):
        assert value is not None  # every weight was found above
        weight.assign(value.astype(weight.dtype))


def _base_arrays(model: keras.Model, base: Path) -> list[np.ndarray | None]:
    """The base file's array for each of `model`'s weights, matched by name; None for a weight
    the base lacks (a head the model adds). ModelError when the base has a weight the model
    lacks, a shape differs, or the model's weight names are not unique."""
    paths, arrays = read_weights_f16(base)
    stored = {_structural(p): a for p, a in zip(paths, arrays, strict=True)}
    names = [_structural(w.path) for w in model.weights]
    if len(set(names)) != len(names) or len(stored) != len(paths):
        raise ModelError("the model's weight names are not unique: it cannot use a base", base)
    extra = sorted(set(stored) - set(names))
    if extra:
        raise ModelError(
            f"base weights file has {len(extra)} weights the model lacks (e.g. {extra[0]!r}): "
            "the spec's architecture does not match it",
            base,
        )
    found: list[np.ndarray | None] = []
    for name, weight in zip(names, model.weights, strict=True):
        array = stored.get(name)
        if array is not None and tuple(array.shape) != tuple(weight.shape):
            raise ModelError(
                f"weight {name!r} {tuple(array.shape)} does not match the model's "
                f"{tuple(weight.shape)}: the spec's architecture does not match it",
                base,
            )
        found.append(array)
    return found


def _matched(
    model: keras.Model, paths: list[str], arrays: list[np.ndarray], path: Path
) -> tuple[list[str], list[np.ndarray]]:
    """`paths` and `arrays` (read from `path`), checked to be all of `model`'s weights."""
    weights = model.weights
    if len(paths) != len(weights):
        raise ModelError(
            f"weights file has {len(paths)} arrays but the model has {len(weights)} weights: "
            "the spec's architecture or input size does not match these weights",
            path,
        )
    for stored_path, array, weight in zip(paths, arrays, weights, strict=True):
        same_name = _structural(stored_path) == _structural(weight.path)
        if not same_name or tuple(array.shape) != tuple(weight.shape):
            raise ModelError(
                f"weight {stored_path!r} {tuple(array.shape)} does not match the model's "
                f"{weight.path!r} {tuple(weight.shape)}: the spec's architecture does not "
                "match these weights",
                path,
            )
    return paths, arrays
