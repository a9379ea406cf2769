"""`evaluate --video-scores analyzer`: the verdict rebuilt from raw scores under any
calibration must be the one the analyzer gives with that calibration in its spec."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from meshed_clip import MeshedSquares, write_one_face_clip

from deepfake_analyzer.events import Message
from deepfake_analyzer.models.fake_classifier import FakeClassifier
from deepfake_analyzer.models.spec import Calibration, ModelSpec, Thresholds
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.pipeline import Analyzer
from deepfake_analyzer.training.eval_analyzer import analyze_videos
from deepfake_analyzer.training.sources import LabeledItem

CALIBRATED = ModelSpec(
    name="fake-brightness", input_size=32, architecture="fake", crop_margin=1.0,
    thresholds=Thresholds(suspicious=0.3, fake=0.45),
    calibration=Calibration(method="temperature", temperature=2.5),
)  # fmt: skip
OPTIONS = AnalyzeOptions(fps=None)  # every frame: the temporal model gets a score


def half_brightness(crop: np.ndarray) -> float:
    return float(crop.mean()) / 255.0 * 0.5


def classifier(spec: ModelSpec = CALIBRATED) -> FakeClassifier:
    return FakeClassifier(spec, score_fn=half_brightness)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_one_face_clip(tmp_path_factory.mktemp("eval-analyzer") / "one_face.mkv")


def item(path: Path) -> LabeledItem:
    return LabeledItem(path, 1, "g", "set", "gen", "video")


def test_the_rebuilt_verdict_is_the_analyzers(clip: Path, tmp_path: Path) -> None:
    with Analyzer(OPTIONS, classifier=classifier(), detector=MeshedSquares()) as analyzer:
        report = analyzer.analyze(clip)
    (track,) = report.tracks
    assert track.temporal is not None and track.temporal.combined  # the rule under test

    videos = analyze_videos([item(clip)], classifier(), OPTIONS, tmp_path, detector=MeshedSquares())
    video = videos[str(clip)]
    assert set(video.temporal) == {track.id}
    assert len(video.faces) == len(report.frames)
    rebuilt = video.score(CALIBRATED.calibration, CALIBRATED.thresholds)
    assert rebuilt == pytest.approx(report.verdict.score, abs=1e-9)
    # the raw scores were kept: without calibration the verdict is another one
    assert video.score(Calibration(), CALIBRATED.thresholds) != pytest.approx(rebuilt, abs=1e-3)


def test_results_are_cached_per_file_until_it_changes(clip: Path, tmp_path: Path) -> None:
    copy = tmp_path / "clip.mkv"
    copy.write_bytes(clip.read_bytes())
    first = classifier()
    analyze_videos([item(copy)], first, OPTIONS, tmp_path, detector=MeshedSquares())
    assert first.calls > 0
    again = classifier()
    cached = analyze_videos([item(copy)], again, OPTIONS, tmp_path, detector=MeshedSquares())
    assert again.calls == 0 and cached[str(copy)].faces
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = classifier()
    analyze_videos([item(copy)], changed, OPTIONS, tmp_path, detector=MeshedSquares())
    assert changed.calls > 0


def test_an_unreadable_video_is_left_out_with_a_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    messages: list[Message] = []

    def hook(event: object) -> None:
        if isinstance(event, Message):
            messages.append(event)

    videos = analyze_videos(
        [item(broken)], classifier(), OPTIONS, tmp_path, hook, detector=MeshedSquares()
    )
    assert videos == {}
    assert len(messages) == 1 and "broken.mp4" in messages[0].path


class CountingSquares(MeshedSquares):
    def __init__(self) -> None:
        super().__init__()
        self.frames = 0

    def detect(self, image_rgb: np.ndarray):
        self.frames += 1
        return super().detect(image_rgb)


def other_model(spec: ModelSpec = CALIBRATED) -> FakeClassifier:
    """Another model of the same crop geometry: its own name, a score of its own."""
    from dataclasses import replace

    def darkness(crop: np.ndarray) -> float:
        return 1.0 - float(crop[..., 0].mean()) / 255.0 * 0.9

    return FakeClassifier(replace(spec, name="other"), score_fn=darkness)


def test_another_model_is_scored_on_the_crops_the_analyzer_cut(clip: Path, tmp_path: Path) -> None:
    analyze_videos([item(clip)], classifier(), OPTIONS, tmp_path, detector=MeshedSquares())
    detector = CountingSquares()
    other = other_model()
    rescored = analyze_videos([item(clip)], other, OPTIONS, tmp_path, detector=detector)
    assert detector.frames == 0 and other.calls > 0  # nothing decoded or detected again
    fresh = analyze_videos(
        [item(clip)], other_model(), OPTIONS, tmp_path / "fresh", detector=CountingSquares()
    )
    assert rescored[str(clip)] == fresh[str(clip)]  # what analyzing the video again gives
    first = analyze_videos([item(clip)], classifier(), OPTIONS, tmp_path, detector=detector)
    assert [f.score for f in rescored[str(clip)].faces] != [
        f.score for f in first[str(clip)].faces
    ]  # fmt: skip


def test_a_model_of_another_geometry_or_a_broken_crop_file_analyzes_again(
    clip: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    from deepfake_analyzer.training.eval_analyzer import FACES_FOLDER

    analyze_videos([item(clip)], classifier(), OPTIONS, tmp_path, detector=MeshedSquares())
    wider = CountingSquares()
    other = other_model(replace(CALIBRATED, crop_margin=1.3))
    analyze_videos([item(clip)], other, OPTIONS, tmp_path, detector=wider)
    assert wider.frames > 0
    for stored in (tmp_path / FACES_FOLDER).rglob("*.npz"):
        stored.write_bytes(b"cut short")
    broken = CountingSquares()
    videos = analyze_videos([item(clip)], other_model(), OPTIONS, tmp_path, detector=broken)
    assert broken.frames > 0 and videos[str(clip)].faces
