"""Grad-CAM on tiny conv models whose evidence we know: it lights the region that drives the
fake output, and not a region that pushes the other way."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.spec import ModelSpec

keras = pytest.importorskip("keras")

from deepfake_analyzer.models.gradcam import (  # noqa: E402
    GradCam,
    explain_crops,
    find_target_layer,
    gradcam,
    heatmap_jpeg,
    overlay_heatmap,
)

pytestmark = pytest.mark.slow

SIZE = 32
WHITE = (slice(4, 12), slice(18, 26))  # drives 'fake' up
BLUE = (slice(20, 28), slice(4, 12))  # drives 'fake' down


def _image() -> np.ndarray:
    """Grey 0.4 background, a white square and a pure-blue square, in [0, 1]."""
    x = np.full((SIZE, SIZE, 3), 0.4, np.float32)
    x[WHITE] = 1.0
    x[BLUE] = (0.0, 0.0, 1.0)
    return x


def _conv_stack(inputs, head_weight: float = 4.0):
    """conv_a: channel 0 fires on white (mean > 0.7), channel 1 on blue (B - R - G > 0.3);
    last_conv: identity 1x1; GAP; Dense(1, sigmoid) with +w for white and -w for blue."""
    conv_a = keras.layers.Conv2D(2, 3, padding="same", activation="relu", name="conv_a")
    last = keras.layers.Conv2D(2, 1, activation="relu", name="last_conv")
    features = last(conv_a(inputs))
    k = np.zeros((3, 3, 3, 2), np.float32)
    k[..., 0] = 1.0 / 27.0
    k[..., 2, 1] = 1.0 / 9.0
    k[..., 0, 1] = k[..., 1, 1] = -1.0 / 9.0
    conv_a.set_weights([k, np.array([-0.7, -0.3], np.float32)])
    last.set_weights([np.eye(2, dtype=np.float32).reshape(1, 1, 2, 2), np.zeros(2, np.float32)])
    return features


def _head(features, head_weight: float):
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    dense = keras.layers.Dense(1, activation="sigmoid", name="head_dense")
    out = dense(pooled)
    dense.set_weights([np.array([[head_weight], [-head_weight]], np.float32), np.zeros(1)])
    return out


def flat_model(head_weight: float = 4.0) -> keras.Model:
    inputs = keras.Input((SIZE, SIZE, 3))
    return keras.Model(inputs, _head(_conv_stack(inputs), head_weight))


def nested_model() -> keras.Model:
    inner_in = keras.Input((SIZE, SIZE, 3))
    base = keras.Model(inner_in, _conv_stack(inner_in), name="base")
    inputs = keras.Input((SIZE, SIZE, 3))
    return keras.Model(inputs, _head(base(inputs), 4.0))


def _assert_lights_white_not_blue(heat: np.ndarray) -> None:
    assert heat.shape == (SIZE, SIZE)
    assert heat.min() >= 0.0 and heat.max() == pytest.approx(1.0)
    assert heat[WHITE].mean() > 0.5
    assert heat[BLUE].mean() < 0.05
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    assert 4 <= peak[0] < 12 and 18 <= peak[1] < 26


def test_finds_the_last_4d_layer() -> None:
    assert find_target_layer(flat_model()) == "last_conv"
    assert find_target_layer(nested_model()) == "last_conv"


def test_heatmap_highlights_the_region_that_raises_the_fake_score() -> None:
    model = flat_model()
    x = np.stack([_image(), np.full((SIZE, SIZE, 3), 0.4, np.float32)])
    heat = gradcam(model, x)
    assert heat.shape == (2, SIZE, SIZE) and heat.dtype == np.float32
    _assert_lights_white_not_blue(heat[0])
    assert np.all(heat[1] == 0.0)  # no evidence at all -> an empty map, not noise scaled up


def test_saturated_outputs_still_explain_through_the_logit() -> None:
    model = flat_model(head_weight=2000.0)
    white_only = np.full((SIZE, SIZE, 3), 0.4, np.float32)
    white_only[WHITE] = 1.0
    assert float(model(white_only[None])[0, 0]) == 1.0  # the sigmoid is flat here
    _assert_lights_white_not_blue(gradcam(model, white_only[None])[0])


def test_nested_base_model_is_followed() -> None:
    _assert_lights_white_not_blue(gradcam(nested_model(), _image()[None])[0])


def test_unknown_layer_and_no_conv_layer_raise() -> None:
    with pytest.raises(ModelError, match="no layer named"):
        gradcam(flat_model(), _image()[None], layer_name="nope")
    inputs = keras.Input((4,))
    dense_only = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(inputs))
    with pytest.raises(ModelError, match="no convolutional layer"):
        find_target_layer(dense_only)


def test_explain_crops_uses_the_spec_and_needs_a_keras_model() -> None:
    class Wrapped:
        model = flat_model()
        spec = ModelSpec(name="tiny", input_size=SIZE, scaling="unit")

    crops = np.rint(_image() * 255).astype(np.uint8)[None]
    heat = explain_crops(Wrapped(), crops)
    _assert_lights_white_not_blue(heat[0])

    class NoModel:
        spec = ModelSpec(name="x", input_size=SIZE)

    with pytest.raises(ModelError, match="need a Keras model"):
        explain_crops(NoModel(), crops)


def test_overlay_is_rgb_uint8_and_resizes_the_heatmap() -> None:
    crop = np.full((40, 40, 3), 100, np.uint8)
    heat = np.zeros((10, 10), np.float32)
    heat[:5, :5] = 1.0
    out = overlay_heatmap(crop, heat, alpha=0.5)
    assert out.shape == (40, 40, 3) and out.dtype == np.uint8
    # JET: 1.0 is red, 0.0 is blue
    assert out[2, 2, 0] > out[2, 2, 2]
    assert out[38, 38, 2] > out[38, 38, 0]
    assert heatmap_jpeg(crop, heat)[:2] == b"\xff\xd8"
    with pytest.raises(ValueError, match="uint8"):
        overlay_heatmap(crop.astype(np.float32), heat)


def test_xception_uses_its_last_separable_conv_block() -> None:
    from deepfake_analyzer.models.xception import build_xception

    model = build_xception(71)
    assert find_target_layer(model) == "block14_sepconv2_act"
    heat = gradcam(model, np.random.default_rng(0).random((2, 71, 71, 3), dtype=np.float32))
    assert heat.shape == (2, 71, 71)
    assert heat.min() >= 0.0 and heat.max() <= 1.0


def test_one_gradcam_explains_batches_of_any_size() -> None:
    explainer = GradCam(flat_model(), batch_size=2)
    assert explainer.layer_name == "last_conv"
    three = explainer(np.stack([_image()] * 3))
    one = explainer(_image()[None])
    np.testing.assert_allclose(three[2], one[0], atol=1e-5)
    assert explainer(np.zeros((0, SIZE, SIZE, 3), np.float32)).shape == (0, SIZE, SIZE)


def test_a_texture_model_is_explained_through_its_own_graph() -> None:
    from deepfake_analyzer.models.gradcam import _Explainer
    from deepfake_analyzer.models.texture import (
        REGIONS,
        build_texture_classifier,
        cam_graph,
        set_probe,
    )

    model = build_texture_classifier(64)
    size = int(model.get_layer("texture_probe").kernel.shape[0])
    rng = np.random.default_rng(0)
    set_probe(model, rng.normal(size=size), rng.uniform(0.5, 2, size), rng.normal(size=size), 0.3)
    x = rng.uniform(0, 1, (3, 64, 64, 3)).astype(np.float32)
    features, logit = _Explainer(model, find_target_layer(model))(x)
    expected = np.asarray(model(x, training=False)).reshape(-1)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit.numpy())), expected, atol=1e-5)
    assert features.shape[0] == 3 and len(features.shape) == 4  # the last tapped block's
    heatmaps = GradCam(model)(x)
    assert heatmaps.shape == (3, 64, 64)
    assert heatmaps.min() >= 0 and heatmaps.max() <= 1 and heatmaps.max() > 0
    with pytest.raises(ModelError, match="whole crop"):
        cam_graph(build_texture_classifier(64, REGIONS["mouth"]))
