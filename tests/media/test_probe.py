"""Tests for probing videos from ffmpeg's stream header (no ffprobe) and from ffprobe JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_analyzer.errors import DecodeError, InputNotFoundError, UnsupportedMediaError
from deepfake_analyzer.media.probe import (
    clean_ffmpeg_line,
    parse_ffmpeg_header,
    parse_ffprobe_json,
    probe_media,
    probe_video,
    summarize_ffmpeg_errors,
)

OLD_FFMPEG_ROTATED_HEADER = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'phone.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:01:02.50, start: 0.000000, bitrate: 17000 kb/s
    Stream #0:0(eng): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 16900 kb/s, SAR 1:1 DAR 16:9, 29.97 fps, 29.97 tbr, 90k tbn, 180k tbc (default)
    Metadata:
      rotate          : 90
      handler_name    : VideoHandle
    Side data:
      displaymatrix: rotation of -90.00 degrees
    Stream #0:1(eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, stereo, fltp, 96 kb/s (default)
At least one output file must be specified
"""  # noqa: E501

LEGACY_ROTATE_TAG_HEADER = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'old.mov':
  Duration: 00:00:05.00, start: 0.000000, bitrate: 1000 kb/s
    Stream #0:0(und): Video: h264 (avc1 / 0x31637661), yuv420p, 640x480, 900 kb/s, 30 fps, 30 tbr, 600 tbn (default)
    Metadata:
      rotate          : 270
"""  # noqa: E501

MP3_WITH_COVER_ART_HEADER = """\
Input #0, mp3, from 'song.mp4':
  Duration: 00:03:00.00, start: 0.025057, bitrate: 320 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 320 kb/s
  Stream #0:1: Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 500x500 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn (attached pic)
"""  # noqa: E501

ANAMORPHIC_HEADER = """\
Input #0, mpeg, from 'dvd.mpg':
  Duration: N/A, start: 0.500000, bitrate: N/A
  Stream #0:0[0x1e0]: Video: mpeg2video (Main), yuv420p(tv, top first), 720x576 [SAR 64:45 DAR 16:9], 25 fps, 25 tbr, 90k tbn
  Stream #0:1[0x80]: Audio: ac3, 48000 Hz, stereo, fltp, 192 kb/s
"""  # noqa: E501


def test_probe_reads_size_fps_duration_codec(short_video: Path) -> None:
    info = probe_media(short_video)
    assert (info.kind, info.width, info.height) == ("video", 160, 96)
    assert info.fps == pytest.approx(25.0)
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.codec == "h264"
    assert info.rotation_deg == 0
    assert probe_video(short_video).has_audio


def test_probe_reports_displayed_size_of_rotated_video(rotated_video: Path) -> None:
    probe = probe_video(rotated_video)
    assert (probe.coded_width, probe.coded_height) == (160, 96)
    assert (probe.info.width, probe.info.height) == (96, 160)
    assert probe.info.rotation_deg == 90


def test_old_ffmpeg_header_with_display_matrix() -> None:
    probe = parse_ffmpeg_header(OLD_FFMPEG_ROTATED_HEADER, "phone.mp4")
    assert probe.info.rotation_deg == 90
    assert (probe.info.width, probe.info.height) == (1080, 1920)
    assert probe.info.fps == pytest.approx(29.97)
    assert probe.info.duration_s == pytest.approx(62.5)
    assert probe.has_audio


def test_legacy_rotate_tag() -> None:
    probe = parse_ffmpeg_header(LEGACY_ROTATE_TAG_HEADER, "old.mov")
    assert probe.info.rotation_deg == 270
    assert (probe.info.width, probe.info.height) == (480, 640)


def test_cover_art_is_not_a_video_stream() -> None:
    with pytest.raises(UnsupportedMediaError, match="song.mp4: has no video stream \\(audio only"):
        parse_ffmpeg_header(MP3_WITH_COVER_ART_HEADER, "song.mp4")


def test_anamorphic_video_is_displayed_with_square_pixels() -> None:
    probe = parse_ffmpeg_header(ANAMORPHIC_HEADER, "dvd.mpg")
    assert probe.sample_aspect == pytest.approx(64 / 45)
    assert (probe.info.width, probe.info.height) == (1024, 576)
    assert probe.info.duration_s == 0.0  # unknown
    assert probe.start_s == pytest.approx(0.5)


def test_zero_byte_and_missing_files(zero_byte_video: Path, tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaError, match="empty.mp4: is empty"):
        probe_media(zero_byte_video)
    with pytest.raises(InputNotFoundError, match="gone.mp4: does not exist"):
        probe_media(tmp_path / "gone.mp4")


def test_audio_only_file_is_unsupported(audio_only_file: Path) -> None:
    with pytest.raises(UnsupportedMediaError, match="has no video stream"):
        probe_media(audio_only_file)


def test_text_file_is_unsupported(text_as_video: Path) -> None:
    with pytest.raises(UnsupportedMediaError) as excinfo:
        probe_media(text_as_video)
    assert str(text_as_video) in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_missing_index_is_a_decode_error(tmp_path: Path, short_video: Path) -> None:
    cut = tmp_path / "cut.mp4"
    data = short_video.read_bytes()
    cut.write_bytes(data[: data.find(b"moov") - 4])  # keep only the ftyp box
    with pytest.raises(DecodeError, match="cut.mp4: .*moov atom.* is missing"):
        probe_media(cut)


def test_ffprobe_json_is_parsed() -> None:
    data = {
        "streams": [
            {"codec_type": "audio", "codec_name": "aac"},
            {
                "codec_type": "video",
                "codec_name": "hevc",
                "width": 3840,
                "height": 2160,
                "avg_frame_rate": "30000/1001",
                "r_frame_rate": "30/1",
                "sample_aspect_ratio": "1:1",
                "nb_frames": "300",
                "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
                "disposition": {"attached_pic": 0},
            },
        ],
        "format": {"duration": "10.010000", "start_time": "0.000000"},
    }
    probe = parse_ffprobe_json(data, "clip.mov")
    assert (probe.info.width, probe.info.height, probe.info.rotation_deg) == (2160, 3840, 90)
    assert probe.info.fps == pytest.approx(29.97, abs=0.01)
    assert probe.info.duration_s == pytest.approx(10.01)
    assert probe.info.codec == "hevc"
    assert probe.frame_count == 300
    assert probe.has_audio


def _fake_ffprobe(tmp_path: Path, body: str) -> str:
    script = tmp_path / "ffprobe"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return str(script)


def test_ffprobe_is_used_when_present(
    tmp_path: Path, short_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canned = '{"streams": [{"codec_type": "video", "codec_name": "vp9", "width": 32, '
    canned += '"height": 16, "avg_frame_rate": "10/1"}], "format": {"duration": "4.5"}}'
    fake = _fake_ffprobe(tmp_path, f"echo '{canned}'")
    monkeypatch.setattr("deepfake_analyzer.media.probe.ffprobe_exe", lambda: fake)
    info = probe_media(short_video)
    assert (info.codec, info.width, info.height, info.duration_s) == ("vp9", 32, 16, 4.5)


def test_failing_ffprobe_falls_back_to_the_ffmpeg_header(
    tmp_path: Path, short_video: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _fake_ffprobe(tmp_path, "exit 1")
    monkeypatch.setattr("deepfake_analyzer.media.probe.ffprobe_exe", lambda: fake)
    assert probe_media(short_video).width == 160


def test_ffprobe_json_without_video() -> None:
    data = {"streams": [{"codec_type": "audio"}], "format": {"duration": "3.0"}}
    with pytest.raises(UnsupportedMediaError, match="audio only"):
        parse_ffprobe_json(data, "a.m4a")


def test_error_lines_are_summarised_in_one_line() -> None:
    lines = [
        "[h264 @ 0x55a014aed940] [error] Invalid NAL unit size (558 > 528).",
        "[h264 @ 0x55a014a867c0] [error] Invalid NAL unit size (558 > 528).",
        "[in#0/mov,mp4 @ 0x55a014a57140] [error] stream 0, offset 0x3289: partial file",
        "[h264 @ 0x1] [error] a",
        "[h264 @ 0x1] [error] b",
    ]
    summary = summarize_ffmpeg_errors(lines)
    assert summary.startswith("Invalid NAL unit size (558 > 528); stream 0, offset 0x3289")
    assert summary.endswith("and 1 more")
    assert "@ 0x" not in summary and "\n" not in summary
    assert clean_ffmpeg_line("[info] frame=1") == "frame=1"
