"""Grad-CAM on LiteRT equals Grad-CAM through Keras for a GAP + Dense(1) head, without TF."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError

keras = pytest.importorskip("keras")

from test_gradcam import SIZE, _assert_lights_white_not_blue, _image, flat_model  # noqa: E402

from deepfake_analyzer.models.convert import convert_to_tflite  # noqa: E402
from deepfake_analyzer.models.gradcam import GradCam  # noqa: E402
from deepfake_analyzer.models.litert_cam import LiteRTGradCam, activation_model  # noqa: E402

pytestmark = [pytest.mark.real_models, pytest.mark.slow]  # converts with TensorFlow


@pytest.mark.parametrize("weights_dtype", ["float32", "float16"])
def test_litert_cam_matches_keras_gradcam(tmp_path: Path, weights_dtype: str) -> None:
    model = flat_model()
    tflite = convert_to_tflite(model, tmp_path / "tiny.tflite", weights_dtype, max_bytes=None)
    rng = np.random.default_rng(0)
    crops = np.stack([_image(), *rng.random((4, SIZE, SIZE, 3), dtype=np.float32)])
    expected = GradCam(model)(crops)
    got = LiteRTGradCam(tflite, batch_size=3)(crops)  # two batches of different sizes
    assert got.shape == expected.shape == (5, SIZE, SIZE)
    np.testing.assert_allclose(got, expected, atol=2e-2)
    _assert_lights_white_not_blue(got[0])


def test_a_head_that_is_not_gap_and_dense_is_refused(tmp_path: Path) -> None:
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(2, 3, activation="relu")(inputs)
    out = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Flatten()(x))
    tflite = convert_to_tflite(keras.Model(inputs, out), tmp_path / "flat.tflite", max_bytes=None)
    with pytest.raises(ModelError, match="global average pool"):
        activation_model(tflite.read_bytes())
