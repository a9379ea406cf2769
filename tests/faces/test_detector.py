"""Face detector: registry, auto mode logic with fakes, and the real BlazeFace models."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError, UsageError
from deepfake_analyzer.faces.detector import (
    AutoFaceDetector,
    DetectorConfig,
    create_detector,
    downscale_for_detection,
    filter_faces,
    list_detectors,
    merge_detections,
)
from deepfake_analyzer.faces.tracker import box_iou
from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.paths import SAMPLE_MEDIA_DIR


def det(box: tuple[float, float, float, float], confidence: float = 0.9) -> FaceDetection:
    return FaceDetection(box, confidence, np.zeros((0, 2), np.float32))


class FakeDetector:
    def __init__(self, faces: list[FaceDetection]) -> None:
        self.faces = faces
        self.calls = 0
        self.closed = False

    def detect(self, image_rgb: np.ndarray) -> list[FaceDetection]:
        self.calls += 1
        return list(self.faces)

    def close(self) -> None:
        self.closed = True


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return float(box_iou(np.array([a]), np.array([b]))[0, 0])


# --- fast tests, no models ---------------------------------------------------------------


def test_registry_lists_the_three_detectors() -> None:
    assert list_detectors() == ["auto", "full", "short"]


def test_unknown_detector_name_suggests_the_closest() -> None:
    with pytest.raises(UsageError, match="did you mean 'short'"):
        create_detector("shrot")


def test_config_is_validated() -> None:
    with pytest.raises(UsageError, match="min_confidence"):
        DetectorConfig(min_confidence=0.0)
    with pytest.raises(UsageError, match="min_face_px"):
        DetectorConfig(min_face_px=-1)
    with pytest.raises(UsageError, match="crowd probes"):
        DetectorConfig(crowd_probe_every=0)


def test_missing_model_file_says_how_to_restore_it(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="extract_mediapipe_models.py"):
        create_detector("short", models_dir=tmp_path)


def test_auto_skips_full_range_on_large_face_frames_between_probes() -> None:
    short = FakeDetector([det((100, 100, 250, 250))])  # 150 px: 23 % of the long side
    full = FakeDetector([det((105, 95, 255, 245), 0.95)])  # the same face, surer
    auto = AutoFaceDetector(short, full, probe_every=4)
    frame = np.zeros((480, 640, 3), np.uint8)
    for _ in range(9):  # probes on frames 0, 4 and 8 find nothing new: short's box stays
        assert auto.detect(frame) == short.faces
    assert full.calls == 3 == auto.full_range_runs
    auto.begin_media()  # a new input probes its first frame
    auto.detect(frame)
    assert full.calls == 4


def test_a_probe_that_finds_a_missed_face_runs_full_range_on_the_rest_of_the_input() -> None:
    big = det((100, 100, 250, 250))
    short = FakeDetector([big])
    small = det((400, 50, 450, 100), 0.7)  # beside the large face, only full range sees it
    full = FakeDetector([det((105, 95, 255, 245), 0.95), small])
    auto = AutoFaceDetector(short, full, probe_every=4)
    frame = np.zeros((480, 640, 3), np.uint8)
    assert auto.detect(frame) == [big, small]  # short's box kept, the missed face added
    assert auto.detect(frame)[0].confidence == 0.95  # from now on: both models, merged
    assert full.calls == 2
    auto.begin_media()
    auto.detect(frame), auto.detect(frame)
    assert full.calls == 4  # the new input's probe found the small face again
    never = AutoFaceDetector(FakeDetector([big]), FakeDetector([small]), probe_every=None)
    assert never.detect(frame) == [big] and never.full_range_runs == 0


def test_auto_runs_full_range_when_the_large_face_is_unsure() -> None:
    short = FakeDetector([det((100, 100, 250, 250), 0.6)])  # loose boxes come with low scores
    full = FakeDetector([det((110, 110, 230, 230), 0.9)])
    auto = AutoFaceDetector(short, full)
    assert auto.detect(np.zeros((480, 640, 3), np.uint8)) == full.faces


def test_auto_adds_full_range_faces_when_short_range_finds_only_small_ones() -> None:
    short = FakeDetector([det((100, 100, 150, 150), 0.9)])  # 50 px < 12 % of 640
    full = FakeDetector([det((102, 101, 151, 149), 0.8), det((400, 50, 450, 100), 0.7)])
    auto = AutoFaceDetector(short, full)
    faces = auto.detect(np.zeros((480, 640, 3), np.uint8))
    assert [f.box_xyxy for f in faces] == [(100, 100, 150, 150), (400, 50, 450, 100)]
    assert full.calls == 1 and auto.full_range_runs == 1


def test_auto_runs_full_range_when_short_range_finds_nothing() -> None:
    full = FakeDetector([det((10, 10, 40, 40))])
    auto = AutoFaceDetector(FakeDetector([]), full)
    assert len(auto.detect(np.zeros((480, 640, 3), np.uint8))) == 1


def test_auto_closes_both_models() -> None:
    short, full = FakeDetector([]), FakeDetector([])
    with AutoFaceDetector(short, full):
        pass
    assert short.closed and full.closed


def test_filter_faces_drops_small_and_unsure_faces_and_sorts_by_confidence() -> None:
    faces = [
        det((0, 0, 30, 30), 0.9),  # too small
        det((0, 0, 60, 60), 0.4),  # too unsure
        det((0, 0, 60, 60), 0.6),
        det((100, 0, 200, 100), 0.95),
    ]
    kept = filter_faces(faces, min_confidence=0.5, min_face_px=40)
    assert [f.confidence for f in kept] == [0.95, 0.6]


def test_merge_keeps_the_surer_of_overlapping_boxes() -> None:
    merged = merge_detections([det((0, 0, 100, 100), 0.7)], [det((5, 5, 105, 105), 0.9)])
    assert [f.confidence for f in merged] == [0.9]


def test_downscale_for_detection_shrinks_by_a_whole_factor() -> None:
    small, factor = downscale_for_detection(np.zeros((1080, 1920, 3), np.uint8), 1280)
    assert (small.shape, factor) == ((540, 960, 3), 2)
    odd, factor = downscale_for_detection(np.zeros((2163, 3835, 3), np.uint8), 1280)
    assert (odd.shape, factor) == ((721, 1278, 3), 3)  # the last row and column are dropped
    same, factor = downscale_for_detection(np.zeros((480, 640, 3), np.uint8), 1280)
    assert (same.shape, factor) == ((480, 640, 3), 1)


def test_downscale_averages_blocks() -> None:
    image = np.zeros((4, 6, 3), np.uint8)
    image[:2, :2] = 200
    small, factor = downscale_for_detection(image, 3)
    assert factor == 2 and small.shape == (2, 3, 3)
    assert small[0, 0, 0] == 200 and small[1, 1, 0] == 0


# --- real models ------------------------------------------------------------------------


def video_frames(path: Path, count: int) -> list[np.ndarray]:
    """The first `count` frames, decoded with the imageio-ffmpeg binary."""
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    frames = []
    for _, raw in zip(range(count), reader, strict=False):
        frames.append(np.frombuffer(raw, np.uint8).reshape(height, width, 3).copy())
    reader.close()
    return frames


@pytest.mark.slow
@pytest.mark.real_models
def test_short_range_finds_the_astronaut_face(
    short_detector, astronaut_rgb, astronaut_face_box
) -> None:
    faces = short_detector.detect(astronaut_rgb)
    assert len(faces) == 1
    assert iou(faces[0].box_xyxy, astronaut_face_box) > 0.8
    assert faces[0].confidence > 0.8
    assert faces[0].keypoints.shape == (6, 2)
    x0, y0, x1, y1 = faces[0].box_xyxy
    kp = faces[0].keypoints[:4]  # eyes, nose, mouth: inside the box
    assert ((kp[:, 0] > x0) & (kp[:, 0] < x1) & (kp[:, 1] > y0) & (kp[:, 1] < y1)).all()


@pytest.mark.slow
@pytest.mark.real_models
def test_auto_finds_the_face_in_the_sample_still_and_clips(auto_detector) -> None:
    still = cv2.cvtColor(cv2.imread(str(SAMPLE_MEDIA_DIR / "astronaut.jpg")), cv2.COLOR_BGR2RGB)
    assert len(auto_detector.detect(still)) == 1
    for name in ("real_pan_zoom.mp4", "manipulated_pan_zoom.mp4"):
        for frame in video_frames(SAMPLE_MEDIA_DIR / name, 3):
            faces = auto_detector.detect(frame)
            assert len(faces) == 1, name
            assert 100 < faces[0].width < 250, name  # the zoomed face in a 640x480 frame


@pytest.mark.real_models
def test_no_face_in_a_flat_grey_image(auto_detector, flat_grey_image) -> None:
    assert auto_detector.detect(flat_grey_image) == []


@pytest.mark.real_models
def test_full_range_finds_a_small_face(full_detector, short_detector, small_face_image) -> None:
    image, expected_box = small_face_image
    faces = full_detector.detect(image)
    assert len(faces) == 1
    assert iou(faces[0].box_xyxy, expected_box) > 0.5
    # Short range alone misses it at the default confidence: why "auto" exists.
    assert short_detector.detect(image) == []


@pytest.mark.real_models
def test_auto_finds_a_small_face_through_full_range(auto_detector, small_face_image) -> None:
    image, expected_box = small_face_image
    faces = auto_detector.detect(image)
    assert len(faces) == 1 and iou(faces[0].box_xyxy, expected_box) > 0.5


@pytest.mark.real_models
def test_boxes_of_downscaled_frames_map_back_to_full_resolution(
    short_detector, astronaut_rgb, astronaut_face_box
) -> None:
    big = cv2.resize(astronaut_rgb, (2048, 2048), interpolation=cv2.INTER_CUBIC)  # > 1280
    faces = short_detector.detect(big)
    assert len(faces) == 1
    expected = tuple(v * 4 for v in astronaut_face_box)
    assert iou(faces[0].box_xyxy, expected) > 0.8
    assert np.allclose(faces[0].keypoints[2], (880, 508), atol=30)  # nose tip, x4


@pytest.mark.real_models
def test_min_face_drops_faces_narrower_than_asked(astronaut_rgb) -> None:
    with create_detector("short", min_face_px=120) as detector:
        assert detector.detect(astronaut_rgb) == []  # the face is 95 px wide


@pytest.mark.real_models
def test_closed_detector_refuses_to_detect(astronaut_rgb) -> None:
    detector = create_detector("short")
    detector.close()
    detector.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        detector.detect(astronaut_rgb)


@pytest.mark.real_models
def test_auto_tightens_short_ranges_loose_box_on_a_mid_sized_720p_face(
    auto_detector, astronaut_rgb, astronaut_face_box
) -> None:
    """A 134 px face in 1280x720: short range alone boxes it ~1.5x too wide at ~0.57."""
    frame = np.full((720, 1280, 3), 128, np.uint8)
    frame[:, 280:1000] = cv2.resize(astronaut_rgb, (720, 720), interpolation=cv2.INTER_AREA)
    k = 720 / 512
    x0, y0, x1, y1 = astronaut_face_box
    truth = (280 + x0 * k, y0 * k, 280 + x1 * k, y1 * k)
    faces = auto_detector.detect(frame)
    assert len(faces) == 1
    assert iou(faces[0].box_xyxy, truth) > 0.7
