"""The LiteRT copy built from Keras weights into the user cache: once, verified, never a crash."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError, ModelRuntimeWarning
from deepfake_analyzer.models.spec import ModelSpec, sha256_of

pytestmark = pytest.mark.slow

pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed")

CACHE_PARTS = (".cache", "deepfake-analyzer", "runtime")
BUILT = [".lock", "litert-48px.json", "litert-48px.tflite"]
"""A cache folder after a build: the lock, the manifest, the copy, nothing half-written."""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home folder, so the user cache starts empty."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


@pytest.fixture
def tiny_spec(tiny_model_files: dict[str, Path], tmp_path: Path) -> Path:
    """The trained tiny `.keras` model and a spec naming no LiteRT copy, alone in a folder."""
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(tiny_model_files["keras"], folder / "tiny.keras")
    spec = ModelSpec(name="tiny", input_size=48, weights_format="keras")
    spec.with_weights(folder / "tiny.keras").save(folder / "tiny.spec.json")
    return folder / "tiny.spec.json"


def _cache_folder(home: Path, spec_path: Path) -> Path:
    return home.joinpath(*CACHE_PARTS, ModelSpec.load(spec_path).weights_sha256)


def _load(spec_path: Path, **kwargs):
    from deepfake_analyzer.models.loader import load_from_spec

    return load_from_spec(spec_path, **kwargs)


def _runtime_warnings(spec_path: Path, **kwargs):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        classifier = _load(spec_path, **kwargs)
    return classifier, [str(w.message) for w in seen if w.category is ModelRuntimeWarning]


def test_first_load_builds_the_copy_once_and_later_loads_find_it(
    tiny_spec: Path, home: Path, bright_dark
) -> None:
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier

    classifier, notes = _runtime_warnings(tiny_spec, build_runtime=True)
    assert isinstance(classifier, LiteRTClassifier)
    assert len(notes) == 1 and "preparing the LiteRT runtime of model 'tiny'" in notes[0]
    folder = _cache_folder(home, tiny_spec)
    assert classifier.path == folder / "litert-48px.tflite"
    assert sorted(os.listdir(folder)) == BUILT
    entry = json.loads((folder / "litert-48px.json").read_text())
    spec = ModelSpec.load(tiny_spec)
    assert entry["sha256"] == sha256_of(classifier.path) == classifier.runtime_sha256
    assert entry["source_weights_sha256"] == spec.weights_sha256 == classifier.sha256
    assert entry["weights_dtype"] == "float32" and entry["max_abs_diff_vs_keras"] < 1e-5

    crops, labels = bright_dark
    keras_scores = _load(tiny_spec, runtime="keras").predict(crops)
    assert np.ptp(keras_scores) > 0.1, "scores must vary, or agreement proves nothing"
    np.testing.assert_allclose(classifier.predict(crops), keras_scores, atol=1e-5)

    built_at = classifier.path.stat().st_mtime_ns
    again, notes = _runtime_warnings(tiny_spec, build_runtime=True)
    assert notes == [], "a cached copy loads silently"
    assert again.path == classifier.path and again.path.stat().st_mtime_ns == built_at


def test_a_users_spec_runs_keras_until_its_copy_is_prepared(tiny_spec: Path, home: Path) -> None:
    from deepfake_analyzer.models.keras_classifier import KerasClassifier
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
    from deepfake_analyzer.models.runtime_cache import prepare_runtime

    classifier, notes = _runtime_warnings(tiny_spec)
    assert isinstance(classifier, KerasClassifier) and notes == []
    assert not home.joinpath(*CACHE_PARTS).exists(), "nothing converted behind the user's back"

    prepared = prepare_runtime(tiny_spec)
    assert prepared.built and prepared.path.parent == _cache_folder(home, tiny_spec)
    assert not prepare_runtime(tiny_spec).built, "a second call finds the copy"
    fast = _load(tiny_spec)
    assert isinstance(fast, LiteRTClassifier) and fast.path == prepared.path


def test_a_changed_or_half_written_copy_is_not_used_but_rebuilt(
    tiny_spec: Path, home: Path
) -> None:
    from deepfake_analyzer.models.keras_classifier import KerasClassifier
    from deepfake_analyzer.models.runtime_cache import prepare_runtime

    first = prepare_runtime(tiny_spec)
    first.path.write_bytes(first.path.read_bytes() + b"\0")  # changed after it was built
    assert isinstance(_load(tiny_spec), KerasClassifier)
    rebuilt, notes = _runtime_warnings(tiny_spec, build_runtime=True)
    assert len(notes) == 1 and "preparing" in notes[0]
    assert rebuilt.runtime_sha256 == sha256_of(first.path) == first.entry["sha256"]

    manifest = first.path.with_suffix(".json")
    manifest.write_text(manifest.read_text()[:20])  # a manifest cut short
    assert isinstance(_load(tiny_spec), KerasClassifier)
    assert prepare_runtime(tiny_spec).built


def test_an_unwritable_cache_falls_back_to_keras_with_one_warning(
    tiny_spec: Path, home: Path
) -> None:
    from deepfake_analyzer.models.keras_classifier import KerasClassifier

    blocker = home.joinpath(*CACHE_PARTS)
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the cache folder should be")  # unwritable, even as root
    classifier, notes = _runtime_warnings(tiny_spec, build_runtime=True)
    assert isinstance(classifier, KerasClassifier)
    assert len(notes) == 1
    assert "runs on Keras" in notes[0] and "cannot write the runtime cache" in notes[0]
    with pytest.raises(ModelError, match="cannot write the runtime cache"):
        _load(tiny_spec, runtime="litert")


def test_builders_that_start_together_build_one_copy(tiny_spec: Path, tmp_path: Path) -> None:
    """Two builders racing for the same weights: the lock makes one build, the other find it."""
    import threading

    from deepfake_analyzer.models.runtime_cache import prepare_runtime

    cache = tmp_path / "cache"
    start = threading.Barrier(2)
    results: list = []

    def build() -> None:
        start.wait()
        results.append(prepare_runtime(tiny_spec, cache))

    threads = [threading.Thread(target=build) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.built for r in results) == [False, True]
    assert results[0].path == results[1].path and results[0].entry == results[1].entry
    assert sorted(os.listdir(results[0].path.parent)) == BUILT


def test_a_copy_that_disagrees_with_keras_is_not_kept(tiny_spec: Path, tmp_path: Path) -> None:
    from deepfake_analyzer.models.runtime_cache import prepare_runtime

    cache = tmp_path / "cache"
    folder = cache / ModelSpec.load(tiny_spec).weights_sha256
    folder.mkdir(parents=True)
    (folder / ".litert-48px.0123.partial.tflite").write_bytes(b"left by a builder that was killed")
    with pytest.raises(ModelError, match="differ from Keras by .* it was not kept"):
        prepare_runtime(tiny_spec, cache, tolerance=-1.0)
    assert os.listdir(folder) == [".lock"], "no copy, no manifest, no partial file"


def test_a_spec_naming_a_missing_copy_gets_one_built(tiny_spec: Path, home: Path) -> None:
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier

    spec = ModelSpec.load(tiny_spec)
    gone = {"litert": {"file": "tiny.tflite", "sha256": "0" * 64}}
    replace(spec, runtime_files=gone).save(tiny_spec)
    with pytest.raises(ModelError, match="runtime_files not found"):
        _load(tiny_spec)  # a user's spec: its named file is missing, nothing is built
    classifier, notes = _runtime_warnings(tiny_spec, build_runtime=True)
    assert isinstance(classifier, LiteRTClassifier) and len(notes) == 1
    assert classifier.path.parent == _cache_folder(home, tiny_spec)


def test_an_inference_process_converts_in_a_child_and_stays_tensorflow_free(
    tiny_spec: Path, tmp_path: Path
) -> None:
    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('always')\n"
        "from deepfake_analyzer.models.loader import load_from_spec\n"
        f"c = load_from_spec({str(tiny_spec)!r}, build_runtime=True)\n"
        "print(type(c).__name__, 'tensorflow' in sys.modules, c.path)\n"
    )
    env = dict(os.environ, HOME=str(tmp_path / "child-home"))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env
    )
    assert out.returncode == 0, out.stderr[-2000:]
    name, tf_imported, path = out.stdout.split()
    assert (name, tf_imported) == ("LiteRTClassifier", "False")
    assert Path(path).parent == _cache_folder(tmp_path / "child-home", tiny_spec)
    assert "ModelRuntimeWarning: preparing the LiteRT runtime" in out.stderr


def test_prepare_model_command_builds_then_finds_the_copy(
    tiny_spec: Path, home: Path, capsys: pytest.CaptureFixture
) -> None:
    from deepfake_analyzer.cli.main import main

    assert main(["prepare-model", "--model", str(tiny_spec)]) == 0
    assert "tiny: built: " in capsys.readouterr().out
    assert main(["prepare-model", "--model", str(tiny_spec)]) == 0
    assert "tiny: already prepared: " in capsys.readouterr().out
    assert (_cache_folder(home, tiny_spec) / "litert-48px.tflite").is_file()
    assert main(["prepare-model", "--model", str(tiny_spec.with_name("nope.spec.json"))]) == 2
    assert "model spec not found" in capsys.readouterr().err


@pytest.mark.real_models
def test_the_default_model_without_a_committed_copy_builds_one_in_the_user_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shipped_networks: list[tuple[int, Path]]
) -> None:
    """The shipped weights alone (no `runtime_files`): LiteRT built from them on first use,
    for each model behind the default (a blend's members).

    Uses the real user cache, so a test run converts each shipped model at most once."""
    from deepfake_analyzer import paths
    from deepfake_analyzer.models.convert import AGREEMENT_TOLERANCE, agreement_crops
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier, litert_file
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.models.runtime_cache import default_runtime_cache

    for _, shipped in shipped_networks:
        spec = ModelSpec.load(shipped)
        folder = tmp_path / spec.name
        folder.mkdir()
        for name in filter(None, (spec.weights_file, spec.weights_base)):
            (folder / name).symlink_to(shipped.parent / name)
        replace(spec, runtime_files={}).save(folder / shipped.name)
        monkeypatch.setattr(paths, "DEFAULT_CLASSIFIER_SPEC", folder / shipped.name)

        fast = load_classifier(None)
        assert isinstance(fast, LiteRTClassifier)
        assert fast.path.parent == default_runtime_cache() / spec.weights_identity(
            spec.weights_sha256
        )
        crops = agreement_crops(spec.input_size)
        keras_scores = load_classifier(None, runtime="keras").predict(crops)
        assert np.max(np.abs(fast.predict(crops) - keras_scores)) <= AGREEMENT_TOLERANCE
        committed = litert_file(spec, shipped.parent)
        if committed is not None and committed.is_file():  # the copy it replaces scores the same
            shipped_scores = LiteRTClassifier(committed, spec).predict(crops)
            np.testing.assert_allclose(fast.predict(crops), shipped_scores, atol=1e-6)
