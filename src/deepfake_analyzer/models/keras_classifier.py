"""A Keras model as a `Classifier`: batched inference through one compiled `tf.function`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.options import AnalyzeOptions

if TYPE_CHECKING:
    import keras

DEFAULT_BATCH_SIZE = AnalyzeOptions.batch_size


def resize_crops(crops_rgb_uint8: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, size, size, 3) uint8; a no-op when already that size."""
    if crops_rgb_uint8.shape[1:3] == (size, size):
        return crops_rgb_uint8
    import cv2

    out = np.empty((len(crops_rgb_uint8), size, size, 3), dtype=np.uint8)
    for i, crop in enumerate(crops_rgb_uint8):
        shrinking = crop.shape[0] > size or crop.shape[1] > size
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        out[i] = cv2.resize(crop, (size, size), interpolation=interpolation)
    return out


def validate_crops(crops_rgb_uint8: np.ndarray) -> np.ndarray:
    """Check the (N, H, W, 3) uint8 contract every classifier's `predict` takes."""
    crops = np.asarray(crops_rgb_uint8)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"crops must be (N, H, W, 3) RGB, got shape {crops.shape}")
    if crops.dtype != np.uint8:
        raise ValueError(f"crops must be uint8, got {crops.dtype}")
    return crops


def predict_in_batches(
    crops_rgb_uint8: np.ndarray,
    spec: ModelSpec,
    batch_size: int,
    forward: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """The `predict` contract around a model call: validate the crops, resize them to
    `spec.input_size`, preprocess `batch_size` at a time and hand each batch to `forward`;
    the first output column of every batch, as one (N,) float32 array."""
    return outputs_in_batches(crops_rgb_uint8, spec, batch_size, forward, 1)[:, 0].copy()


def outputs_in_batches(
    crops_rgb_uint8: np.ndarray,
    spec: ModelSpec,
    batch_size: int,
    forward: Callable[[np.ndarray], np.ndarray],
    columns: int,
) -> np.ndarray:
    """`predict_in_batches`, keeping the first `columns` output columns: (N, columns)."""
    crops = validate_crops(crops_rgb_uint8)
    if len(crops) == 0:
        return np.zeros((0, columns), dtype=np.float32)
    crops = resize_crops(crops, spec.input_size)
    outputs = []
    for start in range(0, len(crops), batch_size):
        batch = spec.preprocess(crops[start : start + batch_size])
        output = np.asarray(forward(batch), dtype=np.float32).reshape(len(batch), -1)
        outputs.append(output[:, :columns].copy())
    return np.concatenate(outputs)


class KerasClassifier:
    """Scores face crops with a Keras model whose input and output follow `spec`.

    `predict` resizes crops that are not `spec.input_size` square, preprocesses them with
    `spec.preprocess`, and runs the model `batch_size` crops at a time through a
    `tf.function` traced once (no XLA: it is 5-7x slower on our CPUs).
    """

    def __init__(
        self,
        model: keras.Model,
        spec: ModelSpec,
        sha256: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        import tensorflow as tf

        self.spec = spec
        self.sha256 = sha256
        self.batch_size = batch_size
        self.model = model
        self.columns = int(model.outputs[0].shape[-1])
        size = spec.input_size
        self._forward = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32)],
            jit_compile=False,
        )

    @property
    def name(self) -> str:
        return self.spec.name

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB crops -> (N,) float32 probabilities that each is manipulated."""
        return predict_in_batches(crops_rgb_uint8, self.spec, self.batch_size, self._forward)

    def predict_outputs(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        """(N, H, W, 3) uint8 RGB crops -> (N, `columns`) float32 outputs (models/base.py)."""
        return outputs_in_batches(
            crops_rgb_uint8, self.spec, self.batch_size, self._forward, self.columns
        )

    def __repr__(self) -> str:
        return (
            f"KerasClassifier(name={self.name!r}, input_size={self.spec.input_size}, "
            f"sha256={self.sha256[:12]}..., batch_size={self.batch_size})"
        )
