"""Tiny files that hold huge images: memory stays bounded, and results keep full-size pixels.

The analyzer runs in a fresh process and reports its own peak RSS (`VmHWM`) as it exits.
The fake classifier keeps TensorFlow out: the figure is what decoding costs.
`benchmarks/memory_peaks.py` measures the same with the real model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import media_factory as mf
import pytest

from deepfake_analyzer.errors import EXIT_INPUT_FAILED, EXIT_OK

pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent
MEMORY_BOUND_MB = 1000
RUNNER = """
import sys
import deepfake_analyzer.faces.detector as detector
import deepfake_analyzer.models.loader as loader
from deepfake_analyzer.cli.main import main
from deepfake_analyzer.models.fake_classifier import FakeClassifier
from pipeline_fakes import SquareFaceDetector

loader.load_classifier = lambda *a, **k: FakeClassifier()
detector.create_detector = lambda *a, **k: SquareFaceDetector()
code = 1
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status, open(sys.argv[0] + ".peak", "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
sys.exit(code)
"""


def run_measured(*argv: str) -> tuple[int, float, str]:
    """(exit code, peak RSS in MB, stderr) of one `deepfake-analyzer` run in a fresh process.

    The peak is the process's own `VmHWM`, read as it exits: `ru_maxrss` from `wait4` starts
    at the parent's RSS when forked (a pytest process that loaded TensorFlow is over 1 GB)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE.parent), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "runner.py"
        script.write_text(RUNNER)
        proc = subprocess.run(
            [sys.executable, str(script), *argv],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        peak_kb = float((Path(folder) / "runner.py.peak").read_text())
    return proc.returncode, peak_kb / 1024, proc.stderr.decode(errors="replace")


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """9999 x 10000 pixels (inside the default limit) in a few hundred KB; a bright square
    "face" fills the middle third."""
    return mf.make_large_png(tmp_path_factory.mktemp("huge") / "huge.png", 9999, 10000, level=1)


def test_huge_png_peaks_below_the_memory_bound(huge_png: Path, tmp_path: Path) -> None:
    code, peak_mb, err = run_measured("analyze", str(huge_png), "-o", str(tmp_path), "-q")
    assert code == EXIT_OK, err
    assert peak_mb < MEMORY_BOUND_MB, f"peak RSS {peak_mb:.0f} MB"
    report = json.loads((tmp_path / "huge.report.json").read_text())
    assert (report["input"]["width"], report["input"]["height"]) == (9999, 10000)
    assert any("analyzed at 3333x3334" in text for text in report["errors"])
    (face,) = [f for frame in report["frames"] for f in frame["faces"]]
    expected = (3333, 3333, 6666, 6666)  # the square, in the input's own pixels
    assert all(abs(got - want) <= 4 for got, want in zip(face["box_xyxy"], expected, strict=True))


def test_one_pixel_wide_strip_is_refused_at_once(tmp_path: Path) -> None:
    strip = mf.make_header_only_png(tmp_path / "strip.png", 1, 100_000_000)
    code, peak_mb, err = run_measured("analyze", str(strip), str(strip), "-o", str(tmp_path), "-q")
    assert code == EXIT_INPUT_FAILED
    assert peak_mb < MEMORY_BOUND_MB
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2 and all("strip.png" in line and "too narrow" in line for line in lines)


def test_provenance_reads_a_png_without_decoding_its_pixels(tmp_path: Path, monkeypatch) -> None:
    from PIL import PngImagePlugin

    from deepfake_analyzer.provenance.metadata import read_image_metadata

    def no_decoding(self: object) -> None:
        raise AssertionError("the pixels were decoded to read metadata")

    png = mf.make_large_png(tmp_path / "meta.png", 300, 200)
    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
    assert read_image_metadata(png).camera_make == ""
