"""Grad-CAM heatmaps (Selvaraju et al., ICCV 2017) for a Keras classifier, and overlays.

The heatmap of a crop is ReLU(sum_k w_k A_k) over the channels A_k of the last 4D activation
(`block14_sepconv2_act` in Xception, or found automatically), with w_k the spatial mean of the
gradient of the fake *logit* with respect to A_k. The logit, not the probability, is used when
the model ends in a one-unit sigmoid Dense layer, so confident crops (p near 1, where the
sigmoid's gradient vanishes) still get a heatmap. Heatmaps are upsampled to the input size and
scaled to [0, 1] per crop; a crop with no positive evidence gets an all-zero map. A texture
model (models/texture.py) of the whole crop is read through its own graph (`texture.cam_graph`):
the last tapped EfficientNet block and the probe's logit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.media.types import require_rgb_uint8
from deepfake_analyzer.models import texture

if TYPE_CHECKING:
    import keras

XCEPTION_TARGET_LAYER = "block14_sepconv2_act"
DEFAULT_BATCH_SIZE = 8


def _is_4d(layer: Any) -> bool:
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError):  # layers with several outputs or never called
        return False
    return len(shape) == 4


def _sub_models(model: keras.Model) -> list[keras.Model]:
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


def find_target_layer(model: keras.Model) -> str:
    """Name of the layer Grad-CAM reads: `block14_sepconv2_act` if present, else the last
    layer with a 4D (N, H, W, C) output, looking inside one level of nested models."""
    candidates = [model, *_sub_models(model)]
    for container in candidates:
        try:
            container.get_layer(XCEPTION_TARGET_LAYER)
            return XCEPTION_TARGET_LAYER
        except ValueError:
            pass
    for layer in reversed(model.layers):
        import keras

        if isinstance(layer, keras.Model):
            inner = [sub for sub in reversed(layer.layers) if _is_4d(sub)]
            if inner:
                inner_name: str = inner[0].name
                return inner_name
        elif _is_4d(layer) and not isinstance(layer, keras.layers.InputLayer):
            name: str = layer.name
            return name
    raise ModelError(
        "Grad-CAM found no convolutional layer (no 4D activation) in the model; "
        "pass layer_name= of a convolutional layer"
    )


def _sigmoid_dense_head(model: keras.Model) -> Any | None:
    """The model's last layer when it is Dense(1, sigmoid), else None."""
    import keras

    last = model.layers[-1] if model.layers else None
    if (
        isinstance(last, keras.layers.Dense)
        and last.units == 1
        and getattr(last.activation, "__name__", "") == "sigmoid"
    ):
        return last
    return None


class _Explainer:
    """Runs the model up to the target layer and on to the fake logit, under a GradientTape."""

    def __init__(self, model: keras.Model, layer_name: str) -> None:
        import keras

        self.head = _sigmoid_dense_head(model)
        self.model = model
        self.nested: keras.Model | None = None
        self.chain_before: list[Any] = []
        self.chain_after: list[Any] = []
        if texture.is_texture_model(model):  # its graph ends in the probe's logit
            self.head = None
            self.graph = texture.cam_graph(model)
            return
        try:
            target = model.get_layer(layer_name)
            end = self.head.input if self.head is not None else model.output
            self.graph = keras.Model(model.inputs, [target.output, end])
            return
        except ValueError:
            pass
        for sub in _sub_models(model):
            try:
                target = sub.get_layer(layer_name)
            except ValueError:
                continue
            self.nested = sub
            self.graph = keras.Model(sub.inputs, [target.output, sub.output])
            layers = [la for la in model.layers if not isinstance(la, keras.layers.InputLayer)]
            at = layers.index(sub)
            self.chain_before = layers[:at]
            self.chain_after = layers[at + 1 :]
            if self.head is not None:
                self.chain_after = self.chain_after[:-1]
            return
        raise ModelError(f"the model has no layer named {layer_name!r} for Grad-CAM")

    def __call__(self, x: Any) -> tuple[Any, Any]:
        """(features, fake score) for a batch; the score is a logit when a sigmoid head exists."""
        import tensorflow as tf

        if self.nested is None:
            features, end = self.graph(x, training=False)
        else:
            for layer in self.chain_before:
                x = layer(x, training=False)
            features, end = self.graph(x, training=False)
            for layer in self.chain_after:
                end = layer(end, training=False)
        end = tf.cast(end, tf.float32)
        if self.head is not None:
            kernel = tf.cast(tf.convert_to_tensor(self.head.kernel), tf.float32)
            score = tf.matmul(end, kernel)[:, 0]
            if self.head.use_bias:
                score = score + tf.cast(tf.convert_to_tensor(self.head.bias), tf.float32)[0]
        else:
            score = tf.reshape(end, (tf.shape(end)[0], -1))[:, -1]
        return features, score

    def check_chain(self, x: Any) -> None:
        """A nested model is followed as a chain of layers; refuse if that misreads the graph."""
        if self.nested is None:
            return
        _, score = self(x)
        expected = np.asarray(self.model(x, training=False), dtype=np.float64).reshape(len(x), -1)
        got = score.numpy().astype(np.float64)
        if self.head is not None:
            got = 1.0 / (1.0 + np.exp(-got))
        if not np.allclose(got, expected[:, -1], atol=1e-3):
            raise ModelError(
                "Grad-CAM cannot follow this model's graph around its nested sub-model; pass "
                "layer_name= of a layer in the outer model"
            )


class GradCam:
    """Grad-CAM for one model, its gradient pass traced once as a `tf.function`.

    Keep one per loaded model to explain many batches (the trace costs about one extra
    forward-backward pass; eager mode is 4-8x slower per batch on our CPUs).
    """

    def __init__(
        self,
        model: keras.Model,
        layer_name: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        import tensorflow as tf

        self.layer_name = layer_name or find_target_layer(model)
        self.batch_size = batch_size
        self._explainer = _Explainer(model, self.layer_name)
        self._checked = False
        shape = tuple(model.inputs[0].shape[1:])
        signature = [tf.TensorSpec((None, *shape), tf.float32)] if None not in shape else None

        def step(x: Any) -> tuple[Any, Any]:
            with tf.GradientTape() as tape:
                tape.watch(x)  # records the forward pass even when every weight is frozen
                features, score = self._explainer(x)
                total = tf.reduce_sum(score)
            grads = tape.gradient(total, features)
            if grads is None:
                raise ModelError("Grad-CAM got no gradient from the target layer to the output")
            return tf.cast(features, tf.float32), tf.cast(grads, tf.float32)

        self._step = tf.function(step, input_signature=signature, reduce_retracing=True)

    def __call__(self, crops_preprocessed: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) float crops, preprocessed as the model expects (`spec.preprocess`) ->
        (N, H, W) float32 Grad-CAM heatmaps in [0, 1] for the 'fake' output."""
        x_all = np.asarray(crops_preprocessed, dtype=np.float32)
        if x_all.ndim != 4 or x_all.shape[-1] != 3:
            raise ValueError(f"crops must be (N, H, W, 3), got {x_all.shape}")
        n, height, width = x_all.shape[:3]
        heatmaps = np.zeros((n, height, width), dtype=np.float32)
        if n == 0:
            return heatmaps
        import tensorflow as tf

        if not self._checked:
            self._explainer.check_chain(tf.constant(x_all[:1]))
            self._checked = True
        for start in range(0, n, self.batch_size):
            features, grads = self._step(tf.constant(x_all[start : start + self.batch_size]))
            feats = features.numpy()
            weights = grads.numpy().mean(axis=(1, 2))  # (B, C)
            cams = np.maximum(np.einsum("bhwc,bc->bhw", feats, weights), 0.0)
            for i, cam in enumerate(cams):
                heatmaps[start + i] = _normalise(cv2.resize(cam, (width, height)))
        return heatmaps


def gradcam(
    model: keras.Model,
    crops_preprocessed: np.ndarray,
    layer_name: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> np.ndarray:
    """(N, H, W, 3) float crops, preprocessed as the model expects (`spec.preprocess`) ->
    (N, H, W) float32 Grad-CAM heatmaps in [0, 1] for the 'fake' output (one-off `GradCam`)."""
    x = np.asarray(crops_preprocessed)
    if x.ndim == 4 and x.shape[0] == 0:
        return np.zeros(x.shape[:3], dtype=np.float32)
    return GradCam(model, layer_name, batch_size)(x)


def _normalise(cam: np.ndarray) -> np.ndarray:
    cam = np.maximum(cam.astype(np.float32), 0.0)
    peak = float(cam.max())
    return cam / peak if peak > 1e-12 else np.zeros_like(cam)


def explain_crops(
    classifier: Any, crops_rgb_uint8: np.ndarray, layer_name: str | None = None
) -> np.ndarray:
    """Grad-CAM heatmaps (N, S, S) for uint8 RGB crops scored by a Keras-backed classifier
    (one with `.model` and `.spec`, e.g. `KerasClassifier`); crops are resized to the spec's
    input size and preprocessed by the spec, exactly as `predict` does."""
    model = getattr(classifier, "model", None)
    spec = getattr(classifier, "spec", None)
    if model is None or spec is None:
        raise ModelError(
            "explanations (`explain`) need a Keras model; this classifier has none "
            "(a converted runtime cannot give gradients): load the .keras model instead",
            option="explain",
        )
    from deepfake_analyzer.models.keras_classifier import resize_crops, validate_crops

    crops = resize_crops(validate_crops(crops_rgb_uint8), spec.input_size)
    return gradcam(model, spec.preprocess(crops), layer_name=layer_name)


def overlay_heatmap(crop_rgb: np.ndarray, heatmap: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Blend a JET-coloured heatmap over an RGB uint8 crop (the heatmap is resized to fit);
    `alpha` is the heatmap's weight."""
    crop = require_rgb_uint8(crop_rgb, "overlay_heatmap")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    heat: np.ndarray = np.clip(np.asarray(heatmap, dtype=np.float32), 0.0, 1.0)
    if heat.ndim != 2:
        raise ValueError(f"heatmap must be (H, W), got {heat.shape}")
    if heat.shape != crop.shape[:2]:
        heat = cv2.resize(heat, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour_bgr = cv2.applyColorMap(np.rint(heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    colour = cv2.cvtColor(colour_bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    blended = (1.0 - alpha) * crop.astype(np.float32) + alpha * colour
    overlay: np.ndarray = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return overlay


def heatmap_jpeg(
    crop_rgb: np.ndarray, heatmap: np.ndarray, quality: int = 85, alpha: float = 0.45
) -> bytes:
    """JPEG bytes of `overlay_heatmap(crop_rgb, heatmap)`, for `Thumbnail.heatmap_jpeg`."""
    overlay = overlay_heatmap(crop_rgb, heatmap, alpha)
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR), [int(cv2.IMWRITE_JPEG_QUALITY), quality]
    )
    if not ok:
        raise ValueError("OpenCV could not JPEG-encode the heatmap overlay")
    return buf.tobytes()
