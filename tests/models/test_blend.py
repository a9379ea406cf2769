"""Blends (models/blend.py): the log-odds sum, the file format, and what loading refuses."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from blend_files import save_blend

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.blend import (
    BLEND_FORMAT,
    Blend,
    BlendClassifier,
    BlendMember,
    load_blend,
    member_crops,
    member_square,
)
from deepfake_analyzer.models.fake_classifier import FAKE_SPEC, FakeClassifier
from deepfake_analyzer.models.spec import ModelSpec, sha256_of


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_probability_adds_weighted_logits_and_the_bias() -> None:
    blend = Blend((BlendMember("a.spec.json", "", 0.5), BlendMember("b.spec.json", "", 2.0)), -0.3)
    got = blend.probability([np.array([0.2, 0.9]), np.array([0.6, 0.1])])
    for i, (a, b) in enumerate(((0.2, 0.6), (0.9, 0.1))):
        z = -0.3 + 0.5 * _logit(a) + 2.0 * _logit(b)
        assert got[i] == pytest.approx(1 / (1 + math.exp(-z)), rel=1e-12)
    assert np.all(np.isfinite(blend.probability([np.array([0.0, 1.0])] * 2)))
    with pytest.raises(ValueError, match="expected 2"):
        blend.probability([np.array([0.5])])


def test_round_trip_and_refusals(tmp_path: Path) -> None:
    blend = Blend((BlendMember("a.spec.json", "ab" * 32, 0.7),), 0.1, {"note": "x"})
    path = blend.save(tmp_path / "m.blend.json")
    assert Blend.load(path) == blend
    data = json.loads(path.read_text())
    for change, message in (
        ({"format": "other"}, "not a blend file"),
        ({"version": 9}, "version 9"),
        (
            {"members": [{"spec": "../up.spec.json", "weights_sha256": "", "weight": 1}]},
            "file name",
        ),
        ({"members": [{"spec": "a.spec.json"}]}, "bad member"),
        ({"members": []}, "at least one member"),
    ):
        path.write_text(json.dumps({**data, **change}))
        with pytest.raises(ModelError, match=message):
            Blend.load(path)
    path.write_text("{")
    with pytest.raises(ModelError, match="not valid JSON"):
        Blend.load(path)


def test_centers_round_trip_and_give_each_members_evidence(tmp_path: Path) -> None:
    blend = Blend(
        (BlendMember("a.spec.json", "", 0.5, -1.0), BlendMember("b.spec.json", "", 2.0, 0.5)),
        0.5 * 1.0 - 2.0 * 0.5,
    )
    assert Blend.load(blend.save(tmp_path / "c.blend.json")) == blend
    a, b = np.array([0.2, 0.9]), np.array([0.6, 0.1])
    evidence = blend.evidence([a, b])
    assert evidence.shape == (2, 2)
    assert evidence[1, 0] == pytest.approx(2.0 * (_logit(0.6) - 0.5))
    p = blend.probability([a, b])
    np.testing.assert_allclose(evidence.sum(0), np.log(p / (1 - p)))
    without = Blend(
        (BlendMember("a.spec.json", "", 0.5, -1.0), BlendMember("b.spec.json", "", 2.0))
    )
    assert not without.has_evidence and "center" not in json.dumps(without.to_dict()["members"][1])
    with pytest.raises(ValueError, match="no center"):
        without.evidence([a, b])
    with pytest.raises(ModelError, match="center must be finite"):
        BlendMember("a.spec.json", "", 1.0, math.nan)


def test_a_blend_without_centers_names_no_evidence() -> None:
    members = [_member("one", 32), _member("two", 32)]
    crops = np.zeros((3, 32, 32, 3), np.uint8)
    plain = Blend(tuple(BlendMember(f"{m.spec.name}.spec.json", "", 1.0) for m in members))
    classifier = BlendClassifier(replace(FAKE_SPEC, input_size=32), "x", plain, members)
    assert classifier.evidence_names == ()
    read = classifier.scores(crops)
    assert read.evidence.shape == (0, 3) and np.allclose(
        read.probability, classifier.predict(crops)
    )
    assert read.track is None and not classifier.has_track_head
    centred = Blend(tuple(replace(m, center=0.1) for m in plain.members))
    classifier = BlendClassifier(replace(FAKE_SPEC, input_size=32), "x", centred, members)
    assert classifier.evidence_names == ("one", "two")
    read = classifier.scores(crops)
    assert read.evidence.shape == (2, 3) and np.allclose(
        read.probability, classifier.predict(crops)
    )


def _member(name: str, size: int, margin: float = 1.3) -> FakeClassifier:
    return FakeClassifier(replace(FAKE_SPEC, name=name, input_size=size, crop_margin=margin))


class _Recording(FakeClassifier):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        self.shapes: list[tuple[int, ...]] = []

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        self.shapes.append(tuple(crops_rgb_uint8.shape))
        return super().predict(crops_rgb_uint8)


def test_each_member_sees_crops_at_its_own_size() -> None:
    small = _Recording(replace(FAKE_SPEC, name="small", input_size=32))
    large = _Recording(replace(FAKE_SPEC, name="large", input_size=64))
    blend = Blend((BlendMember("s.spec.json", "", 1.0), BlendMember("l.spec.json", "", 0.5)))
    classifier = BlendClassifier(replace(FAKE_SPEC, input_size=64), "x", blend, [small, large])
    crops = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    got = classifier.predict(crops)
    assert small.shapes == [(3, 32, 32, 3)] and large.shapes == [(3, 64, 64, 3)]
    expected = blend.probability([small.predict(crops), large.predict(crops)])
    np.testing.assert_allclose(got, expected)
    assert classifier.predict(crops[:0]).shape == (0,)
    assert classifier.explained is small


def test_a_narrower_member_reads_the_centered_square_its_margin_covers() -> None:
    narrow = _Recording(replace(FAKE_SPEC, name="narrow", input_size=40, crop_margin=1.3))
    wide = _Recording(replace(FAKE_SPEC, name="wide", input_size=80, crop_margin=2.6))
    blend = Blend((BlendMember("n.spec.json", "", 1.0), BlendMember("w.spec.json", "", 1.0)))
    spec = replace(FAKE_SPEC, input_size=80, crop_margin=2.6)
    classifier = BlendClassifier(spec, "x", blend, [narrow, wide])
    crops = np.zeros((2, 80, 80, 3), np.uint8)
    crops[:, 20:60, 20:60] = 255  # the square a margin half as wide covers
    assert member_square(80, 2.6, narrow.spec) == (20, 40)
    seen = member_crops(crops, 2.6, narrow.spec)
    assert seen.shape == (2, 40, 40, 3) and np.all(seen == 255)
    classifier.predict(crops)
    assert narrow.shapes == [(2, 40, 40, 3)] and wide.shapes == [(2, 80, 80, 3)]
    assert member_crops(crops, 2.6, wide.spec) is crops


def _write_blend(folder: Path, members: list[FakeClassifier]) -> Path:
    blend = Blend(tuple(BlendMember(f"{m.spec.name}.spec.json", m.sha256, 1.0) for m in members))
    return save_blend(folder, blend, members)


def test_load_blend_loads_members_and_refuses_changed_ones(tmp_path: Path) -> None:
    one, two = _member("one", 32), _member("two", 48)
    spec_path = _write_blend(tmp_path, [one, two])
    by_path = {tmp_path / "one.spec.json": one, tmp_path / "two.spec.json": two}
    spec = ModelSpec.load(spec_path)
    loaded = load_blend(spec, spec_path, by_path.__getitem__)
    assert loaded.members == [one, two] and loaded.sha256 == sha256_of(tmp_path / "b.blend.json")

    other = _member("other", 32)
    with pytest.raises(ModelError, match="other weights"):
        load_blend(spec, spec_path, lambda p: other if p.name == "one.spec.json" else two)
    wide = _member("one", 32, margin=1.6)
    with pytest.raises(ModelError, match="margin 1.6, wider"):
        load_blend(spec, spec_path, lambda p: wide if p.name == "one.spec.json" else two)
    narrow = _member("one", 32, margin=1.1)  # reads the middle of the blend's crop
    assert load_blend(spec, spec_path, lambda p: narrow if p.name == "one.spec.json" else two)
    (tmp_path / "two.spec.json").unlink()
    with pytest.raises(ModelError, match="'two.spec.json' not found"):
        load_blend(spec, spec_path, by_path.__getitem__)
    with pytest.raises(ModelError, match="sha256"):
        load_blend(replace(spec, weights_sha256="0" * 64), spec_path, by_path.__getitem__)
    with pytest.raises(ModelError, match="not found"):
        load_blend(replace(spec, weights_file="gone.blend.json"), spec_path, by_path.__getitem__)


def test_prepare_model_prepares_each_member_of_a_blend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deepfake_analyzer.cli import prepare_model
    from deepfake_analyzer.cli.main import main

    spec_path = _write_blend(tmp_path, [_member("one", 32), _member("two", 48)])
    prepared: list[str] = []
    monkeypatch.setattr(
        prepare_model, "_prepare", lambda spec, path, trust: prepared.append(path.name)
    )
    assert main(["prepare-model", "--model", str(spec_path)]) == 0
    assert prepared == ["one.spec.json", "two.spec.json"]


def test_a_blend_has_no_keras_model_of_its_own(tmp_path: Path) -> None:
    from deepfake_analyzer.models.loader import load_keras_from_spec

    spec_path = _write_blend(tmp_path, [_member("one", 32)])
    with pytest.raises(ModelError, match="member specs"):
        load_keras_from_spec(spec_path)


class _Capped(FakeClassifier):
    threads = 0

    def with_threads(self, threads: int) -> _Capped:
        capped = _Capped(self.spec)
        capped.threads = threads
        return capped


def test_with_threads_caps_the_members_that_can_be_capped() -> None:
    plain, capped = _member("plain", 32), _Capped(replace(FAKE_SPEC, name="capped"))
    blend = Blend((BlendMember("p.spec.json", "", 1.0), BlendMember("c.spec.json", "", 1.0)))
    classifier = BlendClassifier(FAKE_SPEC, "x", blend, [plain, capped])
    one = classifier.with_threads(1)
    assert one.members[0] is plain and one.members[1].threads == 1  # type: ignore[attr-defined]
    assert one.sha256 == "x" and one.blend is blend
    solo = BlendClassifier(FAKE_SPEC, "x", Blend(blend.members[:1]), [plain])
    assert solo.with_threads(1) is solo


def test_a_blend_member_that_is_a_blend_is_refused(tmp_path: Path) -> None:
    from deepfake_analyzer.models.loader import load_classifier

    blend = Blend((BlendMember("self.spec.json", "0" * 64, 1.0),))
    blend_path = blend.save(tmp_path / "self.blend.json")
    spec = replace(ModelSpec(name="self"), weights_format=BLEND_FORMAT).with_weights(blend_path)
    spec.save(tmp_path / "self.spec.json")  # the blend names its own spec
    with pytest.raises(ModelError, match="itself a blend"):
        load_classifier(tmp_path / "self.spec.json")


def test_prepare_model_fuse_prepares_the_fused_blend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepfake_analyzer.cli import prepare_model
    from deepfake_analyzer.cli.main import main
    from deepfake_analyzer.training import texture_export

    spec_path = _write_blend(tmp_path, [_member("one", 32), _member("two", 48)])
    fused = tmp_path / "fused"
    fused.mkdir()
    fused_path = _write_blend(fused, [_member("only", 32)])
    asked: list[tuple[Path, str]] = []

    def fuse(path: Path, name: str) -> Path:
        asked.append((path, name))
        return fused_path

    monkeypatch.setattr(texture_export, "fuse_blend", fuse)
    prepared: list[str] = []
    monkeypatch.setattr(
        prepare_model, "_prepare", lambda spec, path, trust: prepared.append(path.name)
    )
    assert main(["prepare-model", "--model", str(spec_path), "--fuse", "v2"]) == 0
    assert asked == [(spec_path, "v2")] and prepared == ["only.spec.json"]
    assert f"wrote {fused_path}" in capsys.readouterr().out
