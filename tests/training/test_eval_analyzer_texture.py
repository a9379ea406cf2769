"""`evaluate --video-scores analyzer` with a track head (training/eval_analyzer.py): the faces'
texture values are kept, stored, scaled by the calibration as the analyzer scales them, and
read from another classifier's track head when its crops are rescored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.models.blend import Blend, BlendClassifier, BlendMember, TrackHead
from deepfake_analyzer.models.fake_classifier import FAKE_SPEC, FakeClassifier
from deepfake_analyzer.models.keras_classifier import resize_crops, validate_crops
from deepfake_analyzer.models.spec import Calibration, Thresholds, clipped
from deepfake_analyzer.report.types import (
    FaceResult,
    FrameResult,
    InputSummary,
    ModelSummary,
    Report,
    TemporalEvidence,
)
from deepfake_analyzer.scoring.aggregate import FaceScore, aggregate, track_score
from deepfake_analyzer.temporal.tracks import combine_scores
from deepfake_analyzer.training.eval_analyzer import (
    AnalyzedVideo,
    _Recording,
    _store_faces,
    _Uncalibrated,
    analyzed_from_report,
    rescored,
)

T = Thresholds(suspicious=0.5, fake=0.7)
SIZE = 32


def _video(
    textures: Sequence[float | None] | None, temporal: dict[int, float] | None = None
) -> AnalyzedVideo:
    """Two tracks of five faces: track 0 scores higher, track 1 has the larger textures."""
    scores = [0.62, 0.55, 0.7, 0.58, 0.6, 0.4, 0.45, 0.5, 0.42, 0.38]
    values = textures if textures is not None else [None] * len(scores)
    faces = tuple(
        FaceScore(i % 5, (i % 5) * 0.5, i // 5, s, (), t)
        for i, (s, t) in enumerate(zip(scores, values, strict=True))
    )
    return AnalyzedVideo(faces=faces, temporal=temporal or {}, prior=0.3)


TEXTURES = [-0.5, -0.25, -0.75, -0.5, -0.5, 2.0, 1.5, 2.5, 2.0, 2.0]


# --- the stored form ------------------------------------------------------------------------


def test_textures_round_trip_as_a_fifth_element() -> None:
    video = _video(TEXTURES, {1: 0.8})
    data = json.loads(json.dumps(video.to_dict()))
    assert [len(row) for row in data["faces"]] == [5] * 10
    assert [row[4] for row in data["faces"]] == TEXTURES
    back = AnalyzedVideo.from_dict(data)
    assert back == video
    assert [f.texture for f in back.faces] == TEXTURES


def test_faces_without_textures_keep_four_elements_and_old_rows_still_load() -> None:
    video = _video(None, {0: 0.7})
    data = json.loads(json.dumps(video.to_dict()))
    assert [len(row) for row in data["faces"]] == [4] * 10
    assert AnalyzedVideo.from_dict(data) == video
    old = {
        "faces": [[0, 0.0, 0, 0.62], [1, 0.5, 0, 0.55], [0, 0.0, 1, 0.4]],
        "temporal": {"0": 0.7},
        "prior": 0.3,
    }
    back = AnalyzedVideo.from_dict(old)
    assert [f.texture for f in back.faces] == [None, None, None]
    assert [f.score for f in back.faces] == [0.62, 0.55, 0.4]
    assert back.temporal == {0: 0.7} and back.prior == 0.3


# --- the verdict ----------------------------------------------------------------------------


def _by_hand(
    video: AnalyzedVideo, calibration: Calibration, scale: float, temporal: bool = True
) -> tuple[float | None, int | None]:
    """The verdict `aggregate` gives on faces calibrated and textures scaled by hand."""
    calibrated = calibration.apply(np.array([f.score for f in video.faces]))
    faces = [
        FaceScore(f.frame_index, f.timestamp_s, f.track_id, float(s), (),
                  None if f.texture is None else f.texture * scale)
        for f, s in zip(video.faces, calibrated, strict=True)
    ]  # fmt: skip
    evidence = {}
    for track_id, score in (video.temporal if temporal else {}).items():
        frame = track_score([f.score for f in faces if f.track_id == track_id])
        combined = combine_scores(frame, score, video.prior)
        evidence[track_id] = TemporalEvidence(score, frame, combined, 0, combined=True)
    verdict = aggregate(faces, T, temporal=evidence).verdict
    return verdict.score, verdict.track_id


@pytest.mark.parametrize(
    ("calibration", "scale"),
    [
        (Calibration("temperature", temperature=2.5), 0.4),
        (Calibration("platt", a=1.7, b=-0.3), 1.7),
        (Calibration(), 1.0),
    ],
)
def test_the_verdict_scales_the_textures_as_the_analyzer_does(
    calibration: Calibration, scale: float
) -> None:
    assert calibration.log_odds_scale == pytest.approx(scale)
    video = _video(TEXTURES)
    verdict = video.verdict(calibration, T)
    score, track_id = _by_hand(video, calibration, scale)
    assert verdict.score == pytest.approx(score, abs=1e-12)
    assert verdict.track_id == track_id == 1  # the textures lift track 1 over track 0
    assert video.score(calibration, T) == pytest.approx(score, abs=1e-12)
    if scale != 1.0:  # the scaling matters: unscaled textures give another score
        unscaled, _ = _by_hand(video, calibration, 1.0)
        assert verdict.score != pytest.approx(unscaled, abs=1e-3)
    without, without_track = _by_hand(_video(None), calibration, scale)
    assert without_track == 0 and without != pytest.approx(verdict.score, abs=1e-3)


def test_the_temperature_verdict_is_the_textures_shift_on_the_calibrated_score() -> None:
    calibration = Calibration("temperature", temperature=2.5)
    verdict = _video(TEXTURES).verdict(calibration, T)
    # track 1: top 2 of five raw scores (0.5, 0.45), calibrated, then + mean texture / 2.5
    raw = calibration.apply(np.array([0.5, 0.45]))
    before = float(raw.mean())
    shift = 2.0 / 2.5
    expected = 1 / (1 + np.exp(-(np.log(before / (1 - before)) + shift)))
    assert verdict.track_id == 1 and verdict.score == pytest.approx(float(expected), abs=1e-12)


def test_the_verdict_shifts_after_the_temporal_evidence() -> None:
    calibration = Calibration("temperature", temperature=2.0)
    video = _video(TEXTURES, {0: 0.9, 1: 0.2})
    verdict = video.verdict(calibration, T)
    score, track_id = _by_hand(video, calibration, 0.5)
    assert verdict.score == pytest.approx(score, abs=1e-12) and verdict.track_id == track_id
    no_temporal, _ = _by_hand(video, calibration, 0.5, temporal=False)
    assert video.verdict(calibration, T, temporal=False).score == pytest.approx(no_temporal)
    assert no_temporal != pytest.approx(score, abs=1e-3)


def test_a_report_made_with_calibration_off_keeps_the_faces_textures() -> None:
    scored = _video(TEXTURES)
    frames = tuple(
        FrameResult(i, i * 0.5, tuple(
            FaceResult(f.track_id, (0.0, 0.0, 10.0, 10.0), f.score, 0.9, (), f.texture)
            for f in scored.faces if f.frame_index == i
        ))
        for i in range(5)
    )  # fmt: skip
    agg = aggregate(scored.faces, T)
    report = Report(
        input=InputSummary("v.mp4", "video", 2.5, 64, 64),
        model=ModelSummary("m", "ab" * 32, SIZE, {"suspicious": 0.5, "fake": 0.7}),
        verdict=agg.verdict,
        tracks=agg.tracks,
        frames=frames,
    )
    video = analyzed_from_report(report, prior=0.3)
    by_face = {(f.frame_index, f.track_id): f.texture for f in video.faces}
    assert by_face == {(f.frame_index, f.track_id): f.texture for f in scored.faces}
    assert video.verdict(Calibration(), T) == scored.verdict(Calibration(), T)


# --- the classifier wrappers and rescoring ----------------------------------------------------


class _Parts(FakeClassifier):
    """A blend member with a track head: its probability, then its red channel's mean as its
    part of the head."""

    columns = 2

    def predict_outputs(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        crops = resize_crops(validate_crops(crops_rgb_uint8), self.spec.input_size)
        parts = crops[..., 0].mean(axis=(1, 2)) / 255.0 * 3.0
        return np.stack([self.predict(crops_rgb_uint8), parts.astype(np.float32)], axis=1)


HEAD = TrackHead(bias=-0.5, center=0.75, spread=0.5, weight=1.2)


def _track_blend(centred: bool = False) -> BlendClassifier:
    member = _Parts(replace(FAKE_SPEC, name="texture", input_size=SIZE))
    center = 0.0 if centred else None
    blend = Blend((BlendMember("texture.spec.json", member.sha256, 1.3, center),), 0.1, {}, HEAD)
    spec = replace(
        FAKE_SPEC, name="blend", input_size=SIZE,
        calibration=Calibration("temperature", temperature=2.0),
    )  # fmt: skip
    return BlendClassifier(spec, "ab" * 32, blend, [member])


def _crops(count: int) -> np.ndarray:
    rng = np.random.default_rng(2)
    crops = rng.integers(0, 256, (count, SIZE, SIZE, 3)).astype(np.uint8)
    crops[..., 0] = (np.arange(count) * 255 // max(count - 1, 1))[:, None, None]
    return crops


def _expected_track(crops: np.ndarray) -> np.ndarray:
    parts = (crops[..., 0].mean(axis=(1, 2)) / 255.0 * 3.0).astype(np.float32)
    return np.asarray(HEAD.contribution(parts.astype(np.float64)))


def test_the_uncalibrated_wrapper_passes_the_track_contributions_on() -> None:
    blend = _track_blend()
    crops = _crops(4)
    wrapped = _Uncalibrated(blend)
    assert wrapped.has_track_head and wrapped.spec.calibration == Calibration()
    read = wrapped.scores(crops)
    assert read.track is not None
    np.testing.assert_allclose(read.track, _expected_track(crops), rtol=1e-12)
    np.testing.assert_allclose(read.probability, blend.predict(crops), rtol=1e-12)
    np.testing.assert_allclose(wrapped.predict(crops), blend.predict(crops), rtol=1e-12)
    plain = _Uncalibrated(FakeClassifier(replace(FAKE_SPEC, input_size=SIZE)))
    assert not plain.has_track_head
    assert plain.scores(crops).track is None and plain.scores(crops).evidence.shape == (0, 4)


def test_the_recording_wrapper_keeps_the_crops_it_scores() -> None:
    recording = _Recording(_track_blend())
    first, second = _crops(3), _crops(2)
    recording.scores(first)
    recording.predict(second)
    np.testing.assert_array_equal(recording.taken(), np.concatenate([first, second]))
    assert recording.taken().shape == (0, SIZE, SIZE, 3)


def test_the_uncalibrated_wrapper_of_a_centred_blend_passes_no_member_evidence() -> None:
    from deepfake_analyzer.pipeline import _predict_with_members

    wrapped = _Uncalibrated(_track_blend(centred=True))
    crops = _crops(3)
    assert wrapped.evidence_names == ()
    # what analyze_videos' analyzer does with every batch of crops
    _, members, textures = _predict_with_members(wrapped, crops, [(0,), (0,), (0,)], "blend")
    assert members == [(), (), ()]
    np.testing.assert_allclose(np.array(textures, np.float64), _expected_track(crops))
    assert wrapped.scores(crops).evidence.shape == (0, 3)


def test_rescoring_stored_crops_reads_the_track_heads_values(tmp_path: Path) -> None:
    crops = _crops(5)
    stored = _video(None).faces[:5]  # one track, five faces, as another model scored them
    path = tmp_path / "faces.npz"
    _store_faces(path, crops, AnalyzedVideo(stored, {0: 0.6}, 0.3))
    blend = _track_blend()
    assert blend.spec.calibration.log_odds_scale == 0.5  # not applied: rescored stays raw
    video = rescored(path, blend)
    assert video is not None
    assert [f.texture for f in video.faces] == pytest.approx(list(_expected_track(crops)))
    assert [f.score for f in video.faces] == pytest.approx(list(clipped(blend.predict(crops))))
    assert [(f.frame_index, f.track_id) for f in video.faces] == [
        (f.frame_index, f.track_id) for f in stored
    ]
    assert video.temporal == {0: 0.6} and video.prior == 0.3
    # the raw values are kept: the verdict scales them by the calibration it is given
    again = AnalyzedVideo.from_dict(json.loads(json.dumps(video.to_dict())))
    assert again == video


def test_rescoring_with_a_model_without_a_head_drops_stored_textures(tmp_path: Path) -> None:
    crops = _crops(5)
    path = tmp_path / "faces.npz"
    _store_faces(path, crops, AnalyzedVideo(_video(TEXTURES).faces[:5], {}, 0.3))
    plain = FakeClassifier(replace(FAKE_SPEC, name="plain", input_size=SIZE))
    video = rescored(path, plain)
    assert video is not None
    assert [f.texture for f in video.faces] == [None] * 5
    assert [f.score for f in video.faces] == pytest.approx(list(clipped(plain.predict(crops))))
