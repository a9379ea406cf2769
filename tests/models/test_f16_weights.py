"""Tests for half-precision weights files: round trip, safety, and mismatch errors."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.f16_weights import (
    load_weights_f16,
    read_weights_f16,
    save_weights_f16,
)

pytestmark = pytest.mark.slow


def test_round_trip_keeps_outputs_within_half_precision(
    tiny_model, make_tiny, bright_dark, tmp_path
):
    path = save_weights_f16(tiny_model, tmp_path / "tiny.npz")
    names, arrays = read_weights_f16(path)
    assert names == [w.path for w in tiny_model.weights]
    kernel, bias = arrays[0], arrays[1]
    assert kernel.dtype == np.float16 and kernel.ndim == 4
    assert bias.dtype == np.float32  # 1-D arrays stay float32
    copy = make_tiny()  # built later in the process: Keras numbers its layers differently
    load_weights_f16(copy, path)
    x = bright_dark[0] / 255.0
    expected = np.asarray(tiny_model(x, training=False))
    got = np.asarray(copy(x, training=False))
    assert np.max(np.abs(expected - got)) < 5e-3
    assert not np.allclose(np.asarray(make_tiny()(x, training=False)), expected, atol=5e-3)


def test_values_beyond_float16_stay_float32(make_tiny, tmp_path):
    model = make_tiny()
    kernel = model.weights[0]
    kernel.assign(np.full(kernel.shape, 1e6, dtype=np.float32))
    _, arrays = read_weights_f16(save_weights_f16(model, tmp_path / "big.npz"))
    assert arrays[0].dtype == np.float32
    assert np.all(arrays[0] == 1e6)


def test_file_is_loaded_without_pickle(tiny_model, tmp_path):
    path = save_weights_f16(tiny_model, tmp_path / "tiny.npz")
    with np.load(path, allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)


def test_extra_layer_is_a_model_error(tiny_model, make_tiny, tmp_path):
    import keras

    path = save_weights_f16(tiny_model, tmp_path / "tiny.npz")

    def deeper_head(t):
        hidden = keras.layers.Dense(3, name="extra")(t)
        return keras.layers.Dense(1, activation="sigmoid", name="out")(hidden)

    with pytest.raises(ModelError, match="has 4 arrays but the model has 6 weights"):
        load_weights_f16(make_tiny(head=deeper_head), path)


def test_wrong_shape_is_a_model_error(tiny_model, tmp_path):
    import keras

    path = save_weights_f16(tiny_model, tmp_path / "tiny.npz")
    inputs = keras.Input((48, 48, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    wider = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="out")(x))
    with pytest.raises(ModelError, match="does not match"):
        load_weights_f16(wider, path)


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04garbage"])
def test_corrupt_file_is_a_model_error(tiny_model, tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ModelError, match="corrupt|format tag"):
        load_weights_f16(tiny_model, path)


def test_npz_without_format_tag_is_refused(tiny_model, tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ModelError, match="format tag"):
        read_weights_f16(path)


def test_name_must_end_in_npz(tiny_model, tmp_path):
    with pytest.raises(ValueError, match=".npz"):
        save_weights_f16(tiny_model, tmp_path / "tiny.bin")


def test_a_file_against_a_base_holds_only_what_differs_and_loads_whole(
    tiny_model, make_tiny, bright_dark, tmp_path
):
    base = save_weights_f16(tiny_model, tmp_path / "base.npz")
    changed = make_tiny()
    load_weights_f16(changed, base)
    head = changed.weights[-1]  # the output bias: one array differs from the base
    head.assign(head.numpy() + 0.5)
    small = save_weights_f16(changed, tmp_path / "small.npz", base)
    names, arrays = read_weights_f16(small)
    assert names == [head.path] and len(arrays) == 1
    copy = make_tiny()
    load_weights_f16(copy, small, base)
    x = bright_dark[0] / 255.0
    np.testing.assert_allclose(copy(x, training=False), changed(x, training=False), atol=1e-6)
    with pytest.raises(ModelError, match="has 1 arrays but the model has 4 weights"):
        load_weights_f16(copy, small)  # the file alone is not a model


def test_a_base_that_does_not_fit_or_a_foreign_array_is_a_model_error(
    tiny_model, make_tiny, tmp_path
):
    import keras

    base = save_weights_f16(tiny_model, tmp_path / "base.npz")

    def other_head(t):
        return keras.layers.Dense(1, activation="sigmoid", name="elsewhere")(t)

    other = make_tiny(head=other_head)
    with pytest.raises(ModelError, match="does not match"):
        save_weights_f16(other, tmp_path / "x.npz", base)
    foreign = save_weights_f16(other, tmp_path / "foreign.npz")
    with pytest.raises(ModelError, match="is not one of the model's"):
        load_weights_f16(make_tiny(), foreign, base)
