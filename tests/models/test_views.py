"""Views of a face crop (models/views.py): what each view is, how their scores are averaged, and
how the analyzer and evaluate's crop path use a spec's `views`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pipeline_fakes import SquareFaceDetector

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.faces.crop import crop_face
from deepfake_analyzer.models import views
from deepfake_analyzer.models.spec import ModelSpec, Thresholds, logits
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.pipeline import analyze
from deepfake_analyzer.training.eval_crops import score_records
from deepfake_analyzer.training.extract import CropRecord

SIZE = 40
SPEC = ModelSpec(
    name="left-half", input_size=SIZE, architecture="fake", crop_margin=1.0,
    thresholds=Thresholds(suspicious=0.5, fake=0.7),
)  # fmt: skip


class LeftHalfClassifier:
    """Scores a crop by the brightness of its left half: mirroring and zooming move it."""

    def __init__(self, spec: ModelSpec = SPEC) -> None:
        self.spec = spec
        self.sha256 = "0" * 64
        self.seen: list[np.ndarray] = []

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops_rgb_uint8)
        self.seen.extend(crops)
        half = crops[:, :, : crops.shape[2] // 2].astype(np.float64)
        return np.asarray(0.05 + 0.9 * half.mean(axis=(1, 2, 3)) / 255.0)


def _ramp_crop(size: int = SIZE) -> np.ndarray:
    """Dark on the left, bright on the right, and a bright center: each view differs."""
    ramp = np.linspace(60, 240, size)[None, :, None] + np.zeros((size, size, 3))
    c = size // 2
    ramp[c - 4 : c + 4, c - 4 : c + 4] = 255
    return ramp.astype(np.uint8)


def _expected(crop: np.ndarray, count: int) -> float:
    """The mean log-odds of `LeftHalfClassifier` over the first `count` views, as a probability."""
    p = LeftHalfClassifier().predict(
        np.stack([views.view_of(crop, v) for v in views.VIEWS[:count]])
    )
    return float(1 / (1 + np.exp(-logits(p).mean())))


def test_views_are_the_crop_mirrored_and_tighter() -> None:
    crop = _ramp_crop()
    assert views.VIEWS[0] == views.View("crop", 1.0, False)
    np.testing.assert_array_equal(views.view_of(crop, views.VIEWS[0]), crop)
    np.testing.assert_array_equal(views.view_of(crop, views.VIEWS[1]), crop[:, ::-1])
    tighter = views.view_of(crop, views.View("2x", 2.0, False))
    assert tighter.shape == crop.shape
    # the bright 8 px center fills 16 px of a view twice as tight
    bright = np.nonzero(tighter[SIZE // 2, :, 0] == 255)[0]
    assert 14 <= len(bright) <= 18
    assert len(views.VIEWS) == views.MAX_VIEWS == 5


def test_plans_for_stills_and_tracks() -> None:
    assert views.face_views("image", 1) == (0,)
    assert views.face_views("image", 5, seen=3) == (0, 1, 2, 3, 4)
    assert [views.face_views("video", 3, seen) for seen in range(5)] == [
        (0,), (1,), (2,), (0,), (1,),
    ]  # fmt: skip
    crops = np.stack([_ramp_crop(), _ramp_crop()[::-1]])
    assert views.crops_through_views(crops, [(0,), (0,)]) is crops  # nothing to cut
    seen = views.crops_through_views(crops, [(0, 1), (2,)])
    assert seen.shape == (3, SIZE, SIZE, 3)
    np.testing.assert_array_equal(seen[1], crops[0][:, ::-1])
    np.testing.assert_array_equal(seen[2], views.view_of(crops[1], views.VIEWS[2]))


def test_means_are_over_log_odds_and_keep_single_views() -> None:
    p = np.array([0.9, 0.5, 0.2, 0.7, 0.6, 0.3])
    plan = [(0, 1), (0,), (0, 1, 2)]
    mean = views.mean_over_views(p, plan)
    assert mean[0] == pytest.approx(1 / (1 + np.exp(-(np.log(9) + 0) / 2)))
    assert mean[1] == 0.2  # one view: exactly its probability
    assert logits(mean[2]) == pytest.approx(logits(p[3:]).mean())
    np.testing.assert_array_equal(views.mean_over_views(p, [(0,)] * 6), p)
    evidence = np.arange(12, dtype=np.float64).reshape(2, 6)
    np.testing.assert_allclose(
        views.mean_evidence_over_views(evidence, plan), [[0.5, 2, 4], [6.5, 8, 10]]
    )


def test_spec_views_default_bounds_and_round_trip(tmp_path: Path) -> None:
    assert SPEC.views == 1
    path = tmp_path / "m.spec.json"
    replace(SPEC, views=5).save(path)
    assert ModelSpec.load(path).views == 5
    for bad in (0, views.MAX_VIEWS + 1):
        with pytest.raises(ModelError, match="views"):
            ModelSpec.from_dict({**SPEC.to_dict(), "views": bad})


def _square_frame() -> np.ndarray:
    """A dark frame with one ramped square face the square detector finds."""
    frame = np.full((80, 100, 3), 10, dtype=np.uint8)
    frame[20:60, 30:70] = _ramp_crop()
    return frame


def _analyze(path: Path, spec: ModelSpec):
    return analyze(
        path,
        AnalyzeOptions(fps=None),
        classifier=LeftHalfClassifier(spec),
        face_detector=SquareFaceDetector(),
    )


def test_a_still_face_is_scored_through_all_views(tmp_path: Path) -> None:
    frame = _square_frame()
    path = tmp_path / "face.png"
    Image.fromarray(frame).save(path)
    box = SquareFaceDetector().detect(frame)[0].box_xyxy
    crop = crop_face(frame, box, SPEC.crop_margin, SIZE)

    one = _analyze(path, SPEC)
    five = _analyze(path, replace(SPEC, views=5))

    assert one.model.views == 1 and five.model.views == 5
    assert one.frames[0].faces[0].score == pytest.approx(_expected(crop, 1))
    assert five.frames[0].faces[0].score == pytest.approx(_expected(crop, 5))
    assert abs(_expected(crop, 5) - _expected(crop, 1)) > 0.05  # the views do move it
    assert five.to_dict()["model"]["views"] == 5


def test_a_video_track_goes_round_the_views(tmp_path: Path) -> None:
    import media_factory as mf

    frames = [_square_frame()] * 5
    path = mf.make_video_from_frames(tmp_path / "still.mkv", frames, fps=5.0, codec="ffv1")
    box = SquareFaceDetector().detect(frames[0])[0].box_xyxy
    crop = crop_face(frames[0], box, SPEC.crop_margin, SIZE)
    classifier = LeftHalfClassifier(replace(SPEC, views=2))
    report = analyze(
        path, AnalyzeOptions(fps=None), classifier=classifier, face_detector=SquareFaceDetector()
    )

    scores = [frame.faces[0].score for frame in report.frames]
    crop_only, mirrored = _expected(crop, 1), _expected(crop[:, ::-1], 1)
    assert abs(crop_only - mirrored) > 0.2
    # within the video codec's colour round trip of the frames drawn
    expected = [crop_only, mirrored, crop_only, mirrored, crop_only]
    assert scores == pytest.approx(expected, abs=0.01)
    assert len(classifier.seen) == 5  # one view per face


def test_evaluate_scores_crops_as_the_analyzer_does() -> None:
    crop = _ramp_crop()

    def record(source: str, kind: str, frame: int) -> CropRecord:
        return CropRecord(
            crop=f"{source}_{frame}.png", source=source, label=0, group=source, dataset="d",
            method="real", kind=kind, frame_index=frame, timestamp_s=float(frame),
            box_xyxy=(0.0, 0.0, 1.0, 1.0), confidence=1.0,
        )  # fmt: skip

    records = [record("photo.png", "image", 0)] + [record("clip.mp4", "video", i) for i in range(3)]
    classifier = LeftHalfClassifier(replace(SPEC, views=3))
    scored = score_records(classifier, None, records, load=lambda cache, r, size: crop)  # type: ignore[arg-type]

    assert len(classifier.seen) == 3 + 3  # the photo's three views, one view per video frame
    by_source = [(c.source, float(s)) for c, s in zip(scored.crops, scored.raw, strict=True)]
    assert by_source[0] == ("photo.png", pytest.approx(_expected(crop, 3)))
    single = [_expected(views.view_of(crop, v), 1) for v in views.VIEWS[:3]]
    assert [s for _, s in by_source[1:]] == pytest.approx(single)
