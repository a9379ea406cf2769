"""Face-crop cache: manifest lines, landmarks for reals only, resume, no-face files."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from training_fakes import BOX, FakeDetector, FakeMesh

from deepfake_analyzer.events import Message, RecordingHook, StageProgress
from deepfake_analyzer.faces.crop import crop_face, square_region
from deepfake_analyzer.training.extract import (
    MANIFEST_NAME,
    ExtractConfig,
    extract_crops,
    landmarks_in_crop,
    load_crop,
    read_manifest,
)
from deepfake_analyzer.training.sources import LabeledItem


def write_image(path: Path, white_corner: bool = False) -> Path:
    image = np.random.default_rng(0).integers(0, 200, (80, 96, 3), dtype=np.uint8)
    if white_corner:
        image[0, 0] = 255
    cv2.imwrite(str(path), image)
    return path


def item(path: Path, label: int, kind: str = "image") -> LabeledItem:
    return LabeledItem(path, label, path.stem, "synthetic", "m", kind)  # type: ignore[arg-type]


@pytest.fixture
def items(tmp_path: Path, short_video: Path) -> list[LabeledItem]:
    return [
        item(write_image(tmp_path / "real.png"), 0),
        item(write_image(tmp_path / "fake.png"), 1),
        item(write_image(tmp_path / "empty.png", white_corner=True), 0),
        item(short_video, 0, "video"),
    ]


def test_extracts_crops_manifest_and_landmarks_for_reals(tmp_path: Path, items: list) -> None:
    hook = RecordingHook()
    config = ExtractConfig(crop_size=64, frames_per_video=3)
    cache = extract_crops(items, tmp_path / "cache", config, hook, FakeDetector(), FakeMesh())
    by_source = {}
    for record in cache.records:
        by_source.setdefault(Path(record.source).name, []).append(record)
    assert len(by_source["real.png"]) == 1 and len(by_source["fake.png"]) == 1
    assert "empty.png" not in by_source
    assert len(by_source["short.mp4"]) == 3
    times = [r.timestamp_s for r in by_source["short.mp4"]]
    assert times == sorted(times) and times[-1] > times[0]
    real, fake = by_source["real.png"][0], by_source["fake.png"][0]
    assert real.landmarks is not None and fake.landmarks is None
    assert real.label == 0 and fake.label == 1 and real.box_xyxy == BOX
    crop = load_crop(cache, real)
    image = cv2.imread(str(items[0].path))[..., ::-1]
    assert np.array_equal(crop, crop_face(np.ascontiguousarray(image), BOX, 1.3, 64))
    points = cache.landmarks_of(real)
    expected = landmarks_in_crop(FakeMesh().landmarks(image, BOX), BOX, 1.3, 64)
    assert points is not None and np.allclose(points, expected)
    assert any(isinstance(e, Message) and "no face" in e.text for e in hook.events)
    assert sum(isinstance(e, StageProgress) for e in hook.events) == 4


def test_resume_skips_finished_files(tmp_path: Path, items: list) -> None:
    config = ExtractConfig(crop_size=64, frames_per_video=2)
    first = extract_crops(
        items, tmp_path / "c", config, detector=FakeDetector(), face_mesh=FakeMesh()
    )
    detector = FakeDetector()
    again = extract_crops(items, tmp_path / "c", config, detector=detector, face_mesh=FakeMesh())
    assert detector.calls == 0
    assert again.records == first.records


def test_interrupted_file_is_extracted_again(tmp_path: Path, items: list) -> None:
    config = ExtractConfig(crop_size=64, frames_per_video=2)
    cache = extract_crops(
        items[:1], tmp_path / "c", config, detector=FakeDetector(), face_mesh=FakeMesh()
    )
    manifest = cache.root / MANIFEST_NAME
    lines = [line for line in manifest.read_text().splitlines() if '"done"' not in line]
    manifest.write_text("\n".join(lines) + "\n{broken")  # crop line kept, done line lost
    assert read_manifest(cache.root).records == ()
    detector = FakeDetector()
    again = extract_crops(
        items[:1], tmp_path / "c", config, detector=detector, face_mesh=FakeMesh()
    )
    assert detector.calls == 1 and len(again.records) == 1


def test_crops_of_files_given_relative_are_found_from_another_folder(
    tmp_path: Path, items: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A source given relative is recorded absolute; a manifest line of the older kind (the
    source as given) is placed by its crop name's digest, so another working folder still
    finds the crops."""
    monkeypatch.chdir(tmp_path)
    relative = [item(Path("real.png"), 0), item(Path("fake.png"), 1)]
    write_image(tmp_path / "real.png"), write_image(tmp_path / "fake.png")
    config = ExtractConfig(crop_size=64, frames_per_video=2)
    cache = extract_crops(
        relative, tmp_path / "c", config, detector=FakeDetector(), face_mesh=FakeMesh()
    )
    expected = sorted(str(tmp_path / n) for n in ("fake.png", "real.png"))
    assert sorted(r.source for r in cache.records) == expected
    manifest = cache.root / MANIFEST_NAME
    older = [json.loads(line) for line in manifest.read_text().splitlines()]
    for line in older:
        if line["type"] == "crop":
            line["source"] = Path(line["source"]).name  # as given, before 2026-12-06
    manifest.write_text("".join(json.dumps(line) + "\n" for line in older))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    again = read_manifest(cache.root)
    assert sorted(r.source for r in again.records) == expected
    assert again.records == cache.records


def test_landmarks_in_crop_maps_box_corners() -> None:
    region = square_region(BOX, 1.3)
    corner = np.array([[region.x0, region.y0], [region.x0 + region.side, region.y0]], float)
    assert np.allclose(landmarks_in_crop(corner, BOX, 1.3, 100), [[0, 0], [100, 0]])


def test_config_key_changes_with_crop_settings() -> None:
    assert ExtractConfig(crop_size=64).key() != ExtractConfig(crop_size=128).key()
    assert ExtractConfig().key() == ExtractConfig().key()
    with pytest.raises(ValueError):
        ExtractConfig(margin=5.0)
    assert json.loads(json.dumps(ExtractConfig().__dict__))["crop_size"] == 256
