"""Mutation fuzzer for the decoders and the pipeline (issue 12): hostile media must give a
result or a one-line error, never a crash, a hang, a traceback or unbounded memory.

Valid small media (MP4, MKV, WebM, GIF, JPEG, PNG; made by `tests/media_factory.py`) are
mutated (bit flips, interesting bytes, truncation, chunk splices, deletions, duplications)
and analyzed in a worker process that keeps one `Analyzer` (fake classifier and a fake
centre-face detector, so no model is needed; `--real-detector` uses MediaPipe). The parent
enforces a per-input timeout and a memory bound (the worker's RSS, its ffmpeg included) and
restarts the worker after a hang or a blow-up. Every finding is saved with its reason in
--out. Standard library, the project and psutil (a project dependency) only.

    .venv/bin/python benchmarks/fuzz_media.py --seconds 600 --seed 1 --out fuzz-findings
    .venv/bin/python benchmarks/fuzz_media.py --seconds 30 --seed 7      # the CI run

Exit status: 0 when nothing was found, 1 otherwise.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the synthetic media factory

import media_factory as mf  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_MB = 1000
INTERESTING = (0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE)
OUTCOMES = ("ok", "rejected", "crash", "traceback", "hang", "memory")
FINDINGS = ("crash", "traceback", "hang", "memory")


def make_seeds(folder: Path) -> list[Path]:
    """Small valid inputs of every container and image format we decode."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = [
        mf.make_video(folder / "seed.mp4", (96, 64), 0.6, 10),
        mf.make_video(folder / "seed.mkv", (96, 64), 0.6, 10, codec="ffv1"),
        mf.make_video(folder / "seed.webm", (96, 64), 0.6, 10),
        mf.make_video(folder / "seed.avi", (96, 64), 0.6, 10, codec="mjpeg"),
        mf.make_image(folder / "seed.jpg", (96, 64), "RGB", exif_orientation=6),
        mf.make_image(folder / "seed.png", (96, 64), "RGBA"),
        mf.make_image(folder / "seed.webp", (96, 64), "RGB"),
        mf.make_image(folder / "seed.tiff", (96, 64), "I;16"),
    ]
    from PIL import Image

    gif = folder / "seed.gif"
    frames = [Image.fromarray(mf.pattern_rgb(96, 64) // (i + 1)) for i in range(3)]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return [*seeds, gif]


def mutate(data: bytes, other: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One to four stacked mutations of `data`; returns the bytes and what was done."""
    out = bytearray(data)
    done = []
    for _ in range(rng.randint(1, 4)):
        if not out:
            out = bytearray(b"\x00")
        kind = rng.choice(("flip", "byte", "truncate", "splice", "delete", "duplicate"))
        at = rng.randrange(len(out))
        if kind == "flip":
            for _ in range(rng.randint(1, 16)):
                i = rng.randrange(len(out))
                out[i] ^= 1 << rng.randrange(8)
        elif kind == "byte":
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(len(out))] = rng.choice(INTERESTING)
        elif kind == "truncate":
            del out[max(1, at) :]
        elif kind == "splice":
            start = rng.randrange(len(other))
            out[at:at] = other[start : start + rng.randint(1, 4096)]
        elif kind == "delete":
            del out[at : at + rng.randint(1, 4096)]
        else:
            size = rng.randint(1, 4096)
            out[at:at] = out[at : at + size] * rng.randint(1, 8)
        done.append(f"{kind}@{at}")
    return bytes(out), "+".join(done)


class CentreDetector:
    """One face in the middle half of every frame: crops and scores always run."""

    def detect(self, image_rgb: np.ndarray) -> list:
        from deepfake_analyzer.faces.types import FaceDetection

        height, width = image_rgb.shape[:2]
        box = (width * 0.25, height * 0.25, width * 0.75, height * 0.75)
        return [FaceDetection(box_xyxy=box, confidence=0.9, keypoints=np.zeros((0, 2)))]

    def close(self) -> None:
        return None


def worker(conn: multiprocessing.connection.Connection, real_detector: bool) -> None:
    """Analyze each path received; answer (outcome, detail)."""
    from deepfake_analyzer.errors import AnalyzerError
    from deepfake_analyzer.models.fake_classifier import FakeClassifier
    from deepfake_analyzer.options import AnalyzeOptions
    from deepfake_analyzer.pipeline import Analyzer

    detector = None if real_detector else CentreDetector()
    options = AnalyzeOptions(fps=None, max_frames=50)
    with Analyzer(options, classifier=FakeClassifier(), detector=detector) as analyzer:
        while (path := conn.recv()) is not None:
            try:
                report = analyzer.analyze(path)
                texts = [*report.errors, *report.warnings]
                leaked = [t for t in texts if "Traceback" in t or "\n" in t]
                conn.send(("traceback", leaked[0]) if leaked else ("ok", report.verdict.label))
            except AnalyzerError as exc:
                text = str(exc)
                bad = "\n" in text or "Traceback" in text
                conn.send(("traceback" if bad else "rejected", text))
            except Exception:
                conn.send(("crash", traceback.format_exc()))


class Runner:
    """The worker process, restarted after a hang or a memory blow-up."""

    def __init__(self, real_detector: bool) -> None:
        self.real_detector = real_detector
        self.context = multiprocessing.get_context("spawn")
        self.process = None
        self.conn = None

    def start(self) -> None:
        self.conn, child = self.context.Pipe()
        self.process = self.context.Process(
            target=worker, args=(child, self.real_detector), daemon=True
        )
        self.process.start()

    def stop(self) -> None:
        import psutil

        if self.process is None:
            return
        try:
            family = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            family = []
        for proc in [*family]:
            proc.kill()
        self.process.kill()
        self.process.join(timeout=10)
        self.process = None

    def run(self, path: Path, timeout_s: float, memory_mb: float) -> tuple[str, str]:
        import psutil

        if self.process is None or not self.process.is_alive():
            self.start()
        self.conn.send(str(path))
        deadline = time.monotonic() + timeout_s
        peak = 0.0
        while time.monotonic() < deadline:
            if self.conn.poll(0.05):
                return self.conn.recv()
            if not self.process.is_alive():
                code = self.process.exitcode
                self.process = None
                return "crash", f"the worker process died (exit code {code})"
            try:
                top = psutil.Process(self.process.pid)
                rss = sum(p.memory_info().rss for p in [top, *top.children(recursive=True)])
            except psutil.Error:
                continue
            peak = max(peak, rss / 2**20)
            if peak > memory_mb:
                self.stop()
                return "memory", f"{peak:.0f} MB, over the {memory_mb:.0f} MB bound"
        self.stop()
        return "hang", f"no answer after {timeout_s:g} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to fuzz")
    parser.add_argument("--seed", type=int, default=1, help="random seed (runs are repeatable)")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="findings")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="per input, s")
    parser.add_argument("--memory-mb", type=float, default=DEFAULT_MEMORY_MB)
    parser.add_argument("--real-detector", action="store_true", help="MediaPipe, not a fake")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work_dir:
        work = Path(work_dir)
        seeds = make_seeds(work / "seeds")
        blobs = {seed: seed.read_bytes() for seed in seeds}
        runner = Runner(args.real_detector)
        runner.start()
        started = time.monotonic()
        n = 0
        try:
            while time.monotonic() - started < args.seconds:
                seed = rng.choice(seeds)
                other = blobs[rng.choice(seeds)]
                data, how = mutate(blobs[seed], other, rng)
                suffix = seed.suffix if rng.random() < 0.8 else rng.choice(seeds).suffix
                case = work / f"case{suffix}"
                case.write_bytes(data)
                outcome, detail = runner.run(case, args.timeout, args.memory_mb)
                counts[outcome] += 1
                n += 1
                if outcome in FINDINGS:
                    args.out.mkdir(parents=True, exist_ok=True)
                    name = f"{outcome}-{n:05d}-{seed.stem}{suffix}"
                    shutil.copyfile(case, args.out / name)
                    note = f"seed {seed.name}, mutations {how}\n{detail}\n"
                    (args.out / f"{name}.txt").write_text(note)
                    print(f"FINDING {name}: {detail.splitlines()[-1][:200]}", flush=True)
        finally:
            runner.stop()
    elapsed = time.monotonic() - started
    found = sum(counts[k] for k in FINDINGS)
    summary = ", ".join(f"{k} {counts[k]}" for k in OUTCOMES)
    print(f"{n} inputs in {elapsed:.0f} s (seed {args.seed}): {summary}; findings {found}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
