"""LiteRT runtime: Keras -> .tflite conversion, same scores as Keras, spec wiring, no TF import."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.spec import ModelSpec, sha256_of

pytestmark = pytest.mark.slow

pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed")

SIZE = 32
SPEC = ModelSpec(name="tiny", input_size=SIZE, scaling="symmetric", weights_format="keras")


def _tiny_model():
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(16, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Conv2D(64, 3, activation="relu")(x)  # 9k weights: float16 pays off
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    dense = model.layers[-1]
    dense.kernel.assign(dense.kernel.numpy() * 20.0)  # spread the outputs across (0, 1)
    return model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A tiny Keras model saved with its spec, and its float32 and float16 LiteRT copies."""
    from deepfake_analyzer.models.convert import convert_to_tflite

    folder = tmp_path_factory.mktemp("tiny")
    model = _tiny_model()
    model.save(folder / "tiny.keras")
    spec = SPEC.with_weights(folder / "tiny.keras")
    spec.save(folder / "tiny.spec.json")
    return {
        "folder": folder,
        "model": model,
        "spec": spec,
        "f32": convert_to_tflite(model, folder / "f32.tflite", "float32"),
        "f16": convert_to_tflite(model, folder / "f16.tflite", "float16"),
    }


def _crops(count: int = 7, size: int = SIZE) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def _keras_scores(tiny: dict, crops: np.ndarray) -> np.ndarray:
    return np.asarray(tiny["model"](tiny["spec"].preprocess(crops), training=False))[:, 0]


def test_float32_copy_gives_the_keras_scores(tiny: dict) -> None:
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier

    crops = _crops()
    expected = _keras_scores(tiny, crops)
    assert expected.std() > 0.01, "the outputs must vary, or agreement proves nothing"
    scores = LiteRTClassifier(tiny["f32"], tiny["spec"], batch_size=3).predict(crops)
    assert scores.shape == (7,) and scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_float16_copy_is_smaller_and_within_tolerance(tiny: dict) -> None:
    from deepfake_analyzer.models.convert import AGREEMENT_TOLERANCE
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier

    crops = _crops()
    scores = LiteRTClassifier(tiny["f16"], tiny["spec"]).predict(crops)
    assert np.max(np.abs(scores - _keras_scores(tiny, crops))) < AGREEMENT_TOLERANCE
    assert tiny["f16"].stat().st_size < tiny["f32"].stat().st_size


def test_batching_and_resizing_do_not_change_scores(tiny: dict) -> None:
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier

    crops = _crops(5)
    one_by_one = LiteRTClassifier(tiny["f32"], tiny["spec"], batch_size=1, num_threads=1)
    batched = LiteRTClassifier(tiny["f32"], tiny["spec"], batch_size=4)
    np.testing.assert_allclose(batched.predict(crops), one_by_one.predict(crops), atol=1e-6)
    np.testing.assert_allclose(batched.predict(crops[:2]), one_by_one.predict(crops[:2]), atol=1e-6)
    big = np.repeat(np.repeat(crops, 2, axis=1), 2, axis=2)  # 64 px: resized to the spec's 32
    assert batched.predict(big).shape == (5,)
    assert batched.predict(np.zeros((0, SIZE, SIZE, 3), np.uint8)).shape == (0,)
    with pytest.raises(ValueError, match="uint8"):
        batched.predict(crops.astype(np.float32))


def test_wrong_input_size_and_missing_file_are_model_errors(tiny: dict, tmp_path: Path) -> None:
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier

    with pytest.raises(ModelError, match=r"input shape .* needs \(N, 64, 64, 3\)"):
        LiteRTClassifier(tiny["f32"], replace(tiny["spec"], input_size=64))
    with pytest.raises(ModelError, match="not found"):
        LiteRTClassifier(tmp_path / "nope.tflite", tiny["spec"])
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelError, match="cannot load the LiteRT model"):
        LiteRTClassifier(garbage, tiny["spec"])


def test_over_budget_conversion_is_refused_with_the_fix(tiny: dict, tmp_path: Path) -> None:
    from deepfake_analyzer.models.convert import convert_to_tflite

    with pytest.raises(ModelError, match="budget; convert with float16 weights"):
        convert_to_tflite(tiny["model"], tmp_path / "x.tflite", "float32", max_bytes=1000)
    assert not (tmp_path / "x.tflite").exists()


def test_convert_spec_records_the_copy_and_the_loader_prefers_it(
    tiny: dict, tmp_path: Path
) -> None:
    import shutil

    from deepfake_analyzer.models.convert import convert_spec
    from deepfake_analyzer.models.keras_classifier import KerasClassifier
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
    from deepfake_analyzer.models.loader import load_classifier

    shutil.copy(tiny["folder"] / "tiny.keras", tmp_path / "tiny.keras")
    shutil.copy(tiny["folder"] / "tiny.spec.json", tmp_path / "tiny.spec.json")
    spec_path = tmp_path / "tiny.spec.json"
    spec, diff = convert_spec(spec_path, "float32")
    entry = json.loads(spec_path.read_text())["runtime_files"]["litert"]
    assert entry["file"] == "tiny.tflite"
    assert entry["sha256"] == sha256_of(tmp_path / "tiny.tflite")
    assert entry["weights_dtype"] == "float32" and diff < 1e-5
    assert ModelSpec.load(spec_path) == spec

    crops = _crops()
    fast = load_classifier(spec_path)
    assert isinstance(fast, LiteRTClassifier)
    assert fast.sha256 == spec.weights_sha256, "reports name the model, whatever the runtime"
    keras_runtime = load_classifier(spec_path, runtime="keras")
    assert isinstance(keras_runtime, KerasClassifier)
    np.testing.assert_allclose(fast.predict(crops), keras_runtime.predict(crops), atol=1e-5)

    assert entry["source_weights_sha256"] == spec.weights_sha256
    retrained = replace(spec, weights_sha256="0" * 64)  # new weights, old runtime_files
    retrained.save(spec_path)
    with pytest.raises(ModelError, match="converted from other weights"):
        load_classifier(spec_path)
    spec.save(spec_path)

    (tmp_path / "tiny.tflite").write_bytes((tmp_path / "tiny.tflite").read_bytes() + b"\0")
    with pytest.raises(ModelError, match="sha256"):
        load_classifier(spec_path)
    with pytest.raises(ModelError, match="unknown runtime"):
        load_classifier(spec_path, runtime="onnx")


def test_inference_process_never_imports_tensorflow(tiny: dict) -> None:
    code = (
        "import sys, numpy as np\n"
        "from deepfake_analyzer.models.litert_classifier import LiteRTClassifier\n"
        "from deepfake_analyzer.models.spec import ModelSpec\n"
        f"spec = ModelSpec.load({str(tiny['folder'] / 'tiny.spec.json')!r})\n"
        f"c = LiteRTClassifier({str(tiny['f32'])!r}, spec)\n"
        f"print(c.predict(np.zeros((2, {SIZE}, {SIZE}, 3), np.uint8)).shape)\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split("\n")[:2] == ["(2,)", "False False"]


def test_threads_can_be_capped_for_workers_sharing_a_machine(tiny: dict, tmp_path: Path) -> None:
    import shutil

    from deepfake_analyzer.batch.jobs import AnalyzerFactory
    from deepfake_analyzer.models.convert import with_litert_runtime
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
    from deepfake_analyzer.options import AnalyzeOptions

    classifier = LiteRTClassifier(tiny["f32"], tiny["spec"], num_threads=2)
    assert classifier.with_threads(2) is classifier
    single = classifier.with_threads(1)
    assert single.num_threads == 1
    crops = _crops(3)
    np.testing.assert_allclose(single.predict(crops), classifier.predict(crops), atol=1e-6)

    shutil.copy(tiny["f32"], tmp_path / "tiny.tflite")
    spec_path = tmp_path / "tiny.spec.json"
    with_litert_runtime(tiny["spec"], tmp_path / "tiny.tflite", "float32", 0.0).save(spec_path)
    factory = AnalyzerFactory(AnalyzeOptions(model_path=str(spec_path)), classifier_threads=1)
    analyzer = factory()
    assert isinstance(analyzer.classifier, LiteRTClassifier)
    assert analyzer.classifier.num_threads == 1


@pytest.mark.real_models
def test_the_default_model_runs_on_litert_and_agrees_with_the_keras_model(
    shipped_single_models: list[Path], shipped_networks: list[tuple[int, Path]]
) -> None:
    """Each network behind the default (a blend's members) runs on LiteRT, whether its spec
    names a committed copy or the copy is built in the user cache, and agrees with Keras; a
    residual member runs in numpy."""
    from deepfake_analyzer.models.convert import (
        AGREEMENT_TOLERANCE,
        MAX_FILE_BYTES,
        agreement_crops,
    )
    from deepfake_analyzer.models.feature_probe import ProbeClassifier
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier, litert_file
    from deepfake_analyzer.models.loader import load_classifier, load_keras_from_spec

    default = load_classifier(None)
    members = getattr(default, "members", [default])
    assert len(members) == len(shipped_single_models)
    assert len(shipped_networks) >= 1
    for i, spec_path in shipped_networks:
        fast = members[i]
        spec = ModelSpec.load(spec_path)
        committed = litert_file(spec, spec_path.parent)
        if committed is not None and committed.is_file():
            assert committed.stat().st_size <= MAX_FILE_BYTES
        assert isinstance(fast, LiteRTClassifier), f"{spec.name}: the default runtime is LiteRT"
        assert fast.sha256 == spec.weights_identity(spec.weights_sha256)
        crops = agreement_crops(spec.input_size)
        keras_scores = load_keras_from_spec(spec_path).predict(crops)
        assert np.max(np.abs(fast.predict(crops) - keras_scores)) <= AGREEMENT_TOLERANCE
    others = set(range(len(members))) - {i for i, _ in shipped_networks}
    assert all(isinstance(members[i], ProbeClassifier) for i in others)


def test_a_region_texture_model_converts_and_its_copy_cuts_the_same_box(tmp_path: Path) -> None:
    """The mouth model cuts and resizes inside the network; an earlier `Resizing` layer there
    made the converter keep the batch normalisations as variables, read wrong in LiteRT."""
    import keras

    from deepfake_analyzer.models.convert import convert_to_tflite
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
    from deepfake_analyzer.models.texture import (
        FEATURE_SIZE,
        MOUTH_BOX,
        backbone_of,
        build_texture_classifier,
        set_probe,
    )
    from deepfake_analyzer.training.texture_backbone import feature_model, texture_features

    keras.utils.set_random_seed(4)
    model = build_texture_classifier(64, MOUTH_BOX)
    crops = _crops(4, 64)
    x = texture_features(feature_model(backbone_of(model), MOUTH_BOX), crops)
    weights = np.random.default_rng(2).normal(size=FEATURE_SIZE) * 0.1
    set_probe(model, x.mean(0), x.std(0) + 1e-6, weights, 0.0)  # logits spread by standardising
    keras_scores = np.asarray(model(crops.astype(np.float32) / 255.0, training=False))[:, 0]
    assert np.ptp(keras_scores) > 0.05  # scores the check can tell apart
    spec = ModelSpec(name="mouth", input_size=64, scaling="unit")
    copy = convert_to_tflite(model, tmp_path / "mouth.tflite", "float32")
    np.testing.assert_allclose(LiteRTClassifier(copy, spec).predict(crops), keras_scores, atol=1e-4)
