"""Discovery of labeled layouts on tiny synthetic folder trees, and group splitting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepfake_analyzer.errors import InputNotFoundError, UsageError
from deepfake_analyzer.training.sources import (
    LabeledItem,
    detect_layout,
    discover_labeled,
    discover_real,
    infer_group,
    list_layouts,
    split_by_group,
)


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def test_real_fake_folders_with_method_subfolders(tmp_path: Path) -> None:
    touch(tmp_path, "real/a.jpg", "real/b.mp4", "fake/deepfakes/c.mp4", "fake/d.png", "real/x.txt")
    items = discover_labeled(tmp_path)
    by_name = {i.path.name: i for i in items}
    assert set(by_name) == {"a.jpg", "b.mp4", "c.mp4", "d.png"}
    assert by_name["a.jpg"].label == 0 and by_name["a.jpg"].kind == "image"
    assert by_name["b.mp4"].kind == "video"
    assert by_name["c.mp4"].label == 1 and by_name["c.mp4"].method == "deepfakes"
    assert by_name["d.png"].method == "fake"


def test_labels_csv_infers_groups_for_swaps_and_dfdc_clips(tmp_path: Path) -> None:
    touch(tmp_path, "fake/a.mp4", "fake/b.mp4", "fake/x_dfdc_0_abcdefghij_0_0.mp4",
          "fake/x_dfdc_0_abcdefghij_0_1.mp4", "real/r.jpg")  # fmt: skip
    (tmp_path / "labels.csv").write_text(
        "file,label,kind,dataset\n"
        "fake/a.mp4,fake,video,DeepFaceLive swap (celeb model Keanu)\n"
        "fake/b.mp4,fake,video,DeepFaceLive swap (celeb model Keanu)\n"
        'fake/x_dfdc_0_abcdefghij_0_0.mp4,fake,video,"DFDC, face-crop clip"\n'
        'fake/x_dfdc_0_abcdefghij_0_1.mp4,fake,video,"DFDC, face-crop clip"\n'
        "real/r.jpg,real,image,Unsplash\n"
    )
    items = discover_labeled(tmp_path)
    assert detect_layout(tmp_path).name == "labels-csv"  # type: ignore[union-attr]
    groups = [i.group for i in items]
    assert groups[0] == groups[1] == "model:Keanu"
    assert groups[2] == groups[3] == "dfdc:abcdefghij"
    assert items[0].dataset == "DeepFaceLive swap"  # the per-model suffix is a group, not a set
    assert [i.label for i in items] == [1, 1, 1, 1, 0]


def test_labels_csv_rejects_unknown_labels(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("file,label\na.jpg,maybe\n")
    with pytest.raises(UsageError, match="real/fake"):
        discover_labeled(tmp_path)


def test_faceforensics_groups_pair_a_fake_with_its_sources(tmp_path: Path) -> None:
    touch(tmp_path, "original_sequences/youtube/c23/videos/000.mp4",
          "original_sequences/youtube/c23/videos/003.mp4",
          "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
          "manipulated_sequences/FaceSwap/c23/videos/003_000.mp4")  # fmt: skip
    touch(tmp_path, "original_sequences/youtube/c23/videos/007.mp4")
    items = discover_labeled(tmp_path)
    fakes = [i for i in items if i.label == 1]
    assert {i.method for i in fakes} == {"Deepfakes", "FaceSwap"}
    groups = {i.path.name: i.group for i in items}
    assert groups["000.mp4"] == groups["003.mp4"] == groups["000_003.mp4"] == "ffpp:000"
    assert groups["003_000.mp4"] == "ffpp:000" and groups["007.mp4"] == "ffpp:007"
    assert all(i.dataset == "FaceForensics++" for i in items)


def test_dfdc_metadata_groups_by_original(tmp_path: Path) -> None:
    touch(tmp_path, "part0/aaa.mp4", "part0/bbb.mp4")
    meta = {"aaa.mp4": {"label": "FAKE", "original": "bbb.mp4"}, "bbb.mp4": {"label": "REAL"}}
    (tmp_path / "part0" / "metadata.json").write_text(json.dumps(meta))
    items = discover_labeled(tmp_path)
    assert [(i.path.name, i.label, i.group) for i in items] == [
        ("aaa.mp4", 1, "dfdc:bbb"),
        ("bbb.mp4", 0, "dfdc:bbb"),
    ]


def test_celebdf_marks_official_test_videos(tmp_path: Path) -> None:
    touch(tmp_path, "Celeb-real/id0_0000.mp4", "Celeb-synthesis/id0_id1_0000.mp4",
          "YouTube-real/00001.mp4")  # fmt: skip
    (tmp_path / "List_of_testing_videos.txt").write_text("1 Celeb-real/id0_0000.mp4\n")
    items = {i.path.name: i for i in discover_labeled(tmp_path)}
    assert items["id0_0000.mp4"].dataset == "Celeb-DF-v2-test"
    assert items["id0_id1_0000.mp4"].dataset == "Celeb-DF-v2"
    assert items["id0_id1_0000.mp4"].group == items["id0_0000.mp4"].group == "celebdf:id0"
    assert items["id0_id1_0000.mp4"].label == 1


def test_unknown_layout_and_missing_folder(tmp_path: Path) -> None:
    touch(tmp_path, "clips/a.mp4")
    with pytest.raises(UsageError, match="real faces as real"):
        discover_labeled(tmp_path)
    with pytest.raises(InputNotFoundError):
        discover_labeled(tmp_path / "nope")
    assert list_layouts()[:2] == ["identity-manifest", "labels-csv"]


def test_discover_real_gives_one_group_per_file(tmp_path: Path) -> None:
    touch(tmp_path, "faces/a.jpg", "faces/b.jpg", "faces/notes.txt")
    items = discover_real(tmp_path / "faces")
    assert [(i.label, i.group) for i in items] == [(0, "faces:a"), (0, "faces:b")]


def _items(n_groups: int, per_group: int, dataset: str, label: int) -> list[LabeledItem]:
    return [
        LabeledItem(Path(f"{dataset}/{g}_{k}.jpg"), label, f"{dataset}:{g}", dataset, "m", "image")
        for g in range(n_groups)
        for k in range(per_group)
    ]


def test_split_by_group_keeps_groups_whole_and_stratifies() -> None:
    items = _items(20, 3, "a", 0) + _items(10, 2, "b", 1)
    train, val = split_by_group(items, 0.5, seed=1)
    assert len(train) + len(val) == len(items)
    assert not {i.group for i in train} & {i.group for i in val}
    assert len({i.group for i in val if i.dataset == "a"}) == 10
    assert len({i.group for i in val if i.dataset == "b"}) == 5
    assert split_by_group(items, 0.5, seed=1) == (train, val)
    assert split_by_group(items, 0.5, seed=2) != (train, val)


def test_split_by_group_validates_fraction() -> None:
    with pytest.raises(UsageError):
        split_by_group([], 1.5)


def test_infer_group_falls_back_to_stem() -> None:
    assert infer_group("photo_12", "GAN faces") == "photo_12"


def test_labeled_item_validates() -> None:
    with pytest.raises(ValueError):
        LabeledItem(Path("a.jpg"), 2, "g", "d", "m", "image")
    with pytest.raises(ValueError):
        LabeledItem(Path("a.jpg"), 1, "", "d", "m", "image")
