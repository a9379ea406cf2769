"""train-temporal end to end on a tiny synthetic dataset (cached sequences, no real media)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from temporal_synth import FAKE, REAL, talking_face

from deepfake_analyzer.cli.main import main
from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.temporal.extract import SequenceCache, SequenceConfig
from deepfake_analyzer.temporal.model import load_temporal_model
from deepfake_analyzer.temporal.sequence import LandmarkSequence
from deepfake_analyzer.temporal.train import (
    TrainTemporalRequest,
    generator_folds,
    group_folds,
    sample_weights,
    train_temporal,
)
from deepfake_analyzer.training.protocol import split_protocol
from deepfake_analyzer.training.sources import discover_labeled

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synthetic_dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data root with manifest.csv, cache dir): 30 real people, wav2lip fakes (a trained
    generator) and liveportrait fakes (held out by the protocol), one real too short."""
    root = tmp_path_factory.mktemp("temporal-data")
    data, cache_dir = root / "data", root / "cache"
    (data / "videos").mkdir(parents=True)
    rows = []
    cache = SequenceCache(cache_dir / SequenceConfig().key())
    specs = [(f"real{i}", "real", f"person{i}", REAL) for i in range(30)]
    specs += [(f"w2l{i}", "wav2lip", f"w2l-person{i}", FAKE) for i in range(14)]
    specs += [(f"lp{i}", "liveportrait", f"lp-person{i}", FAKE) for i in range(6)]
    for k, (name, generator, identity, motion) in enumerate(specs):
        path = data / "videos" / f"{name}.mp4"
        path.write_bytes(name.encode())
        points, times = talking_face(motion, seed=k)
        if name == "real29":
            points, times = points[:5], times[:5]
        LandmarkSequence(points, times, np.ones(len(times))).save(cache.path_for(path))
        label = "real" if generator == "real" else "fake"
        rows.append({"file": f"videos/{name}.mp4", "label": label, "kind": "video",
                     "identity": identity, "generator": generator})  # fmt: skip
    with open(data / "manifest.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return data, cache_dir


def test_trains_on_the_protocols_train_part_and_scores_its_heldout(
    synthetic_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    data, cache_dir = synthetic_dataset
    split = split_protocol(discover_labeled(data))
    request = TrainTemporalRequest(
        data=(data,), output=tmp_path / "m.json", scores_path=tmp_path / "s.json",
        cache_dir=cache_dir, folds=3,
    )  # fmt: skip
    result = train_temporal(request)
    assert result.train_videos == len(split.train)
    assert result.heldout_videos == len(split.heldout)
    assert result.model.training["videos"] == result.train_scored
    scored_paths = {s.path for s in result.scores}
    assert scored_paths == {str(i.path) for i in split.heldout}
    assert not scored_paths & {str(i.path) for i in split.train}
    assert result.auc is not None and result.auc > 0.9
    assert {g.name for g in result.generators} == {"liveportrait"}
    assert result.real_fpr is not None and result.real_fpr <= 0.2
    assert load_temporal_model(result.model_path) == result.model
    with open(result.training_list_path, newline="") as handle:
        listed = list(csv.DictReader(handle))
    assert len(listed) == result.train_scored
    assert all(row["generator"] != "liveportrait" for row in listed)
    assert "real29" not in (tmp_path / "m.json").read_text()


def test_cli_prints_the_heldout_table_and_writes_scores(
    synthetic_dataset: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    data, cache_dir = synthetic_dataset
    out, scores = tmp_path / "model.json", tmp_path / "scores.json"
    code = main(["train-temporal", str(data), "--cache-dir", str(cache_dir), "-o", str(out),
                 "--scores", str(scores), "--folds", "3", "-q"])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "liveportrait" in printed and "video AUC" in printed
    payload = json.loads(scores.read_text())
    by_name = {Path(v["path"]).stem: v for v in payload["videos"]}
    assert all(v["generator"] == "liveportrait" for v in by_name.values() if v["label"] == "fake")
    short = by_name.get("real29")
    if short is not None:  # the short real is held out only if its person is
        assert short["temporal_score"] is None and short["no_score_reason"] == "too-few-frames"
    assert all(
        0 <= v["temporal_score"] <= 1 for v in payload["videos"] if v["temporal_score"] is not None
    )
    assert (tmp_path / "model.training-data.csv").is_file()


def _fit(dataset: tuple[Path, Path], out: Path, name: str, **options: Any) -> Any:
    """train_temporal on the synthetic dataset, writing `name`.json and its scores in `out`."""
    data, cache_dir = dataset
    return train_temporal(
        TrainTemporalRequest(data=(data,), output=out / f"{name}.json", cache_dir=cache_dir,
                             scores_path=out / f"{name}-scores.json", folds=3,
                             **options)
    )  # fmt: skip


def test_baseline_is_compared_on_the_same_heldout_videos_even_when_it_is_replaced(
    synthetic_dataset: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    from dataclasses import replace

    data, cache_dir = synthetic_dataset
    first = _fit(synthetic_dataset, tmp_path, "first")
    # a baseline that ranks backwards, written where the new model goes
    backwards = replace(first.model, weights=tuple(-w for w in first.model.weights))
    target = backwards.save(tmp_path / "m.json")
    code = main(["train-temporal", str(data), "--cache-dir", str(cache_dir), "-o", str(target),
                 "--scores", str(tmp_path / "s2.json"), "--folds", "3", "--baseline",
                 str(target), "-q"])  # fmt: skip
    assert code == 0
    assert load_temporal_model(target) == first.model  # same data, same fit: replaced
    printed = capsys.readouterr().out
    assert "against" in printed and "better" in printed
    result = _fit(synthetic_dataset, tmp_path, "again", baseline=tmp_path / "first.json")
    assert result.comparison is not None
    video = result.comparison.rows[0]
    assert video.name == "video" and video.difference == 0.0 and video.verdict == "unclear"
    assert result.comparison.matched == result.heldout_scored


def test_judged_only_folders_join_the_heldout_table_and_are_never_fitted(
    synthetic_dataset: tuple[Path, Path], tmp_path: Path
) -> None:
    data, cache_dir = synthetic_dataset
    both = _fit(synthetic_dataset, tmp_path, "both")
    with pytest.raises(UsageError, match="labeled data folder"):
        train_temporal(
            TrainTemporalRequest(data=(), judge=(data,), output=tmp_path / "b.json",
                                 cache_dir=cache_dir, folds=3)
        )  # fmt: skip
    # a second folder (a copy, cached alike) only to judge on
    import shutil

    copy = tmp_path / "judged"
    shutil.copytree(data, copy)
    cache = SequenceCache(cache_dir / SequenceConfig().key())
    for video in (data / "videos").iterdir():
        sequence = cache.load(video)
        assert sequence is not None
        sequence.save(cache.path_for(copy / "videos" / video.name))
    judged = _fit(synthetic_dataset, tmp_path, "judged", judge=(copy,))
    assert judged.heldout_videos == 2 * both.heldout_videos
    assert judged.train_videos == both.train_videos
    assert judged.model == both.model
    assert any(str(copy) in s.path for s in judged.scores)


def test_cli_usage_errors() -> None:
    assert main(["train-temporal"]) == 2
    with pytest.raises(UsageError, match="folds"):
        TrainTemporalRequest(data=(Path("."),), folds=1)


def test_group_folds_keep_groups_whole_and_weights_balance_classes() -> None:
    groups = [f"g{i // 3}" for i in range(30)]
    folds = group_folds(groups, 4)
    for g in set(groups):
        assert len({f for f, h in zip(folds, groups, strict=True) if h == g}) == 1
    assert set(folds.tolist()) == {0, 1, 2, 3}
    labels = np.array([0] * 10 + [1] * 6)
    gens = ["real"] * 10 + ["a"] * 4 + ["b"] * 2
    w = sample_weights(labels, gens)
    assert w[labels == 0].sum() == pytest.approx(w[labels == 1].sum())
    assert w[10:14].sum() / w[14:].sum() == pytest.approx(np.sqrt(4) / np.sqrt(2))


def test_generator_folds_hold_out_a_fakes_generator_and_a_reals_person_whole() -> None:
    fakes = [True] * 12 + [False] * 12
    generators = [f"gen{i % 4}" for i in range(12)] + ["real"] * 12
    people = [f"fake-person{i}" for i in range(12)] + [f"p{i % 6}" for i in range(12)]
    folds = generator_folds(fakes, generators, people, 3)
    for key, members in (("gen", generators[:12]), ("p", people[12:])):
        offset = 0 if key == "gen" else 12
        for name in set(members):
            assert len({folds[offset + i] for i, m in enumerate(members) if m == name}) == 1
    # a fake's person does not bind it: two fakes of one person but different generators may
    # sit in different folds, as their generators decide
    assert len({folds[i] for i in range(4)}) > 1
