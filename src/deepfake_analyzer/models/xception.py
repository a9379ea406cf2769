"""The Keras Xception deepfake classifier: builder, multiply-accumulate count, and its head."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

MIN_INPUT_SIZE = 71
"""Keras' Xception needs at least 71x71 pixels (five stride-2 stages)."""

MAX_INPUT_SIZE = 1024
MODEL_NAME = "deepfake_xception"
ARCHITECTURE = "xception"
"""The `architecture` name of this network in model specs and the registry."""
HEAD_DROPOUT_NAME = "head_dropout"
HEAD_DENSE_NAME = "head_dense"


def validate_xception_args(input_size: int, dropout: float = 0.2, bn_momentum: float = 0.9) -> None:
    """Raise ValueError, before anything is built, when an argument is out of range."""
    if isinstance(input_size, bool) or not isinstance(input_size, int):
        raise ValueError(f"input_size must be an int, got {input_size!r}")
    if not MIN_INPUT_SIZE <= input_size <= MAX_INPUT_SIZE:
        raise ValueError(
            f"Xception needs an input size between {MIN_INPUT_SIZE} and {MAX_INPUT_SIZE} "
            f"pixels, got {input_size}"
        )
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if not 0.0 < bn_momentum < 1.0:
        raise ValueError(f"bn_momentum must be in (0, 1), got {bn_momentum}")


def build_xception(
    input_size: int,
    dropout: float = 0.2,
    bn_momentum: float = 0.9,
    backbone: Path | None = None,
) -> keras.Model:
    """Keras Xception + global average pool + dropout + sigmoid Dense. Its convolutional base
    starts from `backbone` (a weights file of `Xception(include_top=False)`, see
    `training/backbone.py`) when given, else from random initialisation; nothing is downloaded.

    Input: (N, input_size, input_size, 3) float32 scaled per the model spec. Output: (N, 1)
    float32 probability that the face is manipulated (float32 even under a mixed-precision
    policy). Every BatchNormalization layer gets `bn_momentum`: Keras' default 0.99 leaves the
    running variance near its initial 1.0 for ~800 steps when training from scratch, so the
    model outputs a constant in inference mode until then (see NOTES.md).
    """
    validate_xception_args(input_size, dropout, bn_momentum)
    import keras

    base = keras.applications.Xception(
        include_top=False,
        weights=None if backbone is None else str(backbone),
        input_shape=(input_size, input_size, 3),
        pooling="avg",
    )
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = bn_momentum
    x = keras.layers.Dropout(dropout, name=HEAD_DROPOUT_NAME)(base.output)
    output = keras.layers.Dense(1, activation="sigmoid", dtype="float32", name=HEAD_DENSE_NAME)(x)
    return keras.Model(base.input, output, name=MODEL_NAME)


def _same(size: int, stride: int) -> int:
    return math.ceil(size / stride)


def _conv_macs(out_size: int, kernel: int, c_in: int, c_out: int) -> int:
    return out_size * out_size * kernel * kernel * c_in * c_out


def _sep_macs(size: int, c_in: int, c_out: int) -> int:
    """3x3 depthwise (multiplier 1) + 1x1 pointwise, 'same' padding, stride 1."""
    return size * size * (9 * c_in + c_in * c_out)


def xception_macs(input_size: int) -> int:
    """Multiply-accumulates per crop of `build_xception(input_size)` (convolutions and head).

    Batch norm, activations, pooling and additions are left out (< 1 % of the work).
    FLOPs are about twice this figure: 299 px -> 8.4 GMAC ~ 16.8 GFLOP.
    """
    validate_xception_args(input_size)
    s1 = (input_size - 3) // 2 + 1  # block1_conv1: 3x3 stride 2, valid
    s2 = s1 - 2  # block1_conv2: 3x3, valid
    macs = _conv_macs(s1, 3, 3, 32) + _conv_macs(s2, 3, 32, 64)
    size, channels = s2, 64
    for c_out in (128, 256, 728):  # blocks 2-4: two separable convs, pool, 1x1 stride-2 shortcut
        down = _same(size, 2)
        macs += _conv_macs(down, 1, channels, c_out)
        macs += _sep_macs(size, channels, c_out) + _sep_macs(size, c_out, c_out)
        size, channels = down, c_out
    macs += 8 * 3 * _sep_macs(size, 728, 728)  # blocks 5-12: three separable convs each
    down = _same(size, 2)  # block 13
    macs += _conv_macs(down, 1, 728, 1024)
    macs += _sep_macs(size, 728, 728) + _sep_macs(size, 728, 1024)
    size = down  # block 14
    macs += _sep_macs(size, 1024, 1536) + _sep_macs(size, 1536, 2048)
    return macs + 2048  # head Dense(1)


def count_macs(model: keras.Model) -> int:
    """Multiply-accumulates per sample of a built model's Conv2D, SeparableConv2D, DepthwiseConv2D
    and Dense layers, from their output shapes (a check on `xception_macs`, and for other
    architectures)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.SeparableConv2D):
            _, h, w, c_out = layer.output.shape
            c_in = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            mult = layer.depth_multiplier
            total += h * w * (kh * kw * c_in * mult + c_in * mult * c_out)
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * c_out
        elif isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            c_in = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            total += h * w * kh * kw * c_in * c_out // layer.groups
        elif isinstance(layer, keras.layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)
