"""scripts/context_probe.py reframe: a training frame decoded again and both of its crops cut
anew around its detector box, moved by the copy's own draw (the backbone is not loaded)."""

from __future__ import annotations

import json
from dataclasses import asdict

import cv2
import numpy as np
import pytest
from script_modules import script_module

from deepfake_analyzer.faces.crop import crop_face
from deepfake_analyzer.training.extract import CropRecord, ExtractConfig, crop_name, source_key
from deepfake_analyzer.training.framing import reframe

BOX = (60.0, 50.0, 160.0, 170.0)


def _extraction(tmp_path) -> tuple[list[dict], np.ndarray]:
    """crops.json rows of one still (training) and one held-out still, as `extract` writes them,
    over a wide cache (margin 2.0) and a 1.3 cache holding their crops."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    rows = []
    for name, part in (("train.png", "train"), ("held.png", "heldout")):
        path = tmp_path / name
        cv2.imwrite(str(path), image[..., ::-1])
        for margin in (2.0, 1.3):
            root = tmp_path / f"m{margin:g}"
            root.mkdir(exist_ok=True)
            config = ExtractConfig(crop_size=224, margin=margin)
            (root / "config.json").write_text(json.dumps(asdict(config)))
            crop = crop_name(path, 0, 0) + ".png"
            (root / crop).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / crop), crop_face(image, BOX, margin, 224)[..., ::-1])
            record = CropRecord(crop, source_key(path), 0, "g", "d", "m", "image", 0, 0.0, BOX, 1.0)
            with open(root / "manifest.jsonl", "a") as manifest:
                manifest.write(record.to_json() + "\n")
                manifest.write(json.dumps({"type": "done", "source": source_key(path)}) + "\n")
        rows.append({"crop": str(tmp_path / "m2" / crop), "narrow": str(tmp_path / "m1.3" / crop),
                     "source": str(path), "label": 0, "kind": "image", "method": "m",
                     "group": "g", "part": part})  # fmt: skip
    return rows, image


def test_an_unmoved_box_cuts_the_cached_crops_again(tmp_path, monkeypatch) -> None:
    probe = script_module("context_probe")
    rows, _ = _extraction(tmp_path)
    monkeypatch.setitem(probe.REFRAME, "scale", (1.0, 1.0))
    monkeypatch.setitem(probe.REFRAME, "shift", 0.0)
    copies = list(probe.reframed_pairs(rows, 1))
    assert [i for i, _, _ in copies] == [0]  # the training row only
    _, narrow, wide = copies[0]
    assert np.array_equal(narrow, cv2.imread(rows[0]["narrow"])[..., ::-1])
    assert np.array_equal(wide, cv2.imread(rows[0]["crop"])[..., ::-1])


def test_each_copy_moves_both_crops_by_its_own_draw(tmp_path) -> None:
    probe = script_module("context_probe")
    rows, image = _extraction(tmp_path)
    copies = list(probe.reframed_pairs(rows, 2))
    assert [i for i, _, _ in copies] == [0, 0]
    draws = [probe.reframe_draw(rows[0]["narrow"], k) for k in (0, 1)]
    assert draws[0] != draws[1] and draws[0] == probe.reframe_draw(rows[0]["narrow"], 0)
    for (scale, dx, dy), (_, narrow, wide) in zip(draws, copies, strict=True):
        assert 1.0 <= scale <= 1.4 and abs(dx) <= 0.1 and abs(dy) <= 0.1
        moved = reframe(BOX, scale, dx, dy)
        assert np.array_equal(narrow, crop_face(image, moved, 1.3, 224))
        assert np.array_equal(wide, crop_face(image, moved, 2.0, 224))
        assert not np.array_equal(narrow, crop_face(image, BOX, 1.3, 224))


def _fake_backbone(monkeypatch) -> list[int]:
    """Texture features faked as a crop's first pixels; returns the list of batch sizes read."""
    from deepfake_analyzer.training import texture_backbone

    read: list[int] = []

    def features(_extractor, crops):
        read.append(len(crops))
        return crops.reshape(len(crops), -1)[:, :6].astype(np.float32)

    monkeypatch.setattr(texture_backbone, "load_backbone", lambda: None)
    monkeypatch.setattr(texture_backbone, "feature_model", lambda _backbone: object())
    monkeypatch.setattr(texture_backbone, "texture_features", features)
    return read


def _copies(probe, rows: list[dict], folder, count: int, reuse=None) -> dict:
    folder.mkdir()
    (folder / "crops.json").write_text(json.dumps(rows))
    probe.reframe_copies(folder, count, reuse)
    return probe.copies_of(folder)


def test_reuse_takes_an_earlier_rows_copies_and_decodes_only_the_others(
    tmp_path, monkeypatch
) -> None:
    probe = script_module("context_probe")
    rows, _ = _extraction(tmp_path)
    read = _fake_backbone(monkeypatch)
    first = _copies(probe, rows, tmp_path / "a", 2)
    assert first["index"].tolist() == [0, 0] and read == [2, 2]
    wider = [rows[0], {**rows[1], "part": "train"}]
    read.clear()
    again = _copies(probe, wider, tmp_path / "b", 2, reuse=tmp_path / "a")
    assert read == [2, 2]  # the new training row's two copies, both crops; row 0 not decoded
    fresh = _copies(probe, wider, tmp_path / "c", 2)
    for key in ("face", "context"):
        assert np.array_equal(again[key][:2], first[key])
        by_row = {i: again[key][again["index"] == i] for i in (0, 1)}
        for i, expected in by_row.items():
            assert np.array_equal(fresh[key][fresh["index"] == i], expected)
    read.clear()
    _copies(probe, wider, tmp_path / "d", 1, reuse=tmp_path / "b")
    assert read == []  # every copy known: the backbone is never needed


def test_reuse_refuses_copies_of_another_recipe(tmp_path, monkeypatch) -> None:
    probe = script_module("context_probe")
    rows, _ = _extraction(tmp_path)
    _fake_backbone(monkeypatch)
    _copies(probe, rows, tmp_path / "a", 1)
    monkeypatch.setitem(probe.REFRAME, "shift", 0.05)
    with pytest.raises(SystemExit, match="no reframed copies"):
        _copies(probe, rows, tmp_path / "b", 1, reuse=tmp_path / "a")
