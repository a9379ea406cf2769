"""The analyzer with temporal evidence: a fake detector whose faces carry synthetic meshes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from meshed_clip import FPS, MeshedSquares, frame_number, mesh_at, write_one_face_clip

from deepfake_analyzer.models.fake_classifier import FakeClassifier
from deepfake_analyzer.models.spec import ModelSpec, Thresholds
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.pipeline import Analyzer
from deepfake_analyzer.report.html_report import report_to_html
from deepfake_analyzer.report.json_report import report_from_dict
from deepfake_analyzer.temporal.tracks import combine_scores

SPEC = ModelSpec(
    name="fake-brightness", input_size=32, architecture="fake", crop_margin=1.0,
    thresholds=Thresholds(suspicious=0.5, fake=0.7),
)  # fmt: skip


@pytest.fixture(scope="module")
def one_face_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_one_face_clip(tmp_path_factory.mktemp("temporal-pipeline") / "one_face.mkv")


def run(clip: Path, **options: object):
    with Analyzer(
        AnalyzeOptions(**options), classifier=FakeClassifier(SPEC), detector=MeshedSquares()
    ) as analyzer:
        return analyzer.analyze(clip), analyzer.temporal_model


def test_every_frame_combines_the_motion_score_into_the_track(one_face_clip: Path) -> None:
    report, model = run(one_face_clip, fps=None)
    (track,) = report.tracks
    ev = track.temporal
    assert ev is not None and ev.score is not None and ev.combined
    assert ev.frames >= 16
    assert track.verdict.score == pytest.approx(
        combine_scores(ev.frame_score, ev.score, model.prior)
    )
    assert report.verdict.score == track.verdict.score
    assert "temporal" in report.timings_s
    html = report_to_html(report)
    assert "Temporal evidence (face-mesh motion)" in html and "combined" in html
    back = report_from_dict(report.to_dict()).tracks[0].temporal
    assert back is not None and back.score == pytest.approx(ev.score, abs=1e-4)


def test_report_only_and_off(one_face_clip: Path) -> None:
    report, _ = run(one_face_clip, fps=None, temporal="report")
    ev = report.tracks[0].temporal
    assert ev is not None and ev.score is not None and not ev.combined
    assert report.tracks[0].verdict.score == ev.frame_score
    off, _ = run(one_face_clip, fps=None, temporal="off")
    assert off.tracks[0].temporal is None
    assert off.tracks[0].verdict.score == ev.frame_score


def test_without_a_face_mesh_the_default_rate_is_too_sparse(one_face_clip: Path) -> None:
    report, _ = run(one_face_clip)  # 2 fps, and a detector with no mesh to follow faces with
    ev = report.tracks[0].temporal
    assert ev is not None and ev.reason in ("sparse-sampling", "too-few-frames")
    assert report.tracks[0].verdict.score == ev.frame_score
    assert "no score" in report_to_html(report)


# --- the dense landmark window at the default 2 fps (temporal/follow.py) -------------------


class NumberedMesh:
    """A face mesh that reads the frame number written in the corner of the clip's frames."""

    def __init__(self) -> None:
        self.frames: list[int] = []

    def run(self, image_rgb, box_xyxy, keypoints=None, *, normalize_brightness=False):
        from deepfake_analyzer.faces.landmarks import FaceLandmarks

        number = frame_number(image_rgb)
        self.frames.append(number)
        return FaceLandmarks(mesh_at(number), np.zeros(468, np.float32), 0.99)


class NumberedMeshedSquares(MeshedSquares):
    """`MeshedSquares` with a face mesh to follow them with."""

    def __init__(self) -> None:
        super().__init__()
        self.mesh = NumberedMesh()


def test_default_rate_follows_meshes_through_a_dense_window(one_face_clip: Path) -> None:
    detector = NumberedMeshedSquares()
    with Analyzer(AnalyzeOptions(), classifier=FakeClassifier(SPEC), detector=detector) as a:
        report = a.analyze(one_face_clip)
    with Analyzer(
        AnalyzeOptions(temporal="off"),
        classifier=FakeClassifier(SPEC),
        detector=NumberedMeshedSquares(),
    ) as a:
        off = a.analyze(one_face_clip)
    # the classifier sees the same 2 fps frames; the mesh alone the frames between them
    assert [f.timestamp_s for f in report.frames] == [f.timestamp_s for f in off.frames]
    assert len(report.frames) == 6
    ev = report.tracks[0].temporal
    assert ev is not None and ev.score is not None and ev.combined
    assert ev.frames == 24  # 3 s at 8 per second
    assert ev.frame_score == off.tracks[0].verdict.score
    assert len(detector.mesh.frames) == 18 and not {0, 13, 25} & set(detector.mesh.frames)
    assert "landmarks" in report.timings_s


def test_a_face_lost_at_a_sampled_frame_is_not_followed(one_face_clip: Path) -> None:
    class Vanishing(NumberedMeshedSquares):
        def detect(self, image_rgb: np.ndarray):
            return [] if frame_number(image_rgb) >= 25 else super().detect(image_rgb)

    detector = Vanishing()
    with Analyzer(AnalyzeOptions(), classifier=FakeClassifier(SPEC), detector=detector) as a:
        report = a.analyze(one_face_clip)
    followed = sorted(detector.mesh.frames)
    # seen at 0 and 0.5 s; followed up to 0.75 s after 0.5 s, never beyond
    assert followed and max(followed) / FPS <= 0.5 + 0.75 + 1e-9
    assert report.tracks[0].temporal is not None


def test_temporal_seconds_bounds_the_dense_window(one_face_clip: Path) -> None:
    detector = NumberedMeshedSquares()
    options = AnalyzeOptions(temporal_seconds=2.0)
    with Analyzer(options, classifier=FakeClassifier(SPEC), detector=detector) as a:
        report = a.analyze(one_face_clip)
    # the 3 s clip: followed only between the sampled frames of its first 2 s
    assert detector.mesh.frames and max(detector.mesh.frames) / FPS < 2.0
    assert len(detector.mesh.frames) == 12
    assert len(report.frames) == 6  # the classifier's 2 fps frames are not cut
    ev = report.tracks[0].temporal
    assert ev is not None and ev.score is not None and ev.frames == 16  # 2 s at 8 per second
    assert "over 16 frames from 0.0 to 1.9 s" in report_to_html(report)  # what it read, said
