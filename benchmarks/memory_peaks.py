"""Peak memory of `deepfake-analyzer analyze` on "tiny file, huge image" inputs (issue 12 #4).

Each input runs in a fresh process; its peak RSS comes from `os.wait4` (the kernel's
`ru_maxrss` of that one child, as `/usr/bin/time -v` reports it). The ffmpeg child of a video
decode is measured separately (RUSAGE_CHILDREN of the analyzer is not split per grandchild,
so the figure shown is the analyzer process alone). Inputs are generated in --cache-dir:

    .venv/bin/python benchmarks/memory_peaks.py               # default model
    .venv/bin/python benchmarks/memory_peaks.py --fake-model  # fake classifier: decode only

Target: every input under the limits peaks below 1 GB RSS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the synthetic media factory

import media_factory as mf  # noqa: E402

TARGET_MB = 1000
FAKE_RUNNER = """
import sys
import deepfake_analyzer.models.loader as loader
from deepfake_analyzer.models.fake_classifier import FakeClassifier
loader.load_classifier = lambda *a, **k: FakeClassifier()
from deepfake_analyzer.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def inputs(folder: Path) -> dict[str, Path]:
    """name -> path of each hostile input (made once, reused from the cache)."""
    made = {
        "small 320x240 PNG (baseline)": ("small.png", lambda p: mf.make_large_png(p, 320, 240)),
        "1 x 100,000,000 PNG": ("tall.png", lambda p: mf.make_large_png(p, 1, 100_000_000)),
        "9999 x 10000 PNG": ("big.png", lambda p: mf.make_large_png(p, 9999, 10000)),
        "10000 x 10000 RGBA PNG": ("big-rgba.png", lambda p: _rgba(p, 10000, 10000)),
        "10000 x 10000 JPEG": ("big.jpg", _big_jpeg),
        "2000 x 50000 PNG (aspect 25)": (
            "strip25.png",
            lambda p: mf.make_large_png(p, 2000, 50000),
        ),
        "1414 x 70700 PNG (aspect 50)": ("strip.png", lambda p: mf.make_large_png(p, 1414, 70700)),
        "4096 x 4096 H.264 video, 1 s": ("big.mp4", _big_video),
    }
    out = {}
    for label, (name, make) in made.items():
        path = folder / name
        if not path.exists():
            started = time.perf_counter()
            make(path)
            print(f"made {name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        out[label] = path
    return out


def _rgba(path: Path, width: int, height: int) -> Path:
    return mf.make_large_png(path, width, height, alpha=True)


def _big_jpeg(path: Path) -> Path:
    mf.ffmpeg("-f", "lavfi", "-i", "testsrc2=size=10000x10000", "-frames:v", "1", str(path))
    return path


def _big_video(path: Path) -> Path:
    mf.ffmpeg(
        "-f", "lavfi", "-i", "testsrc2=size=4096x4096:rate=5:duration=1",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path),
    )  # fmt: skip
    return path


def peak_rss_mb(argv: list[str], fake_model: bool) -> tuple[int, float, float]:
    """(exit code, peak RSS in MB, wall seconds) of one analyzer run in a fresh process."""
    if fake_model:
        command = [sys.executable, "-c", FAKE_RUNNER, *argv]
    else:
        command = [sys.executable, "-m", "deepfake_analyzer", *argv]
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
    if err:
        print(f"    {err.splitlines()[-1][:150]}", file=sys.stderr)
    return proc.returncode, usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "df-mem")
    parser.add_argument("--fake-model", action="store_true", help="fake classifier (no TF)")
    parser.add_argument("--model", help="--model for the analyzer")
    args = parser.parse_args()
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    extra = ["--model", args.model] if args.model else []
    worst = 0.0
    print(f"{'input':34} {'exit':>4} {'peak RSS':>10} {'wall':>7}")
    for label, path in inputs(args.cache_dir).items():
        argv = ["analyze", str(path), "-q", "--no-reports", "--detector", "short", *extra]
        code, peak, wall = peak_rss_mb(argv, args.fake_model)
        worst = max(worst, peak)
        print(f"{label:34} {code:>4} {peak:>7.0f} MB {wall:>6.1f}s", flush=True)
    verdict = "met" if worst < TARGET_MB else "NOT met"
    print(f"worst peak {worst:.0f} MB: target < {TARGET_MB} MB {verdict}")
    return 0 if worst < TARGET_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
