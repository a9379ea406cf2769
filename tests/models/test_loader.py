"""Tests for `load_classifier`: the default model, specs, users' Keras files, and refusals."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer import paths
from deepfake_analyzer.errors import ModelError, ModelNotInstalledError, UnsafeModelError
from deepfake_analyzer.models.f16_weights import F16_NPZ_FORMAT, save_weights_f16
from deepfake_analyzer.models.keras_classifier import KerasClassifier
from deepfake_analyzer.models.loader import load_classifier
from deepfake_analyzer.models.spec import ModelSpec, Thresholds, sha256_of
from deepfake_analyzer.models.xception import build_xception

pytestmark = pytest.mark.slow

XCEPTION_SIZE = 71


@pytest.fixture
def no_default_model(tmp_path, monkeypatch) -> Path:
    spec_path = tmp_path / "models" / "deepfake_xception.spec.json"
    monkeypatch.setattr(paths, "DEFAULT_CLASSIFIER_SPEC", spec_path)
    return spec_path


@pytest.fixture(scope="module")
def xception_spec(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 71 px Xception saved as f16 weights + spec; with sample inputs and its own outputs."""
    import keras

    folder = tmp_path_factory.mktemp("xception")
    keras.utils.set_random_seed(1)
    model = build_xception(XCEPTION_SIZE)
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (5, XCEPTION_SIZE, XCEPTION_SIZE, 3), dtype=np.uint8)
    spec = ModelSpec(
        name="test-xception",
        input_size=XCEPTION_SIZE,
        scaling="symmetric",
        weights_format=F16_NPZ_FORMAT,
    )
    weights = save_weights_f16(model, folder / "test_xception.npz")
    spec = spec.with_weights(weights)
    spec.save(folder / "test_xception.spec.json")
    expected = np.asarray(model(spec.preprocess(crops), training=False))[:, 0]
    return folder / "test_xception.spec.json", crops, expected


def test_missing_default_model_says_how_to_proceed(no_default_model):
    with pytest.raises(ModelNotInstalledError, match="no default model is installed.*model_path"):
        load_classifier(None)


def test_default_spec_without_weights_is_not_installed(no_default_model):
    no_default_model.parent.mkdir()
    ModelSpec(name="x", weights_file="deepfake_xception.npz").save(no_default_model)
    with pytest.raises(ModelNotInstalledError, match="weights file.*missing"):
        load_classifier(None)


def test_default_model_loads_from_its_spec(no_default_model, xception_spec):
    spec_path, crops, expected = xception_spec
    shutil.copytree(spec_path.parent, no_default_model.parent)
    (no_default_model.parent / spec_path.name).rename(no_default_model)
    # runtime="keras": a default model's first LiteRT load converts it (test_runtime_cache.py)
    classifier = load_classifier(None, runtime="keras")
    assert classifier.spec.name == "test-xception"
    np.testing.assert_allclose(classifier.predict(crops), expected, atol=5e-3)


def test_spec_loads_f16_xception_and_predicts_in_batches(xception_spec):
    spec_path, crops, expected = xception_spec
    classifier = load_classifier(spec_path, batch_size=2)
    assert isinstance(classifier, KerasClassifier)
    assert classifier.name == "test-xception"
    assert classifier.sha256 == sha256_of(spec_path.with_name("test_xception.npz"))
    scores = classifier.predict(crops)
    assert scores.shape == (5,) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, atol=5e-3)
    assert classifier.predict(crops[:0]).shape == (0,)


def test_sha_mismatch_is_refused(xception_spec, tmp_path):
    spec_path, _, _ = xception_spec
    shutil.copy(spec_path.with_name("test_xception.npz"), tmp_path / "test_xception.npz")
    spec = ModelSpec.load(spec_path)
    replace(spec, weights_sha256="0" * 64).save(tmp_path / "test_xception.spec.json")
    with pytest.raises(ModelError, match="sha256"):
        load_classifier(tmp_path / "test_xception.spec.json")


def test_spec_with_missing_weights_or_unknown_format_is_refused(tmp_path):
    spec_path = tmp_path / "m.spec.json"
    ModelSpec(name="m", weights_file="m.npz").save(spec_path)
    with pytest.raises(ModelError, match="not found"):
        load_classifier(spec_path)
    (tmp_path / "m.npz").write_bytes(b"x")
    ModelSpec(name="m", weights_file="m.npz", weights_format="onnx").save(spec_path)
    with pytest.raises(ModelError, match="unknown weights_format 'onnx'"):
        load_classifier(spec_path)


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_users_model_loads_with_seed_style_defaults(
    tiny_model, tiny_model_files, bright_dark, suffix
):
    path = tiny_model_files[suffix]
    classifier = load_classifier(path)
    spec = classifier.spec
    assert (spec.name, spec.input_size, spec.scaling, spec.channel_order) == (
        "tiny",
        48,
        "unit",
        "RGB",
    )
    assert spec.thresholds == Thresholds(suspicious=0.5, fake=0.5)
    assert classifier.sha256 == sha256_of(path)
    crops, labels = bright_dark
    scores = classifier.predict(crops)
    expected = np.asarray(tiny_model(crops / 255.0, training=False))[:, 0]
    np.testing.assert_allclose(scores, expected, atol=1e-5)
    assert scores[labels == 1].min() > scores[labels == 0].max()  # trained, not random


def test_users_crops_of_another_size_are_resized(tiny_model_files, bright_dark):
    import cv2

    crops, labels = bright_dark
    classifier = load_classifier(tiny_model_files["keras"])
    big = np.stack([cv2.resize(c, (96, 96), interpolation=cv2.INTER_NEAREST) for c in crops])
    np.testing.assert_allclose(classifier.predict(big), classifier.predict(crops), atol=0.05)


def test_spec_beside_users_model_is_used(tiny_model_files, tmp_path):
    path = tmp_path / "mine.keras"
    shutil.copy(tiny_model_files["keras"], path)
    spec = ModelSpec(name="mine", input_size=48, scaling="symmetric", weights_file="mine.keras")
    spec.save(tmp_path / "mine.spec.json")
    assert load_classifier(path).spec.scaling == "symmetric"
    replace(spec, input_size=64).save(tmp_path / "mine.spec.json")
    with pytest.raises(ModelError, match="input_size 64 but the model takes 48x48"):
        load_classifier(path)
    replace(spec, weights_sha256="f" * 64).save(tmp_path / "mine.spec.json")
    with pytest.raises(ModelError, match="sha256"):
        load_classifier(path)


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_lambda_layer_is_refused_unless_trusted(lambda_model_files, suffix):
    path = lambda_model_files[suffix]
    with pytest.raises(UnsafeModelError, match="Lambda layer 'times_two'.*trust_model"):
        load_classifier(path)
    classifier = load_classifier(path, trust_model=True)
    assert classifier.predict(np.zeros((2, 48, 48, 3), np.uint8)).shape == (2,)


def test_custom_layer_is_refused_unless_trusted(tiny_model_files, tmp_path):
    import zipfile

    config = json.loads(zipfile.ZipFile(tiny_model_files["keras"]).read("config.json"))
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "GlobalAveragePooling2D":
            layer.update(module="evil.layers", class_name="Pool", registered_name="evil>Pool")
    path = tmp_path / "custom.keras"
    with zipfile.ZipFile(tiny_model_files["keras"]) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.namelist():
            data = json.dumps(config) if item == "config.json" else src.read(item)
            dst.writestr(item, data)
    with pytest.raises(UnsafeModelError, match="custom object 'Pool' from module 'evil.layers'"):
        load_classifier(path)
    with pytest.raises(ModelError, match="cannot load the Keras model") as excinfo:
        load_classifier(path, trust_model=True)  # trusted, but the class does not exist here
    assert not isinstance(excinfo.value, UnsafeModelError)


@pytest.mark.parametrize(
    ("head", "match"),
    [
        ("two", r"output shape is \(N, 2\)"),
        ("linear", "activation 'linear'"),
    ],
)
def test_wrong_output_is_refused(make_tiny, tmp_path, head, match):
    import keras

    units, activation = (2, "softmax") if head == "two" else (1, None)
    model = make_tiny(head=lambda t: keras.layers.Dense(units, activation=activation)(t))
    path = tmp_path / "wrong.keras"
    model.save(path)
    with pytest.raises(ModelError, match=match):
        load_classifier(path)


def test_non_square_or_grayscale_input_is_refused(tmp_path):
    import keras

    for shape, match in [((48, 64, 3), r"\(N, 48, 64, 3\).*square"), ((48, 48, 1), "RGB")]:
        inputs = keras.Input(shape)
        x = keras.layers.GlobalAveragePooling2D()(inputs)
        path = tmp_path / "odd.keras"
        keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x)).save(path)
        with pytest.raises(ModelError, match=match):
            load_classifier(path)


@pytest.mark.parametrize("suffix", ["keras", "h5"])
@pytest.mark.parametrize("content", [b"", b"garbage" * 100])
def test_corrupt_model_file_is_a_one_line_model_error(tmp_path, suffix, content):
    path = tmp_path / f"broken.{suffix}"
    path.write_bytes(content)
    with pytest.raises(ModelError) as excinfo:
        load_classifier(path)
    assert "\n" not in str(excinfo.value) and "broken" in str(excinfo.value)


def test_truncated_keras_file_is_a_model_error(tiny_model_files, tmp_path):
    data = tiny_model_files["keras"].read_bytes()
    path = tmp_path / "truncated.keras"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        load_classifier(path)


def test_weights_only_h5_is_refused_with_advice(tiny_model, tmp_path):
    path = tmp_path / "tiny.weights.h5"
    tiny_model.save_weights(path)
    with pytest.raises(ModelError, match="weights only"):
        load_classifier(path)


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("absent.keras", "not found"),
        ("folder", "is a folder"),
        ("model.pb", "unsupported"),
        ("w.npz", "spec.json"),
    ],
)
def test_bad_model_paths(tmp_path, name, match):
    path = tmp_path / name
    if name == "folder":
        path.mkdir()
    elif name != "absent.keras":
        path.write_bytes(b"x")
    with pytest.raises(ModelError, match=match):
        load_classifier(path)


def test_model_with_nan_weights_is_refused_at_load(make_tiny, tmp_path):
    from deepfake_analyzer.errors import EXIT_USAGE, ModelOutputError

    model = make_tiny()
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    path = tmp_path / "nan.keras"
    model.save(path)
    with pytest.raises(ModelOutputError, match="not probabilities.*NaN or inf") as info:
        load_classifier(path)
    assert info.value.exit_code == EXIT_USAGE
    assert "nan.keras" in str(info.value)


def test_checked_probabilities_refuses_non_finite_and_out_of_range():
    from deepfake_analyzer.errors import ModelOutputError
    from deepfake_analyzer.models.base import checked_probabilities

    np.testing.assert_array_equal(checked_probabilities(np.array([[0.0], [1.0]]), 2, "m"), [0, 1])
    for bad in ([np.nan, 0.5], [np.inf, 0.5], [-0.1, 0.5], [1.5, 0.5]):
        with pytest.raises(ModelOutputError, match="not probabilities"):
            checked_probabilities(np.array(bad), 2, "m")
    with pytest.raises(ModelOutputError, match="3 scores for 2"):
        checked_probabilities(np.zeros(3), 2, "m")
