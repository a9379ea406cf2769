"""The texture model: a frozen ImageNet EfficientNet-Lite0 read by a linear probe.

Contract: `build_texture_classifier(input_size, region)` is the Keras network behind the
architecture names of `ARCHITECTURES` (models/registry.py): RGB crops scaled to [0, 1] in, one
sigmoid out, the probability that the face's texture is generated. Inside:

- the crop is rescaled to (x - 127) / 128 of 8-bit values, as the ImageNet weights expect;
- a region model reads one box of the crop (`REGIONS`; `"mouth"`: `MOUTH_BOX`, `"center"`:
  `CENTER_BOX`), cut and resized back to the input size inside the network (`region_view`),
  so its LiteRT copy and every caller cut the same pixels; the `"face"` model reads the whole
  crop;
- EfficientNet-Lite0 up to block 15 (`build_efficientnet_lite0`), whose weights stay ImageNet's;
- per tapped block (`TAPS`), the mean and the standard deviation of each channel over the
  image (`FEATURE_SIZE` = 992 values at the default taps, `pooled_features`);
- a batch normalisation holding the probe's standardisation (moving mean and variance of the
  training features, no scale or shift of its own), then one dense unit with a sigmoid: the
  logistic regression `train-texture` fits (`models/deepfake_v3.md`, `models/deepfake_v4.md`).

The probe and its standardisation are the only fitted parts; a model file holds the backbone
too, so a version is one weights file (`models/f16_weights.py`).

The `-track` architectures (`TRACK_ARCHITECTURES`: the whole crop, `TRACK_ARCHITECTURE`, and
the mouth box) have a second head beside the probe: one linear unit on the same standardised
features (`TRACK_NAME`, no sigmoid), so their output is (N, 2): the probability, then this
crop's part of a blend's track head (models/blend.py, `TrackHead`). A blend averages the head
over a track's faces; the head being linear, that is the head read on the track's mean
statistics, from the one backbone pass the probe already makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

ARCHITECTURE = "efficientnet-lite0-texture"
"""The `architecture` name of the whole-crop texture model in model specs and the registry."""

Region = tuple[float, float, float, float]
"""A box of the crop: top, bottom, left and right edges as fractions of its side."""
MOUTH_BOX: Region = (0.55, 0.95, 0.30, 0.70)
"""The mouth and chin of a face crop cut at the analyzer's margin (lip-sync's region). Part of
what the `-mouth` architecture means: shipped models were fitted on this box, so another box
needs another architecture name, not an edit here."""
CENTER_BOX: Region = (0.20, 0.80, 0.20, 0.80)
"""The inner face (eyes to mouth, no outline, hair or background), zoomed in: the crop's middle
60 %. Part of what the `-center` architecture means, as `MOUTH_BOX` is of `-mouth`."""
REGIONS: dict[str, Region | None] = {"face": None, "mouth": MOUTH_BOX, "center": CENTER_BOX}
"""What each texture model reads: the whole crop, or one box of it."""
ARCHITECTURES: dict[str, str] = {
    "face": ARCHITECTURE,
    "mouth": f"{ARCHITECTURE}-mouth",
    "center": f"{ARCHITECTURE}-center",
}
"""Each region's `architecture` name in model specs and the registry."""

TRACK_ARCHITECTURE = f"{ARCHITECTURE}-track"
"""The `architecture` name of the whole-crop texture model with a track head (module docstring)."""
TRACK_ARCHITECTURES: dict[str, str] = {
    "face": TRACK_ARCHITECTURE,
    "mouth": f"{ARCHITECTURE}-mouth-track",
}
"""The regions whose texture model may carry a track head: each one's `architecture` name."""

INPUT_SIZE = 224
BN_EPSILON = 1e-3
BLOCKS: tuple[tuple[int, int, int, int, int], ...] = (
    (3, 1, 1, 32, 16),
    (3, 2, 6, 16, 24),
    (3, 1, 6, 24, 24),
    (5, 2, 6, 24, 40),
    (5, 1, 6, 40, 40),
    (3, 2, 6, 40, 80),
    (3, 1, 6, 80, 80),
    (3, 1, 6, 80, 80),
    (5, 1, 6, 80, 112),
    (5, 1, 6, 112, 112),
    (5, 1, 6, 112, 112),
    (5, 2, 6, 112, 192),
    (5, 1, 6, 192, 192),
    (5, 1, 6, 192, 192),
    (5, 1, 6, 192, 192),
    (3, 1, 6, 192, 320),
)
"""EfficientNet-Lite0's 16 inverted-residual blocks: (kernel, stride, expansion, in, out)."""

TAPS = (2, 4, 10, 15)
"""Blocks whose outputs the features pool (56, 28, 14 and 7 px at 224 px input)."""

FEATURE_SIZE = 2 * sum(BLOCKS[t][4] for t in TAPS)
"""Mean and standard deviation of each tapped block's channels: 992 values."""

BACKBONE_NAME = "efficientnet_lite0"
STANDARDISE_NAME = "texture_standardise"
SCALE_NAME = "texture_scale"
REGION_CUT_NAME = "region_cut"
PROBE_NAME = "texture_probe"
TRACK_NAME = "texture_track"
OUTPUTS_NAME = "texture_outputs"
STANDARDISE_EPSILON = 1e-12
"""The standardising layer divides by sqrt(variance + this): the variances stored are the
squared scales of `temporal.model.standardise`, so it must be small next to them."""


def build_efficientnet_lite0(input_size: int = INPUT_SIZE, taps: Sequence[int] = TAPS) -> Any:
    """Keras EfficientNet-Lite0 without its head, whose outputs are the tapped blocks'.

    Input: RGB scaled as the ImageNet weights expect, (x - 127) / 128.
    """
    import keras
    from keras import layers

    def norm(name: str) -> Any:
        return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)

    inputs = keras.Input((input_size, input_size, 3))
    x = layers.Conv2D(32, 3, 2, "same", use_bias=False, name="stem")(inputs)
    x = layers.ReLU(6.0)(norm("stem_bn")(x))
    outputs = []
    for i, (kernel, stride, expand, width_in, width_out) in enumerate(BLOCKS[: max(taps) + 1]):
        h = x
        if expand != 1:
            h = layers.Conv2D(width_in * expand, 1, use_bias=False, name=f"b{i}_expand")(h)
            h = layers.ReLU(6.0)(norm(f"b{i}_bn0")(h))
        h = layers.DepthwiseConv2D(kernel, stride, "same", use_bias=False, name=f"b{i}_dw")(h)
        h = layers.ReLU(6.0)(norm(f"b{i}_bn1")(h))
        h = layers.Conv2D(width_out, 1, use_bias=False, name=f"b{i}_project")(h)
        h = norm(f"b{i}_bn2")(h)
        x = layers.Add()([h, x]) if stride == 1 and width_in == width_out else h
        if i in taps:
            outputs.append(x)
    return keras.Model(inputs, outputs, name=BACKBONE_NAME)


def pooled_features(block_outputs: Sequence[Any]) -> Any:
    """Per block output, the mean then the standard deviation of each channel, concatenated."""
    import keras

    pooled = []
    for output in block_outputs:
        pooled += [keras.ops.mean(output, axis=(1, 2)), keras.ops.std(output, axis=(1, 2))]
    return keras.ops.concatenate(pooled, axis=1)


def region_pixels(size: int, region: Region) -> tuple[int, int, int, int]:
    """`region`'s rows and columns (top, bottom, left, right; ends excluded) in a `size` px
    crop."""
    top, bottom, left, right = (int(f * size) for f in region)
    if not 0 <= top < bottom <= size or not 0 <= left < right <= size:
        raise ValueError(f"region {region} is not a box inside the crop")
    return top, bottom, left, right


def region_view(x: Any, size: int, region: Region | None) -> Any:
    """`x` ((N, size, size, C) Keras tensor) cut to `region` and resized back to `size` px
    (bilinear); unchanged for the whole crop (None). The resize is `keras.ops.image.resize`,
    not the `Resizing` layer: with that layer, the LiteRT converter kept the backbone's batch
    normalisations as variables and the copy read them wrong (features off by up to 12)."""
    import keras
    from keras import layers

    if region is None:
        return x
    top, bottom, left, right = region_pixels(size, region)
    cut = layers.Cropping2D(((top, size - bottom), (left, size - right)), name=REGION_CUT_NAME)(x)
    return keras.ops.image.resize(cut, (size, size), interpolation="bilinear")


def build_texture_classifier(
    input_size: int = INPUT_SIZE, region: Region | None = None, track: bool = False
) -> Any:
    """The texture model (module docstring) reading `region` of the crop (None: all of it),
    with random probe weights and standardisation; with `track`, a track head too (output
    (N, 2))."""
    import keras
    from keras import layers

    if not 32 <= input_size <= 1024:
        raise ValueError(f"the texture model needs an input size in 32..1024, got {input_size}")
    backbone = build_efficientnet_lite0(input_size)
    inputs = keras.Input((input_size, input_size, 3))
    scaled = layers.Rescaling(255.0 / 128.0, offset=-127.0 / 128.0, name=SCALE_NAME)(inputs)
    features = pooled_features(backbone(region_view(scaled, input_size, region)))
    z = layers.BatchNormalization(
        epsilon=STANDARDISE_EPSILON, center=False, scale=False, name=STANDARDISE_NAME
    )(features)
    out = layers.Dense(1, activation="sigmoid", name=PROBE_NAME)(z)
    if track:
        part = layers.Dense(1, name=TRACK_NAME)(z)
        out = layers.Concatenate(name=OUTPUTS_NAME)([out, part])
    return keras.Model(inputs, out, name="texture")


def set_probe(model: Any, mean: Any, scale: Any, weights: Any, bias: float) -> None:
    """Put a fitted probe into `build_texture_classifier`'s model: features are standardised
    by `mean` and `scale` (per feature), then logit = standardised . `weights` + `bias`."""
    import numpy as np

    mean = np.asarray(mean, np.float32).reshape(-1)
    scale = np.asarray(scale, np.float64).reshape(-1)
    weights = np.asarray(weights, np.float32).reshape(-1, 1)
    model.get_layer(STANDARDISE_NAME).set_weights([mean, (scale**2).astype(np.float32)])
    model.get_layer(PROBE_NAME).set_weights([weights, np.array([bias], np.float32)])


def set_track_head(model: Any, weights: Any, bias: float) -> None:
    """Put a track head into a `-track` texture model whose probe is set (`set_probe`): its
    value is features . `weights` + `bias` on the raw features, stored on the probe's
    standardised ones (weights x scale, bias + mean . weights)."""
    import numpy as np

    mean, scale, _, _ = probe_of(model)
    weights = np.asarray(weights, np.float64).reshape(-1)
    kernel = (weights * scale).astype(np.float32).reshape(-1, 1)
    shifted = np.array([bias + float(mean @ weights)], np.float32)
    model.get_layer(TRACK_NAME).set_weights([kernel, shifted])


def probe_of(model: Any) -> tuple[Any, Any, Any, float]:
    """The probe `set_probe` put into a texture model: (mean, scale, weights, bias), float64."""
    import numpy as np

    mean, variance = model.get_layer(STANDARDISE_NAME).get_weights()
    weights, bias = model.get_layer(PROBE_NAME).get_weights()
    scale = np.sqrt(np.asarray(variance, np.float64) + STANDARDISE_EPSILON)
    as64 = np.asarray(mean, np.float64), scale, np.asarray(weights, np.float64).reshape(-1)
    return (*as64, float(np.asarray(bias).reshape(-1)[0]))


def features_of(model: Any, crops: Any) -> Any:
    """The raw pooled statistics (`FEATURE_SIZE` per crop, float64) a texture model's probe
    reads for `crops` (N, S, S, 3) scaled to [0, 1]."""
    import keras
    import numpy as np

    inner = keras.Model(model.inputs, model.get_layer(STANDARDISE_NAME).input)
    return np.asarray(inner.predict(crops, verbose=0), np.float64)


def is_texture_model(model: Any) -> bool:
    """Whether a Keras model is `build_texture_classifier`'s (it has the probe layer)."""
    return any(layer.name == PROBE_NAME for layer in getattr(model, "layers", ()))


def cam_graph(model: Any) -> Any:
    """A texture model of the whole crop as Grad-CAM reads it: input -> [the last tapped
    block's activation, the probe's logit]. Grad-CAM cannot follow the nested backbone itself
    (its several outputs meet again in the pooled features). A model of a region of the crop
    is refused (`ModelError`): its activations lie over the resized region, not the crop."""
    import keras

    from deepfake_analyzer.errors import ModelError

    if any(layer.name == REGION_CUT_NAME for layer in model.layers):
        raise ModelError("Grad-CAM explains texture models of the whole crop, not of a region")
    size = model.inputs[0].shape[1]
    inputs = keras.Input((size, size, 3))
    taps = backbone_of(model)(model.get_layer(SCALE_NAME)(inputs))
    z = model.get_layer(STANDARDISE_NAME)(pooled_features(taps))
    probe = model.get_layer(PROBE_NAME)
    logit = keras.ops.matmul(z, probe.kernel) + probe.bias
    return keras.Model(inputs, [taps[-1], logit])


def backbone_of(model: Any) -> Any:
    """The EfficientNet-Lite0 inside a texture model (to load or read its weights)."""
    return model.get_layer(BACKBONE_NAME)
