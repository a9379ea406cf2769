"""Landmark sequences: the largest face per frame, decoder times, a resumable per-video cache."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.faces.landmarks import FaceLandmarks
from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.media.types import Frame
from deepfake_analyzer.temporal import extract as ex
from deepfake_analyzer.temporal.sequence import LandmarkSequence


class BoxesByFrame:
    """A detector that returns prepared boxes for each frame index."""

    def __init__(self, boxes: dict[int, list[tuple[float, float, float, float]]]) -> None:
        self.boxes = boxes
        self.closed = False

    def detect(self, image: np.ndarray) -> list[FaceDetection]:
        index = int(image[0, 0, 0])
        return [FaceDetection(b, 0.9, np.zeros((0, 2), np.float32)) for b in self.boxes[index]]

    def close(self) -> None:
        self.closed = True


@dataclass
class MeshAtBox:
    """A face mesh whose points are the box's top-left corner (so the test sees which box)."""

    presence: float = 0.99
    calls: int = 0

    def run(self, image, box, keypoints=None) -> FaceLandmarks:
        self.calls += 1
        pts = np.tile(np.asarray(box[:2], np.float32), (468, 1))
        return FaceLandmarks(pts, np.zeros(468, np.float32), self.presence)

    def close(self) -> None:
        pass


def frame(index: int, t: float) -> Frame:
    image = np.full((8, 8, 3), index, np.uint8)
    return Frame(index, t, image)


def test_keeps_the_largest_face_and_the_decoder_times() -> None:
    detector = BoxesByFrame(
        {0: [(0, 0, 10, 10), (50, 50, 90, 90)], 1: [], 2: [(5, 5, 30, 30)], 3: [(7, 7, 9, 9)]}
    )
    frames = [frame(0, 0.0), frame(1, 0.13), frame(2, 0.29), frame(3, 0.5)]
    seq = ex.sequence_from_frames(frames, detector, MeshAtBox())
    assert len(seq) == 3  # frame 1 has no face
    assert seq.timestamps_s.tolist() == [0.0, 0.29, 0.5]
    assert seq.points[:, 0, :2].tolist() == [[50, 50], [5, 5], [7, 7]]
    assert seq.points.shape == (3, 468, 2)


def test_uses_the_landmarks_a_verified_detection_carries() -> None:
    class Verified(BoxesByFrame):
        def detect(self, image):
            return [
                replace(d, landmarks_xy=np.full((468, 2), 3.0, np.float32), presence=0.97)
                for d in super().detect(image)
            ]

    mesh = MeshAtBox()
    seq = ex.sequence_from_frames([frame(0, 0.5)], Verified({0: [(0, 0, 10, 10)]}), mesh)
    assert mesh.calls == 0
    assert seq.points[0, 0].tolist() == [3.0, 3.0]
    assert seq.presence.tolist() == pytest.approx([0.97])


def test_frames_with_a_doubtful_mesh_are_left_out() -> None:
    detector = BoxesByFrame({0: [(0, 0, 10, 10)]})
    seq = ex.sequence_from_frames([frame(0, 0.0)], detector, MeshAtBox(presence=0.2))
    assert len(seq) == 0 and seq.points.shape[1:] == (468, 3)


def test_sequence_npz_round_trip_and_validation(tmp_path: Path) -> None:
    seq = LandmarkSequence(np.ones((4, 468, 3)), np.array([0.0, 0.1, 0.25, 0.3]), np.ones(4))
    seq.save(tmp_path / "a.npz")
    back = LandmarkSequence.load(tmp_path / "a.npz")
    assert np.array_equal(back.points, seq.points) and back.duration_s == pytest.approx(0.3)
    with pytest.raises(ValueError, match="increase"):
        LandmarkSequence(np.ones((2, 468, 2)), np.array([0.2, 0.1]), np.ones(2))
    with pytest.raises(ValueError, match="468"):
        LandmarkSequence(np.ones((2, 10, 2)), np.array([0.1, 0.2]), np.ones(2))
    with pytest.raises(ValueError, match="timestamps"):
        LandmarkSequence(np.ones((2, 468, 2)), np.array([0.1]), np.ones(2))


def test_extraction_caches_each_video_once_and_resumes(tmp_path: Path, monkeypatch) -> None:
    videos = [tmp_path / f"v{i}.mp4" for i in range(3)]
    for k, video in enumerate(videos):
        video.write_bytes(b"x" * (k + 1))
    decoded: list[Path] = []

    def fake_read(path, config, detector, mesh):
        decoded.append(path)
        if path.name == "v1.mp4":
            raise ex.AnalyzerError("corrupt", path)
        n = 20
        return LandmarkSequence(np.zeros((n, 468, 3)), np.arange(n) / 8.0, np.ones(n))

    monkeypatch.setattr(ex, "read_video_sequence", fake_read)
    events = []
    cache = ex.extract_sequences(
        videos[:2], tmp_path / "cache", hook=events.append, detector=object(), face_mesh=object()
    )
    assert decoded == videos[:2]
    assert len(cache.load(videos[0])) == 20
    assert len(cache.load(videos[1])) == 0  # undecodable: cached as empty, reported
    assert any(getattr(e, "level", "") == "warning" for e in events)
    ex.extract_sequences(videos, tmp_path / "cache", detector=object(), face_mesh=object())
    assert decoded == [*videos[:2], videos[2]]  # only the new video was decoded
    assert cache.root.name == ex.SequenceConfig().key()


def test_config_key_changes_with_sampling() -> None:
    assert ex.SequenceConfig().key() != ex.SequenceConfig(fps=25).key()
    with pytest.raises(ValueError, match="fps"):
        ex.SequenceConfig(fps=0.1)


def test_thinning_picks_frames_nearest_an_even_grid() -> None:
    times = np.arange(0, 4.0, 1 / 30)  # 30 fps decoder times
    seq = LandmarkSequence(np.zeros((len(times), 468, 2)), times, np.ones(len(times)))
    thin = seq.thinned(8.0)
    steps = np.diff(thin.timestamps_s)
    assert len(thin) in (32, 33) and np.all((steps > 0.09) & (steps < 0.16))
    assert thin.median_interval_s() == pytest.approx(0.125, abs=0.01)
    sparse = LandmarkSequence(np.zeros((5, 468, 2)), np.arange(5) * 0.5, np.ones(5))
    assert sparse.thinned(8.0) is sparse


class CloudMesh:
    """A face mesh whose 468 points are a fixed 20-px cloud moved by the frame's number."""

    def __init__(self) -> None:
        self.frames: list[int] = []
        self.cloud = np.random.default_rng(0).uniform(0, 20, (468, 2)).astype(np.float32)

    def run(self, image, box, keypoints=None) -> FaceLandmarks:
        self.frames.append(int(image[0, 0, 0]))
        return FaceLandmarks(self.cloud + image[0, 0, 0], np.zeros(468, np.float32), 0.99)


def test_followed_sequences_detect_sampled_frames_and_follow_between() -> None:
    mesh = CloudMesh()
    boxes = {i: [(i, i, i + 20.0, i + 20.0)] for i in (0, 4)} | {8: []}
    frames = [
        replace(frame(i, i / 8), landmarks_only=i % 4 != 0) for i in range(12)
    ]  # detected at 0, 0.5 and 1.0 s (no face then); followed 8 per second between
    seq = ex.sequence_from_frames(frames, BoxesByFrame(boxes), mesh)
    # frames 0 and 4: the detector's box through the mesh; 1-3 and 5-7 followed; no face is
    # detected at frame 8 (1.0 s), yet frames 9 and 10 are within 0.75 s of the last
    # detection (frame 4, 0.5 s) and still followed; frame 11 is not
    assert mesh.frames == [0, 1, 2, 3, 4, 5, 6, 7, 9, 10]
    assert seq.timestamps_s.tolist() == [i / 8 for i in (0, 1, 2, 3, 4, 5, 6, 7, 9, 10)]
    assert seq.points[3, 0].tolist() == pytest.approx((mesh.cloud[0] + 3).tolist())
