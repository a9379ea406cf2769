"""The track head: the texture model's second output column (models/texture.py,
`TRACK_ARCHITECTURE`), its weights against a base without it (models/f16_weights.py), and the
blend's `TrackHead` that turns the members' parts into each crop's track contribution
(models/blend.py). The texture models are small (64 px) with random backbones: the tests are
about wiring, not about what the head has learnt."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from blend_files import save_blend

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.base import Classifier, ColumnsClassifier, output_columns
from deepfake_analyzer.models.blend import (
    Blend,
    BlendClassifier,
    BlendMember,
    TrackHead,
    load_blend,
)
from deepfake_analyzer.models.f16_weights import (
    load_weights_f16,
    read_weights_f16,
    save_weights_f16,
)
from deepfake_analyzer.models.fake_classifier import FAKE_SPEC, FakeClassifier
from deepfake_analyzer.models.keras_classifier import resize_crops, validate_crops
from deepfake_analyzer.models.spec import ModelSpec, logits
from deepfake_analyzer.models.texture import (
    ARCHITECTURE,
    ARCHITECTURES,
    FEATURE_SIZE,
    PROBE_NAME,
    REGIONS,
    TRACK_ARCHITECTURE,
    TRACK_ARCHITECTURES,
    TRACK_NAME,
    backbone_of,
    build_texture_classifier,
    features_of,
    probe_of,
    set_probe,
    set_track_head,
)

SIZE = 64
TRACK_WEIGHT_SCALE = 50.0
"""A random backbone pools features of about 1e-3: a head this strong spreads its value over
the crops by more than a tenth, so agreement within 1e-4 tells a right head from a wrong one."""


# --- the texture model with a track head --------------------------------------------------


@dataclass(frozen=True)
class Probed:
    """A track model and a plain texture model with the same backbone and probe, the crops
    they read, those crops' raw pooled features (numpy), and the probe and head put in."""

    track: Any
    plain: Any
    crops: np.ndarray
    features: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    probe_weights: np.ndarray
    probe_bias: float
    head_weights: np.ndarray
    head_bias: float


def _varied_crops(count: int, seed: int = 0) -> np.ndarray:
    """Noise crops of differing brightness and tint: features that differ from crop to crop."""
    rng = np.random.default_rng(seed)
    noise = (
        rng.integers(0, 256, (count, SIZE, SIZE, 3))
        * np.linspace(0.2, 1.0, count)[:, None, None, None]
    )
    tint = rng.integers(0, 60, (count, 1, 1, 3))
    return np.clip(noise + tint, 0, 255).astype(np.uint8)


def _raw_features(model: Any, crops: np.ndarray) -> np.ndarray:
    """The 992 pooled statistics computed here, not by the model: the backbone's tapped
    blocks on (x - 127) / 128, then each channel's mean and standard deviation in numpy."""

    taps = backbone_of(model)((crops.astype(np.float32) - 127.0) / 128.0, training=False)
    pooled = []
    for tap in taps:
        values = np.asarray(tap, np.float64)
        pooled += [values.mean(axis=(1, 2)), values.std(axis=(1, 2))]
    return np.concatenate(pooled, axis=1)


def _outputs(model: Any, crops: np.ndarray) -> np.ndarray:
    return np.asarray(model(crops.astype(np.float32) / 255.0, training=False), np.float64)


@pytest.fixture(scope="module")
def probed() -> Probed:
    import keras

    keras.utils.set_random_seed(7)
    track = build_texture_classifier(SIZE, None, track=True)
    plain = build_texture_classifier(SIZE)
    backbone_of(plain).set_weights(backbone_of(track).get_weights())
    crops = _varied_crops(6)
    features = _raw_features(track, crops)
    assert features.shape == (6, FEATURE_SIZE)
    rng = np.random.default_rng(3)
    mean, scale = features.mean(0), features.std(0) + 1e-3
    probe_weights, probe_bias = rng.normal(size=FEATURE_SIZE) * 0.05, 0.2
    for model in (track, plain):
        set_probe(model, mean, scale, probe_weights, probe_bias)
    head_weights, head_bias = rng.normal(size=FEATURE_SIZE) * TRACK_WEIGHT_SCALE, -0.7
    set_track_head(track, head_weights, head_bias)
    return Probed(
        track, plain, crops, features, mean, scale, probe_weights, probe_bias, head_weights,
        head_bias,
    )  # fmt: skip


def test_the_second_column_is_the_head_read_on_the_raw_features(probed: Probed) -> None:
    out = _outputs(probed.track, probed.crops)
    assert out.shape == (6, 2)
    expected = probed.features @ probed.head_weights + probed.head_bias
    assert np.ptp(expected) > 0.1, "the head must tell the crops apart, or agreement proves little"
    np.testing.assert_allclose(out[:, 1], expected, atol=1e-4)
    # the head is linear, no sigmoid: values outside [0, 1] come through
    assert out[:, 1].min() < 0.0 or out[:, 1].max() > 1.0


def test_the_first_column_is_the_plain_models_probability(probed: Probed) -> None:
    track, plain = _outputs(probed.track, probed.crops), _outputs(probed.plain, probed.crops)
    assert plain.shape == (6, 1)
    np.testing.assert_allclose(track[:, 0], plain[:, 0], atol=1e-6)
    z = (probed.features - probed.mean) / probed.scale @ probed.probe_weights + probed.probe_bias
    np.testing.assert_allclose(track[:, 0], 1 / (1 + np.exp(-z)), atol=1e-5)
    assert np.ptp(track[:, 0]) > 0.02


def test_the_track_head_leaves_the_probe_as_set(probed: Probed) -> None:

    mean, scale, weights, bias = probe_of(probed.track)
    np.testing.assert_allclose(mean, probed.mean, rtol=1e-6)
    np.testing.assert_allclose(scale, probed.scale, rtol=1e-6)
    np.testing.assert_allclose(weights, probed.probe_weights, rtol=1e-6)
    assert bias == pytest.approx(probed.probe_bias)
    kernel, shifted = probed.track.get_layer(TRACK_NAME).get_weights()
    # stored on the standardised features: weights x scale, bias + mean . weights
    np.testing.assert_allclose(kernel[:, 0], probed.head_weights * probed.scale, rtol=1e-5)
    expected_bias = probed.head_bias + probed.mean @ probed.head_weights
    assert float(shifted[0]) == pytest.approx(expected_bias, rel=1e-5)


def test_the_registry_builds_the_track_architectures_with_two_columns() -> None:
    from deepfake_analyzer.models.loader import check_model_io
    from deepfake_analyzer.models.registry import (
        architecture_columns,
        create_architecture,
        list_architectures,
    )

    assert TRACK_ARCHITECTURE == "efficientnet-lite0-texture-track"
    assert TRACK_ARCHITECTURE in list_architectures() and ARCHITECTURE in list_architectures()
    model = create_architecture(TRACK_ARCHITECTURE, SIZE)
    assert tuple(model.outputs[0].shape) == (None, 2)
    assert tuple(model.inputs[0].shape) == (None, SIZE, SIZE, 3)
    assert tuple(model.get_layer(TRACK_NAME).kernel.shape) == (FEATURE_SIZE, 1)
    assert tuple(model.get_layer(PROBE_NAME).kernel.shape) == (FEATURE_SIZE, 1)
    columns = architecture_columns(TRACK_ARCHITECTURE)
    assert columns == 2 and architecture_columns(ARCHITECTURE) == 1
    assert check_model_io(model, Path("track.keras"), columns) == SIZE
    with pytest.raises(ModelError, match=r"output shape is \(N, 2\); need one sigmoid"):
        check_model_io(model, Path("track.keras"))  # a user's model gives its probability alone
    assert TRACK_ARCHITECTURES["face"] == TRACK_ARCHITECTURE
    mouth = create_architecture(TRACK_ARCHITECTURES["mouth"], SIZE)
    assert tuple(mouth.outputs[0].shape) == (None, 2)
    assert architecture_columns(TRACK_ARCHITECTURES["mouth"]) == 2
    assert architecture_columns(ARCHITECTURES["mouth"]) == 1


def test_a_mouth_track_model_reads_its_head_on_the_mouth_box(probed: Probed) -> None:
    """The mouth box's head: the second column is the head on the statistics of the box the
    plain mouth model reads (cut inside the network), not of the whole crop."""
    track = build_texture_classifier(SIZE, REGIONS["mouth"], track=True)
    plain = build_texture_classifier(SIZE, REGIONS["mouth"])
    for model in (track, plain):
        backbone_of(model).set_weights(backbone_of(probed.track).get_weights())
        set_probe(model, probed.mean, probed.scale, probed.probe_weights, probed.probe_bias)
    set_track_head(track, probed.head_weights, probed.head_bias)
    box = features_of(plain, probed.crops.astype(np.float32) / 255.0)
    out = _outputs(track, probed.crops)
    np.testing.assert_allclose(out[:, 0], _outputs(plain, probed.crops)[:, 0], atol=1e-6)
    np.testing.assert_allclose(out[:, 1], box @ probed.head_weights + probed.head_bias, atol=1e-4)
    whole = probed.features @ probed.head_weights + probed.head_bias
    assert np.abs(out[:, 1] - whole).max() > 0.01  # the box, not the whole crop


def test_a_plain_texture_model_keeps_one_column(probed: Probed) -> None:

    assert tuple(probed.plain.outputs[0].shape) == (None, 1)
    assert TRACK_NAME not in [layer.name for layer in probed.plain.layers]


# --- weights against a base without the head ----------------------------------------------


def test_track_weights_saved_against_a_plain_base_hold_the_head_and_load_whole(
    probed: Probed, tmp_path: Path
) -> None:

    base = save_weights_f16(probed.plain, tmp_path / "base.npz")
    small = save_weights_f16(probed.track, tmp_path / "track.npz", base)
    names, arrays = read_weights_f16(small)
    # the backbone and the probe equal the base's: only the head is new
    assert sorted(names) == [f"{TRACK_NAME}/bias", f"{TRACK_NAME}/kernel"]
    assert sum(a.size for a in arrays) == probed.head_weights.size + 1

    whole = save_weights_f16(probed.track, tmp_path / "whole.npz")
    whole_names, whole_arrays = read_weights_f16(whole)
    copy = build_texture_classifier(SIZE, None, track=True)
    load_weights_f16(copy, small, base)
    # exactly what loading the track model's whole file gives, weight by weight
    assert [w.path for w in copy.weights] == [w.path for w in probed.track.weights]
    assert len(whole_arrays) == len(copy.weights)
    for weight, array in zip(copy.weights, whole_arrays, strict=True):
        np.testing.assert_array_equal(np.asarray(weight.numpy()), array.astype(np.float32))
    # and within half precision of the model saved
    np.testing.assert_allclose(
        _outputs(copy, probed.crops), _outputs(probed.track, probed.crops), atol=2e-3
    )
    assert len(whole_names) > len(names)


def test_a_probe_changed_against_the_base_is_stored_beside_the_head(
    probed: Probed, tmp_path: Path
) -> None:

    base = save_weights_f16(probed.plain, tmp_path / "base.npz")
    other = build_texture_classifier(SIZE, None, track=True)
    backbone_of(other).set_weights(backbone_of(probed.track).get_weights())
    set_probe(other, probed.mean, probed.scale, -probed.probe_weights, -1.5)
    set_track_head(other, probed.head_weights, 2.0)
    expected = _outputs(other, probed.crops)
    small = save_weights_f16(other, tmp_path / "other.npz", base)
    layers = sorted({name.split("/")[-2] for name in read_weights_f16(small)[0]})
    assert layers == [PROBE_NAME, TRACK_NAME]  # the standardisation is the base's
    set_probe(other, probed.mean * 2, probed.scale, probed.probe_weights, 0.0)  # overwritten
    set_track_head(other, -probed.head_weights, 0.0)
    load_weights_f16(other, small, base)
    got = _outputs(other, probed.crops)
    np.testing.assert_allclose(got, expected, atol=2e-3)
    # the loaded probe is the file's, not the base's
    assert not np.allclose(got[:, 0], _outputs(probed.plain, probed.crops)[:, 0], atol=1e-2)


def test_a_head_in_neither_the_file_nor_its_base_is_a_model_error(
    probed: Probed, tmp_path: Path
) -> None:

    base = save_weights_f16(probed.plain, tmp_path / "base.npz")
    nothing_new = save_weights_f16(probed.plain, tmp_path / "same.npz", base)
    assert read_weights_f16(nothing_new) == ([], [])
    track = build_texture_classifier(SIZE, None, track=True)
    before = [np.asarray(w.numpy()).copy() for w in track.weights]
    with pytest.raises(ModelError, match=f"'{TRACK_NAME}/.*' is in neither the weights file"):
        load_weights_f16(track, nothing_new, base)
    # refused before any weight was assigned
    for weight, value in zip(track.weights, before, strict=True):
        np.testing.assert_array_equal(np.asarray(weight.numpy()), value)
    with pytest.raises(ModelError, match="arrays but the model has"):
        load_weights_f16(track, base)  # the plain file alone lacks the head


def test_a_base_with_weights_the_model_lacks_is_a_model_error(
    probed: Probed, tmp_path: Path
) -> None:

    track_base = save_weights_f16(probed.track, tmp_path / "track_base.npz")
    with pytest.raises(ModelError, match=f"has 2 weights the model lacks .*{TRACK_NAME}"):
        save_weights_f16(probed.plain, tmp_path / "plain.npz", track_base)
    plain_file = save_weights_f16(probed.plain, tmp_path / "plain_whole.npz")
    with pytest.raises(ModelError, match="has 2 weights the model lacks"):
        load_weights_f16(probed.plain, plain_file, track_base)


# --- the Keras classifier over it -----------------------------------------------------------


def test_the_keras_classifier_gives_both_columns(probed: Probed) -> None:
    from deepfake_analyzer.models.keras_classifier import KerasClassifier

    spec = ModelSpec(name="track", input_size=SIZE, architecture=TRACK_ARCHITECTURE)
    classifier = KerasClassifier(probed.track, spec, "ab" * 32, batch_size=4)
    assert classifier.columns == 2 and output_columns(classifier) == 2
    assert isinstance(classifier, ColumnsClassifier)
    outputs = classifier.predict_outputs(probed.crops)  # batches of 4 and 2
    assert outputs.shape == (6, 2) and outputs.dtype == np.float32
    np.testing.assert_array_equal(classifier.predict(probed.crops), outputs[:, 0])
    np.testing.assert_allclose(outputs, _outputs(probed.track, probed.crops), atol=1e-5)
    assert classifier.predict_outputs(probed.crops[:0]).shape == (0, 2)
    plain = KerasClassifier(probed.plain, replace(spec, architecture="x"), "cd" * 32)
    assert plain.columns == 1 and output_columns(plain) == 1


@pytest.mark.slow
def test_a_track_model_converts_to_litert_with_both_columns(probed: Probed, tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert", reason="ai-edge-litert is not installed")
    from deepfake_analyzer.models.convert import convert_to_tflite
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier

    spec = ModelSpec(name="track", input_size=SIZE, architecture=TRACK_ARCHITECTURE)
    copy = convert_to_tflite(probed.track, tmp_path / "track.tflite", "float32")
    fast = LiteRTClassifier(copy, spec, batch_size=4)
    assert fast.columns == 2 and output_columns(fast) == 2
    outputs = fast.predict_outputs(probed.crops)
    assert outputs.shape == (6, 2)
    np.testing.assert_allclose(outputs, _outputs(probed.track, probed.crops), atol=1e-3)
    np.testing.assert_array_equal(fast.predict(probed.crops), outputs[:, 0])
    assert np.ptp(outputs[:, 1]) > 0.1


# --- the blend's track head -----------------------------------------------------------------


def test_a_track_heads_contribution_is_centred_scaled_and_weighted() -> None:
    head = TrackHead(bias=0.3, center=-0.2, spread=1.7, weight=0.9)
    parts = np.array([-1.0, 0.0, 0.25, 4.0])
    expected = [0.9 * (0.3 + p + 0.2) / 1.7 for p in parts]
    np.testing.assert_allclose(head.contribution(parts), expected, rtol=1e-12)
    assert head.contribution(np.array([-0.5]))[0] == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize(
    "values",
    [
        {"spread": 0.0},
        {"spread": -1.0},
        {"bias": math.nan},
        {"center": math.inf},
        {"weight": -math.inf},
    ],
)
def test_a_track_head_needs_finite_values_and_a_positive_spread(values: dict[str, float]) -> None:
    given = {"bias": 0.0, "center": 0.0, "spread": 1.0, "weight": 1.0} | values
    with pytest.raises(ModelError, match="positive spread"):
        TrackHead(given["bias"], given["center"], given["spread"], given["weight"])


def test_a_blends_track_head_round_trips_through_its_file(tmp_path: Path) -> None:
    head = TrackHead(0.3, -0.2, 1.7, 0.9, {"videos": 1415, "note": "track_probe"})
    blend = Blend((BlendMember("a.spec.json", "ab" * 32, 0.7, 0.1),), -0.07, {"n": 1}, head)
    path = blend.save(tmp_path / "t.blend.json")
    data = json.loads(path.read_text())
    assert data["track"] == {
        "bias": 0.3,
        "center": -0.2,
        "spread": 1.7,
        "weight": 0.9,
        "training": {"videos": 1415, "note": "track_probe"},
    }
    back = Blend.load(path)
    assert back == blend and back.track == head
    assert TrackHead.from_dict(head.to_dict()) == head
    without = Blend(blend.members, blend.bias)
    assert "track" not in json.loads(without.save(tmp_path / "p.blend.json").read_text())
    assert Blend.load(tmp_path / "p.blend.json").track is None
    path.write_text(json.dumps(data | {"track": data["track"] | {"spread": 0}}))
    with pytest.raises(ModelError, match="positive spread"):
        Blend.load(path)


class _Parts(FakeClassifier):
    """A member with a track head: column 0 its probability (`predict`), column 1 `part_fn`
    of each crop."""

    columns = 2

    def __init__(self, spec: ModelSpec, part_fn: Callable[[np.ndarray], float]) -> None:
        super().__init__(spec)
        self.part_fn = part_fn
        self.output_calls = 0

    def predict_outputs(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        self.output_calls += 1
        probabilities = self.predict(crops_rgb_uint8)
        crops = resize_crops(validate_crops(crops_rgb_uint8), self.spec.input_size)
        parts = np.array([self.part_fn(crop) for crop in crops], np.float32)
        return np.stack([probabilities, parts], axis=1)


def _red(crop: np.ndarray) -> float:
    return float(crop[..., 0].mean()) / 255.0 * 4.0 - 1.0


def _blue(crop: np.ndarray) -> float:
    return 0.5 - float(crop[..., 2].mean()) / 255.0


def _plain(name: str) -> FakeClassifier:
    return FakeClassifier(replace(FAKE_SPEC, name=name, input_size=32))


def _with_parts(name: str, part_fn: Callable[[np.ndarray], float] = _red) -> _Parts:
    return _Parts(replace(FAKE_SPEC, name=name, input_size=32), part_fn)


def _colour_crops() -> np.ndarray:
    rng = np.random.default_rng(5)
    crops = rng.integers(0, 256, (5, 32, 32, 3)).astype(np.uint8)
    crops[..., 0] = np.arange(5)[:, None, None] * 50  # red 0..200: parts that differ
    return crops


HEAD = TrackHead(bias=0.3, center=-0.2, spread=1.7, weight=0.9)
BLEND_SPEC = replace(FAKE_SPEC, input_size=32)


def _blend(members: Sequence[Classifier], head: TrackHead | None, centred: bool = True) -> Blend:
    weights = (0.8, 1.5, 0.6)
    return Blend(
        tuple(
            BlendMember(f"{m.spec.name}.spec.json", m.sha256, w, 0.1 if centred else None)
            for m, w in zip(members, weights, strict=False)
        ),
        -0.25,
        {},
        head,
    )


def test_the_blend_adds_the_heads_contribution_and_leaves_the_probability_alone() -> None:
    texture, other = _with_parts("texture"), _plain("other")
    crops = _colour_crops()
    classifier = BlendClassifier(BLEND_SPEC, "x", _blend([texture, other], HEAD), [texture, other])
    assert classifier.has_track_head and classifier.evidence_names == ("texture", "other")
    read = classifier.scores(crops)
    parts = np.array([_red(c) for c in crops], np.float32).astype(np.float64)
    assert read.track is not None
    np.testing.assert_allclose(read.track, 0.9 * (0.3 + parts + 0.2) / 1.7, rtol=1e-12)
    assert np.ptp(read.track) > 1.0
    assert texture.output_calls == 1  # the part comes from the member's one pass
    without = BlendClassifier(BLEND_SPEC, "x", _blend([texture, other], None), [texture, other])
    expected = without.predict(crops)
    np.testing.assert_allclose(read.probability, expected, rtol=1e-12)
    np.testing.assert_allclose(classifier.predict(crops), expected, rtol=1e-12)
    z = -0.25 + 0.8 * logits(texture.predict(crops)) + 1.5 * logits(other.predict(crops))
    np.testing.assert_allclose(read.probability, 1 / (1 + np.exp(-z)), rtol=1e-9)
    np.testing.assert_allclose(read.evidence, without.scores(crops).evidence, rtol=1e-12)
    assert without.scores(crops).track is None


def test_the_parts_of_several_members_add_up_before_the_head() -> None:
    red, blue, other = _with_parts("red"), _with_parts("blue", _blue), _plain("other")
    crops = _colour_crops()
    members: list[Classifier] = [red, other, blue]
    classifier = BlendClassifier(BLEND_SPEC, "x", _blend(members, HEAD, centred=False), members)
    assert classifier.evidence_names == ()
    read = classifier.scores(crops)
    parts = np.array([float(np.float32(_red(c))) + float(np.float32(_blue(c))) for c in crops])
    assert read.track is not None and read.evidence.shape == (0, 5)
    np.testing.assert_allclose(read.track, HEAD.contribution(parts), rtol=1e-12)
    alone = BlendClassifier(BLEND_SPEC, "x", _blend([red], HEAD), [red]).scores(crops).track
    assert alone is not None and not np.allclose(read.track, alone)


def test_a_two_column_member_of_a_blend_without_a_head_is_read_as_one_column() -> None:
    texture = _with_parts("texture")
    classifier = BlendClassifier(BLEND_SPEC, "x", _blend([texture], None), [texture])
    crops = _colour_crops()
    read = classifier.scores(crops)
    assert read.track is None and not classifier.has_track_head
    assert texture.output_calls == 0
    expected = classifier.blend.probability([texture.predict(crops)])
    np.testing.assert_allclose(read.probability, expected, rtol=1e-12)


def test_a_blend_whose_head_no_member_feeds_cannot_score() -> None:
    one, two = _plain("one"), _plain("two")
    classifier = BlendClassifier(BLEND_SPEC, "x", _blend([one, two], HEAD), [one, two])
    with pytest.raises(ModelError, match="has a track head but no member gives its parts"):
        classifier.scores(_colour_crops())


def _write_blend(folder: Path, members: list[FakeClassifier], head: TrackHead | None) -> Path:
    return save_blend(folder, _blend(members, head), members)


def test_load_blend_refuses_a_head_that_no_member_feeds(tmp_path: Path) -> None:
    one, two = _plain("one"), _plain("two")
    by_name: dict[str, FakeClassifier] = {"one.spec.json": one, "two.spec.json": two}
    spec_path = _write_blend(tmp_path, [one, two], HEAD)
    with pytest.raises(ModelError, match="no member gives its parts") as caught:
        load_blend(ModelSpec.load(spec_path), spec_path, lambda p: by_name[p.name])
    assert "b.blend.json" in str(caught.value)

    texture = _with_parts("texture")
    fed = tmp_path / "fed"
    fed.mkdir()
    spec_path = _write_blend(fed, [texture, two], HEAD)
    by_name = {"texture.spec.json": texture, "two.spec.json": two}
    loaded = load_blend(ModelSpec.load(spec_path), spec_path, lambda p: by_name[p.name])
    assert loaded.has_track_head and loaded.blend.track == HEAD
    track = loaded.scores(_colour_crops()).track
    parts = np.array([_red(c) for c in _colour_crops()], np.float32).astype(np.float64)
    assert track is not None
    np.testing.assert_allclose(track, HEAD.contribution(parts), rtol=1e-12)
