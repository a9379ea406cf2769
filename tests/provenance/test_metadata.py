"""Unsigned labels: EXIF camera/software, XMP digital source type, video container tags."""

from __future__ import annotations

import subprocess
from pathlib import Path

from c2pa_factory import IPTC, tagged_jpeg_bytes, xmp_packet

from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe
from deepfake_analyzer.provenance import read_provenance
from deepfake_analyzer.provenance.metadata import parse_metadata_block


def test_exif_camera_and_xmp_source_type(tmp_path: Path) -> None:
    path = tmp_path / "tagged.jpg"
    xmp = xmp_packet("trainedAlgorithmicMedia", "ImageGen 3")
    path.write_bytes(tagged_jpeg_bytes("Canon", "EOS R5", "GIMP 2.10", xmp))
    provenance = read_provenance(path, "image")
    meta = provenance.metadata
    assert (meta.camera_make, meta.camera_model, meta.software) == ("Canon", "EOS R5", "GIMP 2.10")
    assert meta.digital_source_types == (IPTC + "trainedAlgorithmicMedia",)
    assert meta.creator_tool == "ImageGen 3"
    assert provenance.c2pa.status == "absent"
    assert provenance.generated_claims == ("xmp",)
    assert "XMP source trainedAlgorithmicMedia" in provenance.summary()
    assert "camera Canon EOS R5" in provenance.summary()


def test_camera_tags_without_xmp(tmp_path: Path) -> None:
    path = tmp_path / "camera.jpg"
    path.write_bytes(tagged_jpeg_bytes("Apple", "iPhone 15", "17.1"))
    provenance = read_provenance(path, "image")
    assert provenance.metadata.digital_source_types == ()
    assert provenance.generated_claims == ()
    assert "camera Apple iPhone 15; software 17.1" in provenance.summary()


def test_video_container_tags(tmp_path: Path) -> None:
    path = tmp_path / "phone.mov"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-t",
         "1", "-metadata", "com.apple.quicktime.make=Apple", "-metadata",
         "com.apple.quicktime.model=iPhone 15", "-metadata", "com.apple.quicktime.software=17.1",
         "-movflags", "use_metadata_tags", "-y", str(path)],
        check=True,
    )  # fmt: skip
    meta = read_provenance(path, "video").metadata
    assert (meta.camera_make, meta.camera_model, meta.software) == ("Apple", "iPhone 15", "17.1")
    assert meta.encoder.startswith("Lavf"), "ffmpeg's muxer names itself"


def test_metadata_block_is_the_inputs_global_one() -> None:
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Metadata:
    major_brand     : isom
    encoder         : Sora 2
    title           : a: b
  Duration: 00:00:01.00, start: 0.000000, bitrate: 22 kb/s
  Stream #0:0[0x1](und): Video: h264, yuv420p, 64x48, 5 fps
    Metadata:
      handler_name    : VideoHandler
      encoder         : Lavc63.1.102 libx264
"""
    assert parse_metadata_block(text) == {
        "major_brand": "isom",
        "encoder": "Sora 2",
        "title": "a: b",
    }
    assert parse_metadata_block("Input #0, png_pipe, from 'x.png':\n  Duration: N/A\n") == {}
