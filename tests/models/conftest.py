"""Small Keras models trained in the test session, saved in the formats users bring."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

TINY_SIZE = 48


def bright_dark_crops(
    n: int, size: int = TINY_SIZE, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(n, size, size, 3) uint8 crops, half dark (label 0) and half bright (label 1)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    base = np.where(labels[:, None, None, None] == 1, 190, 60)
    noise = rng.integers(-40, 41, size=(n, size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8), labels.astype(np.float32)


def build_tiny(size: int = TINY_SIZE, head: Callable | None = None, with_lambda: bool = False):
    """Conv -> global pool -> Dense(1, sigmoid), optionally with a Lambda layer inside."""
    import keras

    inputs = keras.Input((size, size, 3), name="image")
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="conv")(inputs)
    if with_lambda:
        x = keras.layers.Lambda(lambda t: t * 2.0, name="times_two")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = (head or (lambda t: keras.layers.Dense(1, activation="sigmoid", name="out")(t)))(x)
    return keras.Model(inputs, outputs, name="tiny")


def train_briefly(model, steps: int = 40) -> None:
    """A few optimizer steps on bright-vs-dark crops so the weights are not random."""
    import keras

    crops, labels = bright_dark_crops(64)
    keras.utils.set_random_seed(0)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    model.fit(crops / 255.0, labels, batch_size=16, epochs=steps // 4, verbose=0)


@pytest.fixture(scope="session")
def tiny_model():
    """A trained tiny model: bright crops score high, dark crops low."""
    import keras

    keras.utils.set_random_seed(0)
    model = build_tiny()
    train_briefly(model)
    return model


@pytest.fixture(scope="session")
def tiny_model_files(tiny_model, tmp_path_factory) -> dict[str, Path]:
    """The trained tiny model saved as `.keras` and legacy `.h5`, each alone in a folder."""
    root = tmp_path_factory.mktemp("tiny")
    files = {}
    for suffix in ("keras", "h5"):
        folder = root / suffix
        folder.mkdir()
        files[suffix] = folder / f"tiny.{suffix}"
        tiny_model.save(files[suffix])
    return files


@pytest.fixture(scope="session")
def lambda_model_files(tmp_path_factory) -> dict[str, Path]:
    """A tiny model with a Lambda layer (code) saved as `.keras` and `.h5`."""
    model = build_tiny(with_lambda=True)
    root = tmp_path_factory.mktemp("lambda")
    files = {}
    for suffix in ("keras", "h5"):
        files[suffix] = root / f"lambda.{suffix}"
        model.save(files[suffix])
    return files


@pytest.fixture(scope="session")
def make_tiny() -> Callable:
    """`build_tiny` for tests that need a variant (another head, a Lambda layer)."""
    return build_tiny


@pytest.fixture(scope="session")
def bright_dark() -> tuple[np.ndarray, np.ndarray]:
    """16 crops at the tiny model's size: even indices dark (0), odd bright (1)."""
    return bright_dark_crops(16, seed=1)


@pytest.fixture
def shipped_single_models() -> list[Path]:
    """The specs of the single models the shipped default runs: a blend's members (v9:
    the Xception, two texture models and the residual model), else the default itself; skips
    when none ships."""
    from deepfake_analyzer import paths
    from deepfake_analyzer.models.blend import BLEND_FORMAT, Blend
    from deepfake_analyzer.models.spec import ModelSpec

    spec_path = paths.DEFAULT_CLASSIFIER_SPEC
    if not spec_path.is_file():
        pytest.skip("no default model is shipped in models/ yet")
    spec = ModelSpec.load(spec_path)
    if spec.weights_format != BLEND_FORMAT:
        return [spec_path]
    blend = Blend.load(spec_path.parent / spec.weights_file)
    return [spec_path.parent / member.spec for member in blend.members]


@pytest.fixture
def shipped_networks(shipped_single_models: list[Path]) -> list[tuple[int, Path]]:
    """`shipped_single_models` that are networks (run on LiteRT), with their position among
    them: the residual model (models/residual.py) has no network and no copy."""
    from deepfake_analyzer.models.residual import WEIGHTS_FORMAT
    from deepfake_analyzer.models.spec import ModelSpec

    return [
        (i, path)
        for i, path in enumerate(shipped_single_models)
        if ModelSpec.load(path).weights_format != WEIGHTS_FORMAT
    ]
