"""Tests for VideoSource: ffmpeg-side sampling, decoder timestamps, rotation, damaged files."""

from __future__ import annotations

import math
from pathlib import Path

import media_factory as mf
import numpy as np
import pytest
from media_factory import VFR_TIMES_S

from deepfake_analyzer.errors import DecodeError
from deepfake_analyzer.media.base import MediaSource
from deepfake_analyzer.media.types import Frame, SamplingOptions
from deepfake_analyzer.media.video import VideoSource, _FrameRecord, sample_filter_expr


def decode(path: Path, **sampling: object) -> tuple[VideoSource, list[Frame]]:
    source = VideoSource(path, SamplingOptions(**sampling))  # type: ignore[arg-type]
    return source, list(source.frames())


def times(frames: list[Frame]) -> list[float]:
    return [round(f.timestamp_s, 3) for f in frames]


def test_video_source_follows_the_protocol(short_video: Path) -> None:
    source: MediaSource = VideoSource(short_video)
    assert source.info.kind == "video"
    assert source.warnings() == []


@pytest.mark.parametrize(("fps", "count"), [(2.0, 6), (1.0, 3), (5.0, 15), (0.5, 2)])
def test_fps_sampling_counts(three_second_video: Path, fps: float, count: int) -> None:
    source, frames = decode(three_second_video, fps=fps, max_frames=None)
    assert len(frames) == count
    assert [f.index for f in frames] == list(range(count))
    # one frame per 1/fps interval, each at its own decoder time (25 fps grid)
    for frame in frames:
        assert frame.timestamp_s * 25 == pytest.approx(round(frame.timestamp_s * 25), abs=1e-6)
        assert math.floor(frame.timestamp_s * fps + 1e-9) == frame.index
    assert source.warnings() == []


def test_sampling_faster_than_the_video_never_duplicates(three_second_video: Path) -> None:
    _, frames = decode(three_second_video, fps=60.0, max_frames=None)
    assert len(frames) == 75  # each of the 25 fps frames once, not 180 with duplicates
    assert len(set(times(frames))) == 75


def test_odd_file_names_reach_ffmpeg_intact(short_video: Path, tmp_path: Path) -> None:
    odd = tmp_path / "-v clip: ü 100%.mp4"
    odd.write_bytes(short_video.read_bytes())
    _, frames = decode(odd, max_frames=2)
    assert len(frames) == 2


def test_frames_are_rgb_of_the_displayed_size(short_video: Path) -> None:
    _, frames = decode(short_video)
    assert len(frames) == 4
    assert all(f.image.shape == (96, 160, 3) and f.image.dtype == np.uint8 for f in frames)
    assert frames[0].image.flags.writeable


def test_every_frame_when_fps_is_none(three_second_video: Path) -> None:
    _, frames = decode(three_second_video, fps=None, max_frames=None)
    assert len(frames) == 75
    assert times(frames) == pytest.approx([i / 25 for i in range(75)], abs=1e-6)


def test_max_frames_caps_the_decode_and_says_what_was_not_covered(
    three_second_video: Path,
) -> None:
    source, frames = decode(three_second_video, fps=None, max_frames=7)
    assert len(frames) == 7
    assert source.warnings() == [
        "stopped at max_frames 7, 0.24 s into the 3.00 s to analyze: "
        "raise max_frames or lower fps to cover all of it"
    ]
    source, frames = decode(three_second_video, fps=2, max_frames=6)
    assert len(frames) == 6
    assert source.warnings() == []  # the cap was reached at the end anyway


def test_start_and_end_select_a_time_range(three_second_video: Path) -> None:
    _, frames = decode(three_second_video, fps=None, start_s=1.0, end_s=2.0, max_frames=None)
    assert len(frames) == 25
    assert frames[0].timestamp_s == pytest.approx(1.0, abs=1e-6)
    assert frames[-1].timestamp_s == pytest.approx(1.96, abs=1e-6)
    assert frames[0].index == 0


def test_start_with_fps_sampling(three_second_video: Path) -> None:
    _, frames = decode(three_second_video, fps=2, start_s=1.1)
    assert len(frames) == 4
    assert times(frames)[0] == pytest.approx(1.12)
    assert all(1.1 <= t < 3.0 for t in times(frames))


def test_start_past_the_end_is_a_clear_error(three_second_video: Path) -> None:
    with pytest.raises(DecodeError, match=r"three_s.mp4: no frames after start 10 s.*3.00 s long"):
        decode(three_second_video, start_s=10.0)


def test_vfr_video_keeps_true_decoder_timestamps(vfr_video: Path) -> None:
    _, every = decode(vfr_video, fps=None, max_frames=None)
    assert times(every) == pytest.approx(list(VFR_TIMES_S), abs=1e-3)
    # Sampling at 2 fps keeps the first frame of each half second, at its own time; an
    # `fps` filter would instead emit a grid (0, 0.5, ..., 2.5) with duplicated frames.
    source, sampled = decode(vfr_video, fps=2.0)
    assert times(sampled) == pytest.approx([0.0, 0.5, 1.0, 1.7, 2.9], abs=1e-3)
    assert source.warnings() == []


def test_sample_filter_expression_uses_select() -> None:
    assert sample_filter_expr(2.0) == (
        "isnan(prev_selected_t)+gte(floor(t*2)-floor(prev_selected_t*2),1)"
    )


def test_broken_timestamps_are_repaired_to_increase(short_video: Path) -> None:
    source = VideoSource(short_video)
    assert source._timestamp(_FrameRecord(0.5, 8, 8), None) == 0.5
    assert source._timestamp(_FrameRecord(0.4, 8, 8), 0.5) == pytest.approx(0.501)
    assert source._timestamp(_FrameRecord(None, 8, 8), 0.5) == pytest.approx(0.54)  # 25 fps
    assert source._timestamp(_FrameRecord(None, 8, 8), None) == 0.0
    assert source._repaired_times == 2


@pytest.mark.slow
def test_rotated_video_is_decoded_upright(rotated_video: Path, media_dir: Path) -> None:
    source, frames = decode(rotated_video, fps=None, max_frames=1)
    assert (source.info.width, source.info.height) == (96, 160)
    assert frames[0].image.shape == (160, 96, 3)
    plain = mf.make_video(media_dir / "unrotated_ref.mp4", (160, 96), 1.0, 25)
    _, reference = decode(plain, fps=None, max_frames=1)
    # 90 degrees clockwise: the stored frame's top-left corner ends up top-right.
    expected = np.rot90(reference[0].image, k=-1).astype(int)
    assert np.abs(frames[0].image.astype(int) - expected).mean() < 3
    assert np.abs(frames[0].image.astype(int) - np.rot90(expected, 2)).mean() > 20


def test_truncated_video_yields_what_decodes_and_says_what_was_lost(
    truncated_video: Path,
) -> None:
    source, frames = decode(truncated_video, fps=None, max_frames=None)
    assert 10 <= len(frames) < 60
    warnings = source.warnings()
    assert warnings and all("\n" not in w for w in warnings)
    assert f"decoded {len(frames)} of ~75 expected frames" in warnings[0]
    assert "truncated or corrupt" in warnings[0]
    assert any("ffmpeg reported" in w for w in warnings)


def test_undecodable_video_raises(undecodable_video: Path) -> None:
    with pytest.raises(DecodeError, match=r"undecodable.mp4: no decodable video frames"):
        decode(undecodable_video)


def test_max_side_downscales_keeping_aspect(short_video: Path) -> None:
    source = VideoSource(short_video, SamplingOptions(max_frames=1), max_side=80)
    assert source.output_size() == (80, 48)
    frames = list(source.frames())
    assert frames[0].image.shape == (48, 80, 3)


def test_anamorphic_video_is_decoded_with_square_pixels(media_dir: Path) -> None:
    path = media_dir / "anamorphic.mp4"
    mf.ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1", "-vf", "setsar=2/1",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    source, frames = decode(path, max_frames=1)
    assert (source.info.width, source.info.height) == (128, 48)
    assert frames[0].image.shape == (48, 128, 3)


def test_stopping_early_ends_ffmpeg(three_second_video: Path) -> None:
    source = VideoSource(three_second_video, SamplingOptions(fps=None, max_frames=None))
    frames = source.frames()
    first = next(frames)
    process = source._process
    assert first.index == 0 and process is not None
    frames.close()  # the consumer stops early
    assert process.poll() is not None
    assert source._process is None


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "codec"),
    [("clip.webm", None), ("clip.avi", "mpeg4"), ("clip.mkv", None), ("clip.mov", "mjpeg")],
)
def test_other_containers_and_codecs(media_dir: Path, name: str, codec: str | None) -> None:
    path = mf.make_video(media_dir / name, (96, 64), 1.0, 10, codec=codec, with_audio=True)
    source, frames = decode(path, fps=4)
    assert len(frames) == 4
    assert frames[0].image.shape == (64, 96, 3)
    assert source.warnings() == []


@pytest.mark.slow
def test_decode_streams_instead_of_buffering(media_dir: Path) -> None:
    # 500 frames of 96x64 RGB = 9 MB, far more than a pipe buffer: if frames are streamed,
    # ffmpeg is still running (blocked on the pipe) when the first frame reaches us.
    clip = mf.make_video(media_dir / "stream.mp4", (96, 64), 20.0, 25)
    source = VideoSource(clip, SamplingOptions(fps=None, max_frames=None))
    iterator = source.frames()
    next(iterator)
    assert source._process is not None and source._process.poll() is None
    assert sum(1 for _ in iterator) == 499
    assert source._process is None


@pytest.mark.slow
@pytest.mark.parametrize("fps", [120, 240])
def test_clean_high_frame_rate_every_frame_reports_no_damage(tmp_path: Path, fps: int) -> None:
    clip = mf.make_video(tmp_path / f"fps{fps}.mp4", (64, 48), 1.0, fps)
    source, frames = decode(clip, fps=None, max_frames=None)
    assert len(frames) == fps
    assert source.warnings() == []
    gaps = np.diff([f.timestamp_s for f in frames])
    assert gaps.min() > 0.5 / fps


def test_benign_ffmpeg_lines_are_not_problems() -> None:
    from deepfake_analyzer.media.video import _is_problem

    benign = (
        "[vost#0:0/rawvideo @ 0x1] [error] Application provided invalid, non monotonically "
        "increasing dts to muxer in stream 0: 1 >= 1"
    )
    assert not _is_problem(benign)
    assert _is_problem("[h264 @ 0x1] [error] error while decoding MB 3 4, bytestream -5")
    assert _is_problem("[mov,mp4 @ 0x1] [error] stream 0, offset 0x30: partial file")


def test_frames_over_max_side_are_scaled_down_and_said_so(short_video: Path) -> None:
    source = VideoSource(short_video, SamplingOptions(max_frames=2), max_side=80)
    frames = list(source.frames())
    width, height = source.info.width, source.info.height
    assert max(frames[0].width, frames[0].height) == 80
    assert any(f"{width}x{height} video was analyzed at" in w for w in source.warnings())


def test_dense_window_adds_landmark_frames_and_keeps_the_sampled_ones(
    three_second_video: Path,
) -> None:
    _, plain = decode(three_second_video, fps=2.0, max_frames=None)
    _, mixed = decode(
        three_second_video, fps=2.0, max_frames=None, dense_fps=8.0, dense_seconds=1.5
    )
    sampled = [f for f in mixed if not f.landmarks_only]
    extra = [f for f in mixed if f.landmarks_only]
    assert times(sampled) == times(plain)
    assert [f.index for f in sampled] == list(range(len(plain)))
    assert [f.index for f in extra] == list(range(len(extra)))
    assert times(mixed) == sorted(times(mixed))
    inside = [f.timestamp_s for f in mixed if f.timestamp_s < 1.5]
    assert sorted(math.floor(t * 8 + 1e-9) for t in inside) == list(range(12))  # 1 per 1/8 s
    assert all(f.timestamp_s < 1.5 for f in extra)


def test_max_frames_counts_only_the_sampled_frames(three_second_video: Path) -> None:
    _, mixed = decode(three_second_video, fps=2.0, max_frames=2, dense_fps=8.0, dense_seconds=3.0)
    assert sum(not f.landmarks_only for f in mixed) == 2
    assert sum(f.landmarks_only for f in mixed) == 3  # 0.125, 0.25, 0.375 s before 0.5 s


def test_dense_sample_filter_expression() -> None:
    assert sample_filter_expr(2.0, 8.0, 10.0) == (
        "isnan(prev_selected_t)+gte(floor(t*2)-floor(prev_selected_t*2),1)"
        "+lt(t,10)*gte(floor(t*8)-floor(prev_selected_t*8),1)"
    )


def _with_b_frames(path: Path) -> Path:
    """A 3 s 25 fps H.264 clip with B-frames, most of which no frame refers to."""
    import subprocess

    from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

    subprocess.run(
        [ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "testsrc2=size=128x96:rate=25:duration=3", "-c:v", "libx264", "-preset", "medium",
         "-bf", "3", "-b-pyramid", "none", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_sparse_sampling_skips_unreferenced_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = _with_b_frames(tmp_path / "b_frames.mp4")
    source, sparse = decode(clip, fps=2.0, max_frames=None)
    assert source.skips_unreferenced_frames() and "noref" in source.command()
    with monkeypatch.context() as patch:
        patch.setattr("deepfake_analyzer.media.video.SKIP_NONREF_FACTOR", float("inf"))
        _, all_decoded = decode(clip, fps=2.0, max_frames=None)
    # some interval's first frame was a B-frame nothing refers to: it is skipped now
    assert times(sparse) != times(all_decoded) and len(sparse) == len(all_decoded)
    # still one frame in each half second, each at its own decoder time
    assert [math.floor(t * 2 + 1e-9) for t in times(sparse)] == list(range(6))
    every, frames = decode(clip, fps=None, max_frames=None)
    assert not every.skips_unreferenced_frames() and len(frames) == 75
    decoded = {round(f.timestamp_s, 3) for f in frames}
    assert set(times(sparse)) <= decoded
    # 10 per second from 25 is too dense to skip any
    dense, _ = decode(clip, fps=10.0, max_frames=None)
    assert not dense.skips_unreferenced_frames()
