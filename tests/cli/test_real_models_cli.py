"""The whole stack in a subprocess: real BlazeFace, a real (tiny, trained) Keras model, real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.paths import SAMPLE_MEDIA_DIR

pytestmark = [pytest.mark.real_models, pytest.mark.slow]


@pytest.fixture(scope="module")
def tiny_seed_style_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seed-style model (RGB 299x299 in [0, 1], one sigmoid) trained a few steps on noise."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((299, 299, 3))
    x = keras.layers.Conv2D(4, 5, strides=8, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    model.compile("adam", "binary_crossentropy")
    rng = np.random.default_rng(0)
    images = rng.random((8, 299, 299, 3), dtype=np.float32)
    model.fit(images, (images.mean(axis=(1, 2, 3)) > 0.5).astype("float32"), epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("model") / "seed_style.keras"
    model.save(path)
    return path


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepfake_analyzer", *argv], capture_output=True, text=True
    )


def test_sample_clip_end_to_end(tiny_seed_style_model: Path, tmp_path: Path) -> None:
    clip = SAMPLE_MEDIA_DIR / "manipulated_pan_zoom.mp4"
    result = run(
        "analyze", str(clip), "--model", str(tiny_seed_style_model), "-o", str(tmp_path),
        "--explain",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "manipulated_pan_zoom.report.json").read_text())
    assert report["input"]["kind"] == "video" and report["input"]["width"] > 0
    assert len(report["tracks"]) == 1, "one astronaut, one track"
    faces = [face for frame in report["frames"] for face in frame["faces"]]
    assert len(faces) >= 0.8 * len(report["frames"]), "BlazeFace finds the face in most frames"
    assert all(0.0 <= face["score"] <= 1.0 for face in faces)
    assert report["model"]["name"] and len(report["model"]["sha256"]) == 64
    assert "oneDNN" not in result.stderr and "XNNPACK" not in result.stderr, "native log spam"
    html = (tmp_path / "manipulated_pan_zoom.report.html").read_text()
    assert "<svg" in html and "data:image/jpeg;base64," in html
    assert "heatmap" in html, "--explain puts Grad-CAM overlays beside the crops"


def test_still_image_and_json_stdout(tiny_seed_style_model: Path) -> None:
    image = SAMPLE_MEDIA_DIR / "astronaut.jpg"
    result = run("analyze", str(image), "--model", str(tiny_seed_style_model), "--json", "-q",
                 "--no-reports")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["input"]["kind"] == "image"
    assert len(report["frames"]) == 1 and len(report["frames"][0]["faces"]) == 1


def test_model_with_code_is_refused(tmp_path: Path) -> None:
    import keras

    inputs = keras.Input((71, 71, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x))
    path = tmp_path / "lambda.keras"
    model.save(path)
    result = run("analyze", str(SAMPLE_MEDIA_DIR / "astronaut.jpg"), "--model", str(path), "-q")
    assert result.returncode == 2
    assert "--trust-model" in result.stderr and "Traceback" not in result.stderr


def test_default_runtime_keeps_tensorflow_out_of_the_process() -> None:
    """The shipped LiteRT copy and the detector load without importing TensorFlow."""
    code = (
        "import sys\n"
        "from deepfake_analyzer.pipeline import Analyzer\n"
        "analyzer = Analyzer()\n"
        "analyzer.classifier, analyzer.detector\n"
        "print('TF=' + str(sys.modules.get('tensorflow') is not None))\n"
        "analyzer.close()\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "TF=False"


def test_the_default_model_explains_a_photo(tmp_path: Path) -> None:
    from deepfake_analyzer import paths

    if not paths.DEFAULT_CLASSIFIER_SPEC.is_file():
        pytest.skip("no default model is shipped in models/ yet")
    image = SAMPLE_MEDIA_DIR / "astronaut.jpg"
    result = run("analyze", str(image), "-o", str(tmp_path), "--explain", "-q")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "astronaut.report.html").read_text()
    assert "heatmap" in html, "Grad-CAM explains the default blend's first member"
