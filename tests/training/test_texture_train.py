"""training/texture_train.py's own arithmetic: the training weights, the weighted AUC that picks
the L2 strength, and the per-file scores it judges."""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

import numpy as np
import pytest

from deepfake_analyzer.training import texture_train
from deepfake_analyzer.training.metrics import roc_auc


@pytest.fixture(scope="module")
def probe() -> ModuleType:
    return texture_train


def _crop(probe: ModuleType, **kw: object) -> object:
    base = dict(
        source="a.mp4", label=0, kind="video", method="real", group="g", part="train", blended=False
    )
    return probe.Crop(**{**base, **kw})


def test_weighted_auc_is_the_auc_with_ties_and_repeats(probe: ModuleType) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.normal(size=200) + y, 1)  # many ties
    assert probe.weighted_auc(y, s, np.ones(200)) == pytest.approx(roc_auc(y, s))
    w = rng.integers(1, 4, 200)
    repeated = np.repeat(np.arange(200), w)
    assert probe.weighted_auc(y, s, w.astype(float)) == pytest.approx(
        roc_auc(y[repeated], s[repeated])
    )
    kept = rng.random(200) < 0.6  # a zero weight leaves the crop out (unjudged self-blends)
    assert probe.weighted_auc(y, s, kept.astype(float)) == pytest.approx(roc_auc(y[kept], s[kept]))


def test_training_weights_split_by_shares(probe: ModuleType) -> None:
    crops = [
        *(_crop(probe, source=f"v{i}") for i in range(3)),
        *(_crop(probe, source=f"p{i}", kind="image") for i in range(5)),
        *(_crop(probe, source=f"x{i}", label=1, method="x") for i in range(6)),
        _crop(probe, source="y0", label=1, method="y"),
        *(_crop(probe, source=f"b{i}", label=1, blended=True) for i in range(4)),
        _crop(probe, source="held", label=1, method="y", part="heldout"),
        _crop(probe, source="out", part=""),
    ]
    w = probe.weights_of(crops)
    share = {k: v * w.sum() for k, v in probe.SHARES.items()}
    assert w[:3].sum() == pytest.approx(share["real video"])
    assert w[3:8].sum() == pytest.approx(share["real image"])
    assert w[8:14].sum() == pytest.approx(share["labeled fake"] / 2)  # generator x: 6 crops
    assert w[14] == pytest.approx(share["labeled fake"] / 2)  # y: 1 crop, as much as all of x
    assert w[15:19].sum() == pytest.approx(share["self-blended"])
    assert sum(probe.SHARES.values()) == pytest.approx(1.0)
    assert w[19] == 0 and w[20] == 0
    assert w.sum() == pytest.approx(19)  # mean weight 1 over the weighted crops
    residual = probe.weights_of(crops, probe.shares_of("residual"))
    assert probe.shares_of("face") is probe.SHARES
    assert sum(probe.RESIDUAL_SHARES.values()) == pytest.approx(1.0)
    assert not residual[15:19].any()  # no self-blends: their noise is the camera's
    assert residual[8:15].sum() / residual[:8].sum() == pytest.approx(1.0)  # fakes half
    assert residual.sum() == pytest.approx(15)


def test_matched_resolution_gives_real_photos_the_fake_photos_mix(probe: ModuleType) -> None:
    def photo(side: int, label: int = 0, **kw: object) -> object:
        method = "x" if label else "real"
        return _crop(probe, kind="image", short_side=side, label=label, method=method, **kw)

    crops = [
        *(photo(160, source=f"web{i}") for i in range(8)),  # the 160-px web photos
        photo(256, source="mid"),
        photo(1024, source="big0"),
        photo(1024, source="big1"),
        photo(400, source="no-fake-this-size"),  # no fake photo in 300-600: no weight
        photo(0, source="unknown"),  # did not open: left as it was
        photo(160, source="twin", blended=True),  # a self-blend: not a real photo's weight
        photo(180, label=1, source="fake-small"),
        *(photo(256, label=1, source=f"fake-mid{i}") for i in range(2)),
        photo(2000, label=1, source="fake-big"),
        photo(100, label=1, source="fake-tiny"),  # a bin no real photo fills
        _crop(probe, source="video"),
        _crop(probe, source="fake-video", label=1, method="y"),
    ]
    plain = probe.weights_of(crops)
    w = probe.weights_of(crops, match_resolution=True)
    bins = np.searchsorted(probe.RESOLUTION_EDGES, [c.short_side for c in crops], side="right")
    real = np.array([c.kind == "image" and c.label == 0 and c.short_side > 0 for c in crops])
    real[13] = False
    fake = np.array([c.kind == "image" and c.label == 1 for c in crops])
    w, plain = w / w.sum(), plain / plain.sum()  # shares (the weights' mean is 1 either way)
    assert w[real].sum() == pytest.approx(plain[real].sum())  # the real photos' share kept
    assert np.allclose(w[~real], plain[~real])  # every other crop as it was
    filled = sorted(set(bins[real]))  # no real photo in the fakes' < 140 bin: left out
    fake_mix = np.array([plain[fake & (bins == k)].sum() for k in filled])
    real_mix = np.array([w[real & (bins == k)].sum() for k in filled])
    assert real_mix / real_mix.sum() == pytest.approx(fake_mix / fake_mix.sum())
    assert w[11] == 0 < plain[11]
    assert w[9] == pytest.approx(w[10])  # within a bin, in proportion to the weight
    assert w[0] < plain[0] and w[8] > plain[8]  # web photos count less, the 256-px one more
    assert probe.weights_of(crops[:9], match_resolution=True) == pytest.approx(
        probe.weights_of(crops[:9])
    )  # no labeled fake photo: nothing to match


def test_a_photos_short_side_is_read_from_its_header(probe: ModuleType, tmp_path) -> None:
    import cv2

    cv2.imwrite(str(tmp_path / "p.jpg"), np.zeros((50, 80, 3), np.uint8))
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    known: dict[str, int] = {}
    photo = str(tmp_path / "p.jpg")
    assert probe._short_side(known, photo) == 50
    assert probe._short_side(known, photo + probe.SELF_BLENDED_SUFFIX) == 50  # its own photo's
    assert probe._short_side(known, str(tmp_path / "broken.jpg")) == 0
    assert probe._short_side(known, str(tmp_path / "missing.jpg")) == 0
    assert known[photo] == 50


def test_probe_folds_hold_out_whole_generators_and_whole_people(probe: ModuleType) -> None:
    crops = [
        *(_crop(probe, source=f"{m}{i}", label=1, method=m, group=f"p{i}")
          for m in "abcdefg" for i in range(3)),
        *(_crop(probe, source=f"r{p}{i}", group=f"p{p}") for p in range(6) for i in range(2)),
        *(_crop(probe, source=f"b{p}", label=1, blended=True, group=f"p{p}") for p in range(6)),
    ]  # fmt: skip
    folds = probe.probe_folds(crops)
    assert set(folds) == set(range(5))
    fakes = [(c.method, f) for c, f in zip(crops, folds, strict=True) if c.label and not c.blended]
    by_generator = {m: {f for n, f in fakes if n == m} for m, _ in fakes}
    assert all(len(f) == 1 for f in by_generator.values())  # a generator's fakes: one fold
    others = [(c.group, f) for c, f in zip(crops, folds, strict=True) if not c.label or c.blended]
    assert all(len({f for g, f in others if g == group}) == 1 for group, _ in others)
    # a fake showing person p0 is grouped by its generator, not by p0
    assert len({f for c, f in zip(crops, folds, strict=True) if c.group == "p0"}) > 1


def test_file_scores_judge_held_out_files_only(probe: ModuleType) -> None:
    crops = [
        *(_crop(probe, source="v.mp4", part="heldout") for _ in range(8)),
        _crop(probe, source="v.mp4#self-blended", part="heldout", blended=True),
        _crop(probe, source="t.mp4"),
        _crop(probe, source="i.png", kind="image", part="heldout"),
    ]
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.99, 0.99, 0.25])
    files = {f.source: f.score for f in probe.file_scores(scores, crops)}
    assert files == {"v.mp4": pytest.approx(0.75), "i.png": 0.25}  # top quarter of 8: 2


def test_combination_follows_both_scores(probe: ModuleType) -> None:
    crops = [_crop(probe, source=f"s{i}") for i in range(4)]
    a = np.array([0.2, 0.4, 0.6, 0.8])
    combined = probe.combine([a, a[::-1]], crops)
    assert np.allclose(combined, combined[0])  # opposite rankings cancel out
    assert np.all(np.diff(probe.combine([a, a], crops)) > 0)


def test_augmented_copies_are_reframed_and_reproducible(probe: ModuleType) -> None:
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    first = probe.augment_copy(crop, np.random.default_rng(5))
    again = probe.augment_copy(crop, np.random.default_rng(5))
    assert first.shape == crop.shape and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, crop)


def test_augmented_copies_share_their_originals_weight(probe: ModuleType) -> None:
    crops = [
        _crop(probe, source="v0"),
        _crop(probe, source="v0", augmented=True),
        _crop(probe, source="v1"),
        _crop(probe, source="x0", label=1, method="x"),
        _crop(probe, source="x0", label=1, method="x", augmented=True),
    ]
    w = probe.weights_of(crops)
    ratio = probe.SHARES["real video"] / probe.SHARES["labeled fake"]
    assert w[0] == pytest.approx(w[1]) and w[0] + w[1] + w[2] == pytest.approx(
        ratio * (w[3] + w[4])
    )


def test_augmented_copies_are_neither_judged_nor_blend_reference(probe: ModuleType) -> None:
    clean = [_crop(probe, source=f"s{i}") for i in range(4)]
    copies = [_crop(probe, source=f"s{i}", augmented=True) for i in range(4)]
    a = np.array([0.2, 0.4, 0.6, 0.8])
    far = np.array([0.99, 0.99, 0.99, 0.99])  # copies far off would move the z-scoring
    both = probe.fit_blend([np.r_[a, far], np.r_[a, far]], [*clean, *copies])
    assert np.allclose(both, probe.fit_blend([a, a], clean))
    held = [_crop(probe, source="h.png", part="heldout", augmented=True)]
    assert probe.file_scores(np.array([0.9]), held) == []


def test_blend_centres_members_so_their_evidence_sums_to_its_log_odds(probe: ModuleType) -> None:
    crops = [_crop(probe, source=f"s{i}") for i in range(5)]
    a, b = np.array([0.1, 0.3, 0.5, 0.7, 0.9]), np.array([0.6, 0.2, 0.8, 0.4, 0.95])
    fitted = probe.fit_blend([a, b], crops)
    (wa, ca), (wb, cb) = fitted
    logit = np.log(a / (1 - a))
    assert ca == pytest.approx(logit.mean()) and wa == pytest.approx(1 / (2 * logit.std()))
    blend = probe.blend_of([("a.spec.json", ""), ("b.spec.json", "")], fitted)
    evidence = blend.evidence([a, b])
    p = blend.probability([a, b])
    assert np.allclose(evidence.sum(0), np.log(p / (1 - p)))
    assert np.allclose(evidence[0], wa * (logit - ca))  # a member's push from its mean


def test_the_request_names_known_distinct_regions_and_a_file_name(tmp_path) -> None:
    from deepfake_analyzer.training.texture_config import TextureRequest, member_name

    data = (tmp_path,)
    assert TextureRequest(data).regions == ("face", "mouth")
    assert member_name(TextureRequest(data).name, "mouth") == "deepfake_v4_mouth"
    assert TextureRequest(data, regions=("face", "residual")).regions[1] == "residual"
    for bad in ({"regions": ("face", "face")}, {"regions": ("nose",)}, {"regions": ()}):
        with pytest.raises(ValueError, match="regions must be distinct, among face, .*residual"):
            TextureRequest(data, **bad)
    with pytest.raises(ValueError, match="not a model name"):
        TextureRequest(data, name="../v4")
    assert TextureRequest(data, views=5).views == 5
    for views in (0, 6):
        with pytest.raises(ValueError, match="views must be 1 to 5"):
            TextureRequest(data, views=views)


def test_augmented_copies_are_stored_per_crop_and_reused(probe: ModuleType, tmp_path) -> None:
    import cv2

    from deepfake_analyzer.events import NullHook
    from deepfake_analyzer.models.texture import FEATURE_SIZE
    from deepfake_analyzer.training.extract import CropCache, CropRecord
    from deepfake_analyzer.training.feature_store import FeatureStore, crop_key

    rng = np.random.default_rng(1)
    records = []
    for i in range(4):
        cv2.imwrite(str(tmp_path / f"c{i}.png"), rng.integers(0, 256, (64, 64, 3), np.uint8))
        records.append(
            CropRecord(f"c{i}.png", f"v{i}.mp4", 0, f"p{i}", "d", "real", "video", 0, 0.0,
                       (0, 0, 64, 64), 1.0)
        )  # fmt: skip
    cache = CropCache(tmp_path, tuple(records))
    keys = [crop_key(cache, r) for r in records]
    crops = [_crop(probe, source=f"v{i}.mp4") for i in range(3)]
    crops.append(_crop(probe, source="v3.mp4", part="heldout"))
    calls: list[int] = []

    def compute(images: np.ndarray) -> np.ndarray:  # a pixel statistic stands in for a network
        calls.append(len(images))
        return np.repeat(images.reshape(len(images), -1).mean(1, keepdims=True), FEATURE_SIZE, 1)

    def run(order: list[int]) -> dict[str, float]:
        """Each copy's feature by (source, copy number)."""
        features, marked = probe.augmented_features(
            {"face": ("texture-face-x", compute)}, FeatureStore(tmp_path / "features"), cache,
            [records[i] for i in order], [keys[i] for i in order], [crops[i] for i in order], 2,
            NullHook(),
        )  # fmt: skip
        assert all(c.augmented for c in marked) and len(marked) == len(features["face"])
        seen: dict[str, int] = {}
        out = {}
        for c, f in zip(marked, features["face"], strict=True):
            seen[c.source] = seen.get(c.source, 0) + 1
            out[f"{c.source}#{seen[c.source]}"] = float(f[0])
        return out

    first = run([0, 1, 2, 3])
    assert sorted(first) == [f"v{i}.mp4#{k}" for i in range(3) for k in (1, 2)]
    assert calls == [3, 3]  # two copies of the three training crops
    assert first["v0.mp4#1"] != first["v0.mp4#2"]  # copies draw differently
    assert run([3, 2, 1, 0]) == first and calls == [3, 3]  # read back, whatever the order
    crops[3] = _crop(probe, source="v3.mp4")  # a crop joins: only its copies are made
    assert {k: v for k, v in run([0, 1, 2, 3]).items() if k in first} == first
    assert calls == [3, 3, 1, 1]


def _residual_folder(tmp_path):
    """A folder with two residual models standing in for the classifier ("cls") and an
    earlier blend's member ("old"), and 48 cached 224 px crops of 24 training and 24 held-out
    files (reals of 8 people, fakes of 4 generators, told apart by their noise)."""
    import cv2

    from deepfake_analyzer.models.residual import ResidualProbe, residual_features
    from deepfake_analyzer.training.extract import CropCache, CropRecord
    from deepfake_analyzer.training.sources import LabeledItem
    from deepfake_analyzer.training.texture_export import ProbeFit, write_probe_model

    rng = np.random.default_rng(5)
    ramp = np.linspace(30, 220, 224)[None, :, None] + np.zeros((224, 224, 3))
    records, crops, items, images = [], [], [], []
    for i in range(48):
        label, part = i % 2, ("train" if i < 24 else "heldout")
        noise = rng.normal(0, 6.0 if label else 2.0, ramp.shape)
        image = np.clip(ramp + noise, 0, 255).astype(np.uint8)
        cv2.imwrite(str(tmp_path / f"c{i}.png"), image[..., ::-1])
        source, method = f"f{i}.png", (f"gen{i % 8 // 2}" if label else "real")
        group = f"p{i % 16 // 2}" if not label else method
        records.append(CropRecord(f"c{i}.png", source, label, group, "d", method, "image", 0,
                                  0.0, (0, 0, 224, 224), 1.0))  # fmt: skip
        crops.append(_crop(texture_train, source=source, label=label, kind="image",
                           method=method, group=group, part=part))  # fmt: skip
        if part == "train":
            items.append(LabeledItem(tmp_path / f"c{i}.png", label, group, "d", method, "image"))
        images.append(image)
    images_ = np.stack(images)
    x = residual_features(images_)
    folder = tmp_path / "models"
    for name, seed in (("cls", 0), ("old", 1)):
        w = np.random.default_rng(seed).normal(size=x.shape[1]) / 40
        fit = ProbeFit(x.mean(0), x.std(0) + 1e-3, w, 0.0, 1.0)
        p = fit.probability(x)
        write_probe_model(ResidualProbe, fit, folder, name, 1.3, {}, images_[:4], p[:4])
    cache = CropCache(tmp_path, tuple(records))
    return folder, cache, records, crops, items, x


@pytest.mark.slow  # a dozen fits over 1,331 features
def test_a_residual_probe_extends_a_blend_whose_kept_members_stay_as_fitted(
    tmp_path, monkeypatch
) -> None:
    from deepfake_analyzer.errors import UsageError
    from deepfake_analyzer.models.blend import Blend, BlendClassifier
    from deepfake_analyzer.models.feature_probe import ProbeClassifier
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.models.residual import ResidualProbe
    from deepfake_analyzer.models.spec import ModelSpec
    from deepfake_analyzer.training.texture_config import TextureRequest

    folder, cache, records, crops, items, x = _residual_folder(tmp_path)
    cls, old = (load_classifier(folder / f"{n}.spec.json") for n in ("cls", "old"))
    images = np.stack([texture_train.crop_loader(0)(cache, r, 224) for r in records])
    inputs = texture_train.TextureInputs(
        crops=crops, x={"residual": x}, classifier_p=cls.predict(images), copies=[],
        x_copies={"residual": np.zeros((0, x.shape[1]))}, records=records, cache=cache,
        trained=items, classifier=cls, backbone=None, kept=(old,),
        kept_p=(old.predict(images),),
    )  # fmt: skip
    monkeypatch.setattr(texture_train, "texture_inputs", lambda request, hook: inputs)
    monkeypatch.setattr(texture_train, "L2_GRID", (300.0, 3000.0))  # 1,331 features: few fits
    request = TextureRequest(
        (tmp_path,), output=folder, regions=("residual",), name="new", augmented_copies=0,
        kept=(folder / "old.spec.json",),
    )  # fmt: skip
    result = texture_train.train_texture(request)

    assert list(result.tables) == ["cls", "old", "new_residual", "new"]
    assert result.tables["new_residual"]["rows"][0]["auc"] > 0.9  # the noise tells them apart
    blend_spec = folder / "new.spec.json"
    assert blend_spec in result.written and folder / "new.training-data.csv" in result.written
    blend = load_classifier(blend_spec)
    assert isinstance(blend, BlendClassifier)
    assert [m.name for m in blend.blend.members] == ["cls", "old", "new_residual"]
    residual = blend.members[2]
    assert isinstance(residual, ProbeClassifier) and isinstance(residual.probe, ResidualProbe)
    assert blend.blend.training["kept_as_fitted"] == ["old.spec.json"]
    assert ModelSpec.load(folder / "old.spec.json").training == old.spec.training  # untouched
    expected = texture_train.combine(
        [inputs.classifier_p, inputs.kept_p[0], result.fits["residual"].probability(x)], crops
    )
    np.testing.assert_allclose(blend.predict(images), expected, atol=1e-9)
    assert Blend.load(folder / "new.blend.json").has_evidence

    sized = [
        replace(c, short_side=160 if c.label == 0 and i % 4 else 512) for i, c in enumerate(crops)
    ]
    monkeypatch.setattr(texture_train, "texture_inputs", lambda r, h: replace(inputs, crops=sized))
    matched = replace(request, name="matched", match_resolution=True)
    again = texture_train.train_texture(matched)
    edges = ModelSpec.load(folder / "matched_residual.spec.json").training["resolution_matched"]
    assert edges == {"short_side_edges": list(texture_train.RESOLUTION_EDGES)}
    assert (
        "resolution_matched" not in load_classifier(folder / "new_residual.spec.json").spec.training
    )
    assert not np.allclose(again.fits["residual"].weights, result.fits["residual"].weights)

    alone_request = replace(request, name="alone", classifier_member=False, views=3)
    alone = texture_train.train_texture(alone_request)
    blend = load_classifier(folder / "alone.spec.json")
    assert blend.spec.views == 3 and load_classifier(blend_spec).spec.views == 1
    assert [m.name for m in blend.blend.members] == ["old", "alone_residual"]
    assert blend.blend.training["left_out"] == "cls"
    assert list(alone.tables)[0] == "cls"  # still the reference the others are paired with
    expected = texture_train.combine(
        [inputs.kept_p[0], alone.fits["residual"].probability(x)], crops
    )
    np.testing.assert_allclose(blend.predict(images), expected, atol=1e-9)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "old.spec.json").write_text((folder / "old.spec.json").read_text())
    for kept, name, why in (
        (elsewhere / "old.spec.json", "new", "must lie in"),
        (folder / "x_residual.spec.json", "x", "cannot be rewritten"),
        (blend_spec, "other", "a blend cannot be kept"),
    ):
        bad = TextureRequest((tmp_path,), output=folder, regions=("residual",), name=name,
                             augmented_copies=0, kept=(kept,))  # fmt: skip
        with pytest.raises(UsageError, match=why):  # before any crop is read
            texture_train.train_texture(bad)


def test_a_given_l2_is_fitted_as_it_is_without_cv(probe: ModuleType) -> None:
    rng = np.random.default_rng(3)
    crops = [
        *(_crop(probe, source=f"r{i}", group=f"p{i % 10}") for i in range(60)),
        *(_crop(probe, source=f"f{i}", label=1, method=f"m{i % 6}") for i in range(60)),
    ]
    y = np.array([c.label for c in crops])
    x = rng.normal(size=(120, 4)) + 0.8 * y[:, None] * np.array([1.0, 0.0, 0.0, 0.0])
    chosen, cv = probe.fit_probe(x, crops)
    assert cv and chosen.l2 in cv
    given, none = probe.fit_probe(x, crops, l2=chosen.l2)
    assert none == {}
    np.testing.assert_allclose(given.weights, chosen.weights)
    strong, _ = probe.fit_probe(x, crops, l2=1e6)
    assert strong.l2 == 1e6 and np.abs(strong.weights).sum() < np.abs(chosen.weights).sum()
