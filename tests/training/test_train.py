"""Trainer: schedule, AUC, balanced seeded batches, and a tiny end-to-end train/export/resume."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from training_fakes import FakeDetector, FakeMesh

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.training.augment import NO_AUGMENT
from deepfake_analyzer.training.extract import CropRecord, ExtractConfig, extract_crops
from deepfake_analyzer.training.progress import (
    CheckpointSaved,
    Evaluated,
    TrainFinished,
    TrainProgress,
)
from deepfake_analyzer.training.sbi import DEFAULT_SBI
from deepfake_analyzer.training.sources import discover_labeled, discover_real
from deepfake_analyzer.training.train import (
    BatchMaker,
    CropSet,
    StopRequest,
    TrainConfig,
    TrainRequest,
    export_checkpoint,
    learning_rate_at,
    learning_rate_at_time,
    roc_auc,
    train,
)


def test_roc_auc_matches_hand_computed_values() -> None:
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == pytest.approx(0.75)
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == pytest.approx(0.5)
    assert roc_auc(np.array([1, 0]), np.array([0.9, 0.1])) == 1.0
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.3])))


def test_learning_rate_warms_up_then_decays() -> None:
    cfg = TrainConfig(learning_rate=1e-3, warmup_fraction=0.1, final_lr_fraction=0.0)
    lrs = [learning_rate_at(s, 100, cfg) for s in range(100)]
    assert lrs[0] < lrs[5] < lrs[9] == pytest.approx(1e-3)
    assert lrs[50] < lrs[10] and lrs[99] < 1e-5
    assert all(b <= a for a, b in zip(lrs[10:], lrs[11:], strict=False))


def test_time_schedule_ends_at_the_floor_when_the_budget_ends() -> None:
    cfg = TrainConfig(learning_rate=1e-3, warmup_fraction=0.1, final_lr_fraction=0.02)
    assert learning_rate_at_time(0.0, 100.0, cfg) < 1e-4
    assert learning_rate_at_time(10.0, 100.0, cfg) == pytest.approx(1e-3)
    assert learning_rate_at_time(100.0, 100.0, cfg) == pytest.approx(2e-5)
    assert learning_rate_at_time(500.0, 100.0, cfg) == pytest.approx(2e-5)


def test_config_validates() -> None:
    with pytest.raises(UsageError):
        TrainConfig(input_size=64)
    with pytest.raises(UsageError):
        TrainConfig(epochs=None, minutes=None)


def crop_set(n: int, label: int, dataset: str, size: int = 32) -> CropSet:
    rng = np.random.default_rng(label)
    images = rng.integers(0, 255, (n, size, size, 3), dtype=np.uint8)
    records = [
        CropRecord(
            f"{dataset}{i}.png",
            f"/{dataset}/{i}",
            label,
            f"g{i}",
            dataset,
            "m",
            "image",
            0,
            0.0,
            (0.0, 0.0, 1.0, 1.0),
            1.0,
        )  # fmt: skip
        for i in range(n)
    ]
    points = np.array([[8, 8], [24, 8], [16, 26]], dtype=np.float32)
    landmarks = [points if label == 0 else None for _ in range(n)]
    return CropSet(images, records, landmarks)  # type: ignore[arg-type]


def test_batches_are_balanced_and_a_pure_function_of_seed_and_step() -> None:
    cfg = TrainConfig(input_size=72, batch_size=16, labeled_fake_share=0.5, seed=3)
    wide = cfg.wide_size  # crops are held wide; batches come out at the input size
    maker = BatchMaker(
        crop_set(10, 0, "r", wide), crop_set(5, 1, "f", wide), cfg, NO_AUGMENT, DEFAULT_SBI
    )
    x, y = maker.batch(7)
    assert x.shape == (16, 72, 72, 3) and x.dtype == np.uint8
    assert y.sum() == 8
    x2, y2 = maker.batch(7)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(maker.batch(8)[0], x)


def _marked(label: int, groups: list[str], kinds: list[str], size: int) -> CropSet:
    """`crop_set`'s crops with the given people and media, each one flat grey (crop i of reals
    is i, of fakes 100 + i), so a batch's crop says where it came from after framing."""
    crops = crop_set(len(groups), label, "d", size)
    base = 0 if label == 0 else 100
    crops.images = np.stack([np.full_like(crops.images[0], base + i) for i in range(len(groups))])
    crops.records = [
        replace(r, group=g, kind=k) for r, g, k in zip(crops.records, groups, kinds, strict=True)
    ]
    return crops


def test_paired_fakes_bring_a_real_of_the_same_person_into_the_batch() -> None:
    from deepfake_analyzer.training.train import same_person_reals

    size = TrainConfig(input_size=72).wide_size
    reals = _marked(0, ["ann", "ann", "bob", "bob", "cy", "cy"],
                    ["image", "video", "video", "video", "image", "image"], size)  # fmt: skip
    fakes = _marked(1, ["ann", "bob", "dee"], ["video", "image", "video"], size)
    partners = same_person_reals(reals, fakes)
    # ann's fake video pairs with her real video; bob has no real photo, so either medium
    assert {j: list(i) for j, i in partners.items()} == {0: [1], 1: [2, 3]}

    person = dict(enumerate(r.group for r in reals.records))
    person |= {100 + j: r.group for j, r in enumerate(fakes.records)}
    for share, paired in ((1.0, True), (0.0, False)):
        cfg = TrainConfig(input_size=72, batch_size=16, labeled_fake_share=1.0, seed=1,
                          paired_share=share)  # fmt: skip
        maker = BatchMaker(reals, fakes, cfg, NO_AUGMENT, DEFAULT_SBI)
        unpaired_fakes = 0
        for step in range(6):
            x, y = maker.batch(step)
            marks = x[:, 36, 36, 0].astype(int)
            real_people = sorted(person[m] for m in marks[y == 0])
            fake_people = sorted(person[m] for m in marks[y == 1])
            assert len(fake_people) == 8
            unpaired_fakes += fake_people.count("dee")
            if paired:  # every fake is ann's or bob's, and each brought a real of its person
                assert "dee" not in fake_people
                assert all(real_people.count(p) >= fake_people.count(p) for p in ("ann", "bob"))
        assert (unpaired_fakes == 0) == paired


def test_paired_share_is_a_share() -> None:
    with pytest.raises(UsageError, match="paired share"):
        TrainConfig(paired_share=1.5)


def test_no_fakes_at_all_is_a_usage_error() -> None:
    reals = crop_set(4, 0, "r")
    reals.landmarks = [None] * 4
    with pytest.raises(UsageError, match="no fakes"):
        BatchMaker(reals, crop_set(0, 1, "f"), TrainConfig(), NO_AUGMENT, DEFAULT_SBI)


def _write_faces(folder: Path, n: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        image = rng.integers(0, 200, (80, 96, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"face_{seed}_{i}.png"), image)


@pytest.mark.slow
def test_tiny_end_to_end_train_export_load_and_resume(tmp_path: Path) -> None:
    labeled, reals = tmp_path / "labeled", tmp_path / "reals"
    _write_faces(labeled / "real", 4, 1)
    _write_faces(labeled / "fake", 4, 2)
    _write_faces(reals, 6, 3)
    config = TrainConfig(input_size=72, batch_size=4, epochs=1, minutes=None, steps_per_epoch=2,
                         val_fraction=0.3, precision="float32")  # fmt: skip
    extract = ExtractConfig(crop_size=128, frames_per_video=2)
    items = discover_labeled(labeled) + discover_real(reals)
    # train cuts crops `config.context` times wider (room for framing jitter)
    extract_crops(items, tmp_path / "cache" / "crops", replace(extract, context=config.context),
                  detector=FakeDetector(), face_mesh=FakeMesh())  # fmt: skip
    request = TrainRequest(
        labeled=(labeled,), real=(reals,), output_dir=tmp_path / "out",
        cache_dir=tmp_path / "cache", config=config, extract=extract,
    )  # fmt: skip
    stop = StopRequest()
    events: list = []

    def stop_after_first_step(event: object) -> None:
        events.append(event)
        if isinstance(event, TrainProgress):
            stop.stop()

    with pytest.raises(KeyboardInterrupt):
        train(request, stop_after_first_step, stop)
    state = json.loads((request.run_dir / "state.json").read_text())
    assert state["step"] == 1
    with pytest.raises(UsageError, match="pass resume"):
        train(request, events.append)

    events.clear()
    spec_path = train(replace(request, resume=True), events.append)
    assert spec_path.name == "deepfake_xception.spec.json"
    assert any(isinstance(e, Evaluated) for e in events)
    assert any(isinstance(e, CheckpointSaved) for e in events)
    assert isinstance(events[-1], TrainFinished) and events[-1].step == 2
    state = json.loads((request.run_dir / "state.json").read_text())
    assert state["step"] == 2 and [h["step"] for h in state["history"]] == [2]
    spec = json.loads(spec_path.read_text())
    assert spec["input_size"] == 72 and spec["weights_sha256"] and spec["training"]["steps"] == 2
    assert (tmp_path / "cache" / "heldout.json").is_file()

    again_request = replace(request, output_dir=tmp_path / "again", run_name="out")
    again = export_checkpoint(again_request, events.append)
    from deepfake_analyzer.models.f16_weights import read_weights_f16

    _, exported = read_weights_f16(spec_path.parent / spec["weights_file"])
    _, reexported = read_weights_f16(again.parent / spec["weights_file"])
    assert all(np.array_equal(a, b) for a, b in zip(exported, reexported, strict=True))

    from deepfake_analyzer.models.loader import load_classifier

    classifier = load_classifier(spec_path)
    scores = classifier.predict(np.zeros((3, 72, 72, 3), dtype=np.uint8))
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))

    # `init`: a new run starts from the exported model's weights, not from random ones
    from deepfake_analyzer.training.train import _build_model

    started = _build_model(config, init=spec_path).model.get_weights()
    assert len(started) == len(exported)
    assert all(np.array_equal(a, b.astype(a.dtype)) for a, b in zip(started, exported, strict=True))
    assert not np.array_equal(_build_model(config).model.get_weights()[0], started[0])


def test_framing_at_scale_one_is_the_analyzers_crop() -> None:
    from deepfake_analyzer.faces.crop import crop_face
    from deepfake_analyzer.training.train import frame_crop

    rng = np.random.default_rng(0)
    image = cv2.GaussianBlur(rng.integers(0, 255, (400, 500, 3), dtype=np.uint8), (0, 0), 3)
    box = (180.0, 120.0, 300.0, 260.0)
    cfg = TrainConfig(input_size=96)
    wide = crop_face(image, box, 1.3 * cfg.context, cfg.wide_size)
    framed = frame_crop(wide, cfg.context, 1.0, 0.0, 0.0, cfg.input_size)
    direct = crop_face(image, box, 1.3, cfg.input_size)
    assert np.abs(framed.astype(int) - direct.astype(int)).mean() < 4
    bigger = frame_crop(wide, cfg.context, 1.4, 0.0, 0.0, cfg.input_size)
    assert np.abs(bigger.astype(int) - crop_face(image, box, 1.3 * 1.4, 96).astype(int)).mean() < 4


def test_sampling_gives_each_medium_an_equal_share() -> None:
    from dataclasses import replace as dc_replace

    photos = crop_set(90, 0, "photos")
    videos = crop_set(10, 0, "clips")
    records = photos.records + [dc_replace(r, kind="video") for r in videos.records]
    both = CropSet(np.concatenate([photos.images, videos.images]), records, [None] * 100)
    p = both.sampling_weights(lambda r: (r.dataset,), 0.5)
    kinds = np.array([r.kind for r in records])
    assert p.sum() == pytest.approx(1.0)
    assert p[kinds == "video"].sum() == pytest.approx(0.5)


def test_family_strata_keep_a_familys_share_as_other_families_gain_generators() -> None:
    from dataclasses import replace as dc_replace

    from deepfake_analyzer.training.train import fake_strata

    # one GAN-face generator against five GAN-edit generators, photos only
    methods = ["stylegan2"] * 40 + [f"{g}" for g in ("psp", "e4e", "pti", "sam", "hisd")] * 4
    base = crop_set(len(methods), 1, "wild")
    records = [dc_replace(r, method=m) for r, m in zip(base.records, methods, strict=True)]
    fakes = CropSet(base.images, records, base.landmarks)
    gan = np.array(methods) == "stylegan2"
    by_generator = fakes.sampling_weights(fake_strata("generator"), 0.0)
    by_family = fakes.sampling_weights(fake_strata("family"), 0.0)
    assert by_generator[gan].sum() == pytest.approx(1 / 6)
    assert by_family[gan].sum() == pytest.approx(1 / 2)
    assert by_family.sum() == pytest.approx(1.0)
    # within the GAN-edit family each generator keeps an equal share, shared by its crops
    assert by_family[np.array(methods) == "psp"].sum() == pytest.approx(1 / 10)
    assert len(set(np.round(by_family[gan], 12))) == 1
    with pytest.raises(UsageError, match="fake strata"):
        TrainConfig(fake_strata="person")


def test_divergence_guard_restores_the_last_good_state() -> None:
    from deepfake_analyzer.training.train import DivergenceGuard

    class Var:
        def __init__(self, value: float) -> None:
            self.value = np.array([value])

        def numpy(self) -> np.ndarray:
            return self.value

        def assign(self, value: np.ndarray) -> None:
            self.value = np.array(value)

    class Model:
        def __init__(self) -> None:
            self.weights = [np.array([1.0])]

        def get_weights(self) -> list[np.ndarray]:
            return self.weights

        def set_weights(self, weights: list[np.ndarray]) -> None:
            self.weights = [np.array(w) for w in weights]

    model, slot = Model(), Var(0.5)
    optimizer = type("Opt", (), {"variables": [slot]})()
    guard = DivergenceGuard(model, optimizer, every=10, max_restores=1)
    assert guard.after_step(1, 0.7)  # first good step: snapshot
    model.weights, slot.value = [np.array([np.nan])], np.array([np.nan])
    assert not guard.after_step(2, float("nan"))
    assert model.weights[0][0] == 1.0 and slot.value[0] == 0.5 and guard.step == 1
    with pytest.raises(UsageError, match="diverged"):
        guard.after_step(3, float("inf"))

    # a finite loss with a weight gone non-finite (an overflowed batch-norm variance) is no
    # good state: the next snapshot is refused and the last good one comes back
    guard = DivergenceGuard(model, optimizer, every=10, max_restores=1)
    assert guard.after_step(1, 0.7)
    model.weights = [np.array([np.inf])]
    assert guard.after_step(5, 0.6)  # between snapshots: not looked at
    assert not guard.after_step(11, 0.6)
    assert model.weights[0][0] == 1.0 and guard.step == 1
    with pytest.raises(UsageError, match="validation scores"):
        guard.restore(12, "validation scores that are not finite")


def test_validation_scores_that_are_not_finite_are_reported_as_such() -> None:
    from deepfake_analyzer.models.spec import ModelSpec
    from deepfake_analyzer.training.train import NonFiniteScores, ValidationData, evaluate_sets

    val, index = ValidationData.build({"r": np.zeros((2, 8, 8, 3), np.uint8),
                                       "f": np.zeros((2, 8, 8, 3), np.uint8)})  # fmt: skip
    val.add("set", index["r"], index["f"])
    spec = ModelSpec(name="m", input_size=32)
    fine = evaluate_sets(lambda x: np.linspace(0, 1, len(x)), spec, val)
    assert fine == {"set": 1.0}
    with pytest.raises(NonFiniteScores):
        evaluate_sets(lambda x: np.full(len(x), np.nan), spec, val)


def test_a_resumed_run_keeps_the_backbone_it_started_from(tmp_path: Path) -> None:
    from deepfake_analyzer.training.train import TrainRequest, _backbone_summary

    weights = tmp_path / "base.weights.h5"
    weights.write_bytes(b"weights")
    started = TrainRequest(cache_dir=tmp_path, run_name="r", backbone=weights)
    recorded = _backbone_summary(started)
    assert recorded is not None and recorded["file"] == "base.weights.h5"
    started.run_dir.mkdir(parents=True)
    (started.run_dir / "config.json").write_text(json.dumps({"backbone": recorded}))
    resumed = TrainRequest(cache_dir=tmp_path, run_name="r", resume=True)
    assert _backbone_summary(resumed) == recorded
    assert _backbone_summary(TrainRequest(cache_dir=tmp_path, run_name="r")) is None


def test_init_refuses_a_model_fed_otherwise_and_a_resumed_run_keeps_its_record(
    tmp_path: Path,
) -> None:
    from deepfake_analyzer.models.spec import ModelSpec
    from deepfake_analyzer.training.train import _init_summary, check_init

    spec_path = tmp_path / "m.spec.json"
    ModelSpec(name="m", input_size=128, scaling="symmetric", weights_sha256="ab" * 32).save(
        spec_path
    )
    extract = ExtractConfig()
    assert check_init(spec_path, TrainConfig(input_size=128), extract).name == "m"
    with pytest.raises(UsageError, match="input size is 128, this run's 160") as refused:
        check_init(spec_path, TrainConfig(input_size=160), extract)
    assert refused.value.options == ("input_size",) and refused.value.path == str(spec_path)
    with pytest.raises(UsageError, match="crop margin"):
        check_init(spec_path, TrainConfig(input_size=128), replace(extract, margin=1.6))

    with pytest.raises(UsageError, match="not both"):
        TrainRequest(backbone=tmp_path / "b.weights.h5", init=spec_path)
    started = TrainRequest(cache_dir=tmp_path, run_name="r", init=spec_path)
    recorded = _init_summary(started)
    assert recorded == {"spec": str(spec_path), "name": "m", "weights_sha256": "ab" * 32}
    started.run_dir.mkdir(parents=True)
    (started.run_dir / "config.json").write_text(json.dumps({"init": recorded}))
    assert _init_summary(TrainRequest(cache_dir=tmp_path, run_name="r", resume=True)) == recorded
    assert _init_summary(TrainRequest(cache_dir=tmp_path, run_name="r")) is None


def test_the_spec_records_how_fakes_were_self_blended(tmp_path: Path) -> None:
    from deepfake_analyzer.training.checkpoint import TrainState
    from deepfake_analyzer.training.sbi import SbiConfig
    from deepfake_analyzer.training.train import training_summary

    plain = training_summary(TrainRequest(cache_dir=tmp_path), TrainState())
    assert plain["sbi"]["lower_face_share"] == 0.0 and "lower face" not in plain["recipe"]
    lower = TrainRequest(cache_dir=tmp_path, sbi=SbiConfig(lower_face_share=0.5))
    summary = training_summary(lower, TrainState())
    assert summary["sbi"]["lower_face_share"] == 0.5
    assert "SBI, 50% over the lower face only" in summary["recipe"]
    assert "same person" not in plain["recipe"]
    paired = TrainRequest(cache_dir=tmp_path, config=TrainConfig(paired_share=0.25))
    assert (
        "25% beside a real of the same person" in training_summary(paired, TrainState())["recipe"]
    )


def test_a_resumed_run_refuses_another_recipe_but_not_another_budget(tmp_path: Path) -> None:
    from deepfake_analyzer.training.train import _config_dict, check_resume

    started = TrainRequest(
        labeled=(tmp_path / "wild",), real=(tmp_path / "reals",), cache_dir=tmp_path,
        run_name="r", config=TrainConfig(minutes=75, learning_rate=8e-4),
        extract=ExtractConfig(frames_per_video=12),
    )  # fmt: skip
    started.run_dir.mkdir(parents=True)
    (started.run_dir / "config.json").write_text(json.dumps(_config_dict(started)))
    resumed = replace(started, resume=True)
    check_resume(resumed)
    check_resume(replace(resumed, config=TrainConfig(minutes=120, learning_rate=8e-4)))
    recipe = replace(
        resumed,
        config=TrainConfig(minutes=75, learning_rate=1e-3),
        extract=ExtractConfig(frames_per_video=36),
        sbi=replace(DEFAULT_SBI, lower_face_share=0.5),
    )
    with pytest.raises(UsageError) as refused:
        check_resume(recipe)
    message = str(refused.value)
    assert "\n" not in message and str(started.run_dir) in message
    for change in ("learning_rate 0.0008, now 0.001", "frames_per_video 12, now 36",
                   "lower_face_share 0.0, now 0.5"):  # fmt: skip
        assert change in message
    with pytest.raises(UsageError, match="labeled folders"):
        check_resume(replace(resumed, labeled=(tmp_path / "other",)))
    check_resume(replace(recipe, resume=False))  # a new run is not checked
    (started.run_dir / "config.json").write_text("{not json")
    check_resume(recipe)
