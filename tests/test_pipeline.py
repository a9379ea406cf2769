"""The pipeline end to end with fakes: tracks, verdicts, timings, and a golden JSON report.

Regenerate the golden file after an intended change with
`.venv/bin/python tests/test_pipeline.py --update-golden`, and review the diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import media_factory as mf
import numpy as np
import pytest
from pipeline_fakes import (
    CLIP_FPS,
    CLIP_FRAMES,
    MISSING_BRIGHT_FRAMES,
    SquareFaceDetector,
    two_square_frames,
)

from deepfake_analyzer.events import FileFinished, RecordingHook, StageProgress, TrackUpdate
from deepfake_analyzer.models.fake_classifier import FakeClassifier
from deepfake_analyzer.models.spec import ModelSpec, Thresholds
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.pipeline import Analyzer, analyze

GOLDEN = Path(__file__).parent / "golden" / "two_squares_report.json"
SPEC = ModelSpec(
    name="fake-brightness", input_size=32, architecture="fake", crop_margin=1.0,
    thresholds=Thresholds(suspicious=0.5, fake=0.7),
)  # fmt: skip
VOLATILE_KEYS = ("created_utc", "analyzer_version", "timings_s")


def make_two_square_clip(path: Path) -> Path:
    return mf.make_video_from_frames(path, two_square_frames(), fps=CLIP_FPS, codec="ffv1")


@pytest.fixture(scope="module")
def two_square_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_two_square_clip(tmp_path_factory.mktemp("pipeline") / "two_squares.mkv")


def run_fake_analysis(path: Path, hook: RecordingHook | None = None, **options: object):
    return analyze(
        path,
        AnalyzeOptions(fps=None, **options),
        hook=hook,
        classifier=FakeClassifier(SPEC),
        face_detector=SquareFaceDetector(),
    )


def stable_dict(report) -> dict:
    data = report.to_dict()
    for key in VOLATILE_KEYS:
        data.pop(key)
    data["input"]["path"] = Path(data["input"]["path"]).name
    data["input"]["sha256"] = ""  # the clip's bytes depend on the ffmpeg build: see test_sha256
    data["provenance"]["metadata"]["encoder"] = ""  # ffmpeg's own version ("Lavf63.1.102")
    data["provenance"]["summary"] = data["provenance"]["summary"].split("; encoder ")[0]
    return data


def test_two_people_one_fake_gives_fake_clip(two_square_clip: Path) -> None:
    report = run_fake_analysis(two_square_clip)
    assert report.input.kind == "video"
    assert len(report.frames) == CLIP_FRAMES
    assert [f.index for f in report.frames] == list(range(CLIP_FRAMES))
    times = [f.timestamp_s for f in report.frames]
    assert times == pytest.approx([i / CLIP_FPS for i in range(CLIP_FRAMES)], abs=1e-3)
    assert len(report.tracks) == 2, "the bright square's two-frame gap must not split its track"
    dim, bright = sorted(report.tracks, key=lambda t: t.verdict.score)
    assert dim.verdict.label == "real"
    assert bright.verdict.label == "fake"
    assert report.verdict.label == "fake"
    assert report.verdict.score == pytest.approx(bright.verdict.score)
    assert bright.segments and bright.segments[0].start_s == pytest.approx(0.0)
    assert bright.segments[-1].end_s == pytest.approx((CLIP_FRAMES - 1) / CLIP_FPS, abs=1e-3)
    for index in MISSING_BRIGHT_FRAMES:
        assert len(report.frames[index].faces) == 1


def test_report_matches_golden(two_square_clip: Path) -> None:
    report = run_fake_analysis(two_square_clip)
    expected = json.loads(GOLDEN.read_text())
    assert stable_dict(report) == expected


def test_timings_and_events(two_square_clip: Path) -> None:
    hook = RecordingHook()
    report = run_fake_analysis(two_square_clip, hook=hook, batch_size=4)
    stages = {"decode", "detect", "crop", "classify", "aggregate", "total"}
    assert stages <= set(report.timings_s)
    assert all(value >= 0 for value in report.timings_s.values())
    decode_events = [e for e in hook.events if isinstance(e, StageProgress) and e.stage == "decode"]
    assert decode_events[-1].done == CLIP_FRAMES
    updates = [e for e in hook.events if isinstance(e, TrackUpdate)]
    assert updates[-1].faces_found == 2 * CLIP_FRAMES - len(MISSING_BRIGHT_FRAMES)
    assert set(updates[-1].track_scores) == {1, 2}
    assert not any(isinstance(e, FileFinished) for e in hook.events), "the CLI owns file events"


def test_thumbnails_hold_most_and_least_suspicious(two_square_clip: Path) -> None:
    report = run_fake_analysis(two_square_clip)
    scores = [t.score for t in report.thumbnails]
    assert report.thumbnails and all(t.jpeg.startswith(b"\xff\xd8") for t in report.thumbnails)
    all_scores = [f.score for frame in report.frames for f in frame.faces]
    assert max(scores) == pytest.approx(max(all_scores))
    assert min(scores) == pytest.approx(min(all_scores))


def test_start_end_and_max_frames(two_square_clip: Path) -> None:
    report = run_fake_analysis(two_square_clip, start_s=0.5, end_s=1.2, max_frames=5)
    assert 1 <= len(report.frames) <= 5
    assert all(0.45 <= f.timestamp_s <= 1.2 for f in report.frames)


def test_no_face_image_is_a_result(tmp_path: Path) -> None:
    path = tmp_path / "dark.png"
    import cv2

    cv2.imwrite(str(path), np.full((64, 64, 3), 5, dtype=np.uint8))
    report = run_fake_analysis(path)
    assert report.verdict.label == "no-face"
    assert report.verdict.score is None
    assert report.tracks == ()
    assert len(report.frames) == 1 and report.frames[0].faces == ()


def test_analyzer_reuses_models_and_closes_only_its_own(two_square_clip: Path) -> None:
    class Stateful(SquareFaceDetector):
        begun = 0

        def begin_media(self) -> None:  # the auto detector's probes restart per input
            self.begun += 1

    classifier, detector = FakeClassifier(SPEC), Stateful()
    with Analyzer(AnalyzeOptions(fps=5), classifier=classifier, detector=detector) as analyzer:
        first = analyzer.analyze(two_square_clip)
        second = analyzer.analyze(two_square_clip)
    assert first.verdict == second.verdict
    assert detector.begun == 2, "each input tells the detector it starts"
    assert not detector.closed, "an injected detector belongs to the caller"


def test_option_overrides_are_validated(two_square_clip: Path) -> None:
    from deepfake_analyzer.errors import UsageError

    with pytest.raises(UsageError, match="did you mean 'fps'"):
        analyze(two_square_clip, classifier=FakeClassifier(SPEC), fsp=3)


def test_sha256_of_the_input_is_in_the_report(two_square_clip: Path, tmp_path: Path) -> None:
    import hashlib

    from deepfake_analyzer.report.html_report import report_to_html

    report = run_fake_analysis(two_square_clip)
    expected = hashlib.sha256(two_square_clip.read_bytes()).hexdigest()
    assert report.input.sha256 == expected
    assert report.to_dict()["input"]["sha256"] == expected
    assert expected in report_to_html(report)


def test_digest_streams_files_larger_than_a_chunk(tmp_path: Path) -> None:
    import hashlib

    from deepfake_analyzer.media.digest import CHUNK_BYTES, FileDigest

    path = tmp_path / "big.bin"
    path.write_bytes(np.random.default_rng(0).bytes(CHUNK_BYTES * 2 + 123))
    assert FileDigest(path).hexdigest() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert FileDigest(tmp_path / "missing.bin").hexdigest() == ""


def test_explain_is_timed_and_reports_progress(two_square_clip: Path) -> None:
    hook = RecordingHook()
    report = run_fake_analysis(two_square_clip, hook=hook, explain=True)
    assert report.timings_s["explain"] >= 0.0
    explain = [e for e in hook.events if isinstance(e, StageProgress) and e.stage == "explain"]
    kept = len(report.thumbnails)
    assert [(e.done, e.total) for e in explain] == [(0, kept), (kept, kept)]
    assert "explain" not in run_fake_analysis(two_square_clip).timings_s


NON_DEFAULT_OPTIONS = {
    "fps": 4.0, "max_frames": 7, "start_s": 0.1, "end_s": 2.0, "detector": "full",
    "min_face": 12, "min_confidence": 0.3, "batch_size": 3, "model_path": "my.keras",
    "trust_model": True, "explain": True, "max_image_pixels": 5_000_000,
}  # fmt: skip


def test_public_api_takes_every_option_as_a_keyword(two_square_clip: Path) -> None:
    """`deepfake_analyzer.analyze(path, detector="full", ...)` as the README shows it."""
    import dataclasses

    import deepfake_analyzer

    assert set(NON_DEFAULT_OPTIONS) <= {f.name for f in dataclasses.fields(AnalyzeOptions)}
    report = deepfake_analyzer.analyze(
        two_square_clip,
        classifier=FakeClassifier(SPEC),
        face_detector=SquareFaceDetector(),
        **NON_DEFAULT_OPTIONS,
    )
    assert report.options == AnalyzeOptions(**NON_DEFAULT_OPTIONS).to_dict()
    assert len(report.frames) == 7


if __name__ == "__main__" and "--update-golden" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        clip = make_two_square_clip(Path(folder) / "two_squares.mkv")
        GOLDEN.write_text(json.dumps(stable_dict(run_fake_analysis(clip)), indent=2) + "\n")
    print(f"wrote {GOLDEN}")


def test_a_blend_scores_faces_through_its_members(two_square_clip: Path) -> None:
    from dataclasses import replace

    from deepfake_analyzer.models.blend import Blend, BlendClassifier, BlendMember

    member = FakeClassifier(SPEC)
    blend = BlendClassifier(
        replace(SPEC, name="blend", input_size=64),
        "b" * 64,
        Blend((BlendMember("fake.spec.json", member.sha256, 1.0),)),
        [member],
    )
    report = analyze(
        two_square_clip, AnalyzeOptions(fps=None, explain=True), classifier=blend,
        face_detector=SquareFaceDetector(),
    )  # fmt: skip
    single = run_fake_analysis(two_square_clip)
    assert report.model.name == "blend" and report.model.input_size == 64
    assert [t.verdict.label for t in report.tracks] == [t.verdict.label for t in single.tracks]
    for ours, theirs in zip(report.tracks, single.tracks, strict=True):
        assert ours.verdict.score == pytest.approx(theirs.verdict.score, abs=0.02)
    assert report.thumbnails and all(t.heatmap_jpeg is None for t in report.thumbnails)


def test_a_narrower_explained_member_is_explained_on_its_square() -> None:
    from dataclasses import replace

    from deepfake_analyzer.models.blend import Blend, BlendClassifier, BlendMember
    from deepfake_analyzer.pipeline import _explain

    narrow = FakeClassifier(replace(SPEC, name="narrow", input_size=40, crop_margin=1.3))
    blend = BlendClassifier(
        replace(SPEC, name="blend", input_size=80, crop_margin=2.6), "b" * 64,
        Blend((BlendMember("narrow.spec.json", narrow.sha256, 1.0),)), [narrow],
    )  # fmt: skip
    crop = np.zeros((80, 80, 3), np.uint8)
    crop[20:60, 20:60] = 200  # the square the member's margin covers
    seen: list[np.ndarray] = []

    def explainer(x: np.ndarray) -> np.ndarray:
        seen.append(x)
        return np.ones((len(x), 5, 5), np.float32)

    heat = _explain(explainer, blend, [crop, crop])
    assert seen[0].shape == (2, 40, 40, 3) and np.ptp(seen[0]) == 0  # the square alone
    assert heat.shape == (2, 80, 80) and np.all(heat[:, 20:60, 20:60] == 1)
    assert heat.sum() == 2 * 40 * 40  # nothing outside it
    plain = _explain(explainer, narrow, [crop[20:60, 20:60]])
    assert plain.shape == (1, 5, 5)  # a model's own crop: its heatmap as the explainer gave it


def test_a_blend_with_centers_reports_each_members_evidence(two_square_clip: Path) -> None:
    import math
    from dataclasses import replace

    from deepfake_analyzer.models.blend import Blend, BlendClassifier, BlendMember
    from deepfake_analyzer.models.spec import Calibration

    one, two = FakeClassifier(SPEC), FakeClassifier(replace(SPEC, name="two", input_size=32))
    blend = Blend(
        (
            BlendMember("fake.spec.json", one.sha256, 0.5, -0.2),
            BlendMember("two.spec.json", one.sha256, 0.25, 0.4),
        ),
        0.5 * 0.2 - 0.25 * 0.4,  # centred: the members' evidence adds up to the log-odds
    )
    spec = replace(SPEC, name="blend", input_size=64, calibration=Calibration("temperature", 2.0))
    classifier = BlendClassifier(spec, "b" * 64, blend, [one, two])
    report = analyze(
        two_square_clip, AnalyzeOptions(fps=None), classifier=classifier,
        face_detector=SquareFaceDetector(),
    )  # fmt: skip
    faces = [face for frame in report.frames for face in frame.faces]
    assert faces and all([n for n, _ in f.members] == ["fake", "two"] for f in faces)
    for face in faces:  # on the calibrated scale: the sum is the face score's logit
        logit = math.log(face.score / (1 - face.score))
        assert sum(v for _, v in face.members) == pytest.approx(logit, abs=1e-6)
    for track in report.tracks:
        mine = sorted((f for f in faces if f.track_id == track.id), key=lambda f: f.score)
        top = mine[-max(1, math.ceil(len(mine) / 4)) :]
        expected = [sum(f.members[i][1] for f in top) / len(top) for i in range(2)]
        assert [v for _, v in track.members] == pytest.approx(expected)
    single = run_fake_analysis(two_square_clip)
    assert all(f.members == () for frame in single.frames for f in frame.faces)
    assert all(t.members == () for t in single.tracks)
