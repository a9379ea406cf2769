"""Faces benchmark (issue 9): false faces, faces kept, tracks per person, dim/small faces, cost.

    .venv/bin/python benchmarks/bench_faces.py                  # everything, ~10-15 min on 2 cores
    .venv/bin/python benchmarks/bench_faces.py --quick          # a sample of each set, ~2-3 min
    .venv/bin/python benchmarks/bench_faces.py --json out.json  # also the raw figures
    .venv/bin/python benchmarks/bench_faces.py --only dim,speed # some sections (faces,dim,speed)

"Today" is BlazeFace `auto` as it was before verification (`create_detector(verify=False)`,
tracker without re-identification); "verified" is the default `create_detector("auto")` and
`FaceTracker()`. Both see the same BlazeFace candidates (run once per frame). Face-free images
are generated in memory; `../shared/data` is read in place and never copied.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepfake_analyzer.faces.verify import MIN_PRESENCE, MIN_SECOND_LOOK

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # synthetic_clips, when imported as a module too
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"
MIN_FACE_PX = 40.0  # AnalyzeOptions' default
THRESHOLDS = (0.05, 0.1, 0.3, 0.5, 0.7, 0.9)
SMALL_FACE_PX = 64.0
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".ppm", ".webp", ".bmp"}


# --- face-free images ----------------------------------------------------------------------

SKIMAGE_NON_FACE = (
    "brick", "cell", "chelsea", "clock", "coffee", "coins", "colorwheel",
    "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
    "microaneurysms", "moon", "page", "retina", "rocket", "shepp_logan_phantom", "text",
    "checkerboard", "binary_blobs",
)  # fmt: skip
"""skimage's bundled images without a human face (astronaut, camera, lfw_subset have one;
chelsea is a cat; eagle and other downloadable ones need pooch and are left out)."""


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.dtype != np.uint8:
        image = cv2.normalize(image.astype(np.float64), None, 0, 255, cv2.NORM_MINMAX)
        image = image.astype(np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=2)
    return np.ascontiguousarray(image[..., :3])


def _noise(kind: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    if kind == "uniform":
        return (rng.random((h, w, 3)) * 255).astype(np.uint8)
    if kind == "uniform-grey":
        return _rgb((rng.random((h, w)) * 255).astype(np.uint8))
    if kind == "gaussian":
        return np.clip(rng.normal(128, 50, (h, w, 3)), 0, 255).astype(np.uint8)
    if kind == "salt-pepper":
        image = np.full((h, w, 3), 128, np.uint8)
        mask = rng.random((h, w))
        image[mask < 0.1] = 0
        image[mask > 0.9] = 255
        return image
    if kind.startswith("blurred"):  # low-pass noise: blobs at a scale
        sigma = {"blurred-fine": 2, "blurred-mid": 6, "blurred-coarse": 15}[kind]
        base = rng.random((h, w, 3)).astype(np.float32)
        base = cv2.GaussianBlur(base, (0, 0), sigma)
        return cv2.normalize(base, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if kind == "pink":  # 1/f noise: natural-image-like statistics
        spectrum = np.fft.fft2(rng.normal(size=(h, w)))
        fy, fx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
        image = np.real(np.fft.ifft2(spectrum / np.maximum(np.hypot(fx, fy), 1.0 / max(h, w))))
        grey = cv2.normalize(image, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        return cv2.applyColorMap(grey, cv2.COLORMAP_BONE)[..., ::-1].copy()
    raise ValueError(kind)


NOISE_KINDS = (
    "uniform", "uniform-grey", "gaussian", "salt-pepper", "blurred-fine", "blurred-mid",
    "blurred-coarse", "pink",
)  # fmt: skip
SIZES = ((240, 320), (480, 640), (720, 1280), (360, 480))


def _pattern(kind: str, rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    image = np.full((h, w, 3), rng.integers(0, 256, 3), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "checker":
        cell = int(rng.integers(8, 80))
        on = ((xx // cell + yy // cell) % 2).astype(bool)
        image[on] = rng.integers(0, 256, 3)
    elif kind == "stripes":
        angle, period = rng.random() * np.pi, rng.uniform(6, 60)
        wave = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        image = _rgb(((wave + 1) * 127.5).astype(np.uint8))
    elif kind == "rings":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        image = _rgb(
            ((np.sin(np.hypot(xx - cx, yy - cy) / rng.uniform(3, 20)) + 1) * 127).astype(np.uint8)
        )
    elif kind == "gradient":
        image = np.stack(
            [xx / w * 255, yy / h * 255, np.full_like(xx, rng.uniform(0, 255))], axis=2
        ).astype(np.uint8)
    elif kind == "shapes":  # random ellipses, rectangles and lines: blobs in face-like layouts
        for _ in range(int(rng.integers(5, 40))):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            size = int(rng.integers(5, max(6, min(h, w) // 3)))
            choice = rng.integers(0, 3)
            if choice == 0:
                cv2.ellipse(image, (x, y), (size, int(size * rng.uniform(0.3, 1.5))),
                            float(rng.uniform(0, 180)), 0, 360, colour, -1)  # fmt: skip
            elif choice == 1:
                cv2.rectangle(image, (x, y), (x + size, y + size // 2), colour, -1)
            else:
                cv2.line(image, (x, y), (int(rng.integers(0, w)), int(rng.integers(0, h))), colour,
                         int(rng.integers(1, 8)))  # fmt: skip
    elif kind == "text":
        for _ in range(int(rng.integers(3, 15))):
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            word = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(3, 10))))
            cv2.putText(image, word, (int(rng.integers(0, w)), int(rng.integers(20, h))),
                        int(rng.integers(0, 8)), float(rng.uniform(0.5, 3)), colour, 2)  # fmt: skip
    else:
        raise ValueError(kind)
    return image


PATTERN_KINDS = ("checker", "stripes", "rings", "gradient", "shapes", "text")


def face_free_images(quick: bool) -> Iterator[tuple[str, str, np.ndarray]]:
    """(group, name, RGB image): noise, rendered patterns and skimage's non-face images."""
    per_kind = 4 if quick else 16
    for k, kind in enumerate(NOISE_KINDS):
        for i in range(per_kind):
            h, w = SIZES[i % len(SIZES)]
            yield "noise", f"{kind}-{i}", _noise(kind, np.random.default_rng(1000 * k + i), h, w)
    per_pattern = 4 if quick else 16
    for k, kind in enumerate(PATTERN_KINDS):
        for i in range(per_pattern):
            h, w = SIZES[i % len(SIZES)]
            rng = np.random.default_rng(50_000 + 1000 * k + i)
            yield "patterns", f"{kind}-{i}", _pattern(kind, rng, h, w)
    from skimage import data

    names = SKIMAGE_NON_FACE[::3] if quick else SKIMAGE_NON_FACE
    for name in names:
        base = _rgb(getattr(data, name)())
        variants = {
            "as-is": base,
            "flipped": base[:, ::-1],
            "x2": cv2.resize(base, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR),
            "half": cv2.resize(base, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
            "dark": (base * 0.35).astype(np.uint8),
            "tiled": np.tile(cv2.resize(base, None, fx=0.5, fy=0.5), (2, 3, 1)),
        }
        for variant, image in variants.items():
            if min(image.shape[:2]) >= 32:
                yield "skimage", f"{name}-{variant}", np.ascontiguousarray(image)


# --- running both detectors on the same candidates -------------------------------------------


class _Replay:
    """A `FaceDetector` that returns the candidates it was last given (one BlazeFace run)."""

    def __init__(self) -> None:
        self.faces: list[Any] = []

    def detect(self, image_rgb: np.ndarray) -> list[Any]:
        return list(self.faces)

    def close(self) -> None:
        pass


@dataclass
class Detectors:
    """Raw BlazeFace auto (today) and the verified detector over the same candidates."""

    raw: Any
    verified: Any
    replay: _Replay
    verify_s: list[float] = field(default_factory=list)
    faces_verified: int = 0

    @classmethod
    def create(cls) -> Detectors:
        from deepfake_analyzer.faces.detector import SECOND_LOOK_FLOOR, create_detector
        from deepfake_analyzer.faces.landmarks import FaceMesh
        from deepfake_analyzer.faces.verify import VerifiedFaceDetector

        raw = create_detector("auto", min_face_px=MIN_FACE_PX, verify=False)
        look = create_detector("short", SECOND_LOOK_FLOOR, 0.0, verify=False)
        replay = _Replay()
        return cls(raw, VerifiedFaceDetector(replay, FaceMesh(), second_look=look), replay)

    def run(self, image: np.ndarray) -> tuple[list[Any], list[Any], list[Any]]:
        """(today's faces, every candidate examined by the mesh, verified faces)."""
        today = self.raw.detect(image)
        self.replay.faces = today
        t0 = time.perf_counter()
        examined = self.verified.examine(image)
        kept = self.verified.select(image, examined)
        if today:
            self.verify_s.append((time.perf_counter() - t0) / len(today))
        return today, examined, kept

    def found(self, image: np.ndarray, examined: list[Any]) -> dict[str, bool]:
        """Whether a face is kept at each presence threshold of the sweep, with the second
        look ("0.5") and without it ("0.5 mesh only")."""
        found = {}
        for t in THRESHOLDS:
            found[str(t)] = bool(self.verified.select(image, examined, t))
            found[f"{t} mesh only"] = bool(self.verified.select(image, examined, t, 0.0))
        return found


# --- the measurements ---------------------------------------------------------------------


def measure_false_faces(dets: Detectors, quick: bool) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    presences: list[float] = []
    second_looks: list[float] = []
    worst: list[tuple[float, str]] = []
    for group, name, image in face_free_images(quick):
        today, examined, _ = dets.run(image)
        row = rows.setdefault(group, {"images": 0, "today": 0, "verified": {}})
        row["images"] += 1
        row["today"] += bool(today)
        for t, found in dets.found(image, examined).items():
            row["verified"][t] = row["verified"].get(t, 0) + found
        best = max((e.face.presence for e in examined), default=0.0)
        presences += [e.face.presence for e in examined]
        second_looks += [e.second_look for e in examined if e.face.presence >= MIN_PRESENCE]
        worst.append((best, f"{group}/{name}"))
    return {
        "groups": rows,
        "candidate_presence_max": max(presences, default=0.0),
        "candidates": len(presences),
        "highest": sorted(worst, reverse=True)[:5],
        "second_looks": sorted(second_looks, reverse=True),
    }


def _media(data: Path, quick: bool) -> dict[str, list[Path]]:
    def files(folder: str, suffixes: set[str] | None = None, step: int = 1) -> list[Path]:
        root = data / folder
        found = sorted(
            p for p in root.iterdir() if p.is_file() and (suffixes is None or p.suffix in suffixes)
        )
        return found[:: step * (4 if quick else 1)]

    return {
        "train_real/images": files("train_real/images", IMAGE_SUFFIXES),
        "train_real/images_studio": files("train_real/images_studio", IMAGE_SUFFIXES, step=2),
        "wild/images/real": files("wild/images/real", IMAGE_SUFFIXES),
        "train_real/videos": files("train_real/videos", {".mp4"}),
        "wild/videos/real": files("wild/videos/real", {".mp4"}),
    }


def _frames(path: Path, fps: float = 2.0, max_frames: int = 20) -> Iterator[Any]:
    from deepfake_analyzer.media.open import open_media
    from deepfake_analyzer.media.types import SamplingOptions

    source = open_media(path, SamplingOptions(fps=fps, max_frames=max_frames))
    try:
        yield from source.frames()
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def measure_real_faces(dets: Detectors, data: Path, quick: bool, log: Any) -> dict[str, Any]:
    """Frames with a face (today vs verified per threshold), small faces, tracks, re-id."""
    from deepfake_analyzer.faces.tracker import FaceTracker, TrackerConfig, box_iou

    sets: dict[str, Any] = {}
    presences: list[float] = []
    second_looks: list[float] = []
    rejected_examples: list[str] = []
    tracks: dict[str, dict[str, int]] = {}
    looks: dict[str, list[np.ndarray]] = {}
    for set_name, paths in _media(data, quick).items():
        row = {"frames": 0, "today": 0, "verified": {}}
        small = {"today": 0, "kept": 0}
        for path in paths:
            is_clip = path.suffix == ".mp4"
            old_tracker = FaceTracker(TrackerConfig(reid_max_gap_s=0.0))
            new_tracker = FaceTracker()
            old_ids: set[int] = set()
            new_ids: set[int] = set()
            try:
                frames = list(_frames(path))
            except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
                log(f"  skipped {path.name}: {exc}")
                continue
            for frame in frames:
                today, examined, kept = dets.run(frame.image)
                row["frames"] += 1
                row["today"] += bool(today)
                for t, found in dets.found(frame.image, examined).items():
                    row["verified"][t] = row["verified"].get(t, 0) + found
                presences += [e.face.presence for e in examined]
                second_looks += [e.second_look for e in examined if e.face.presence >= MIN_PRESENCE]
                if len(kept) < len(examined) and len(rejected_examples) < 12:
                    rejected_examples.append(f"{path.name}@{frame.timestamp_s:.1f}s")
                for face in today:
                    if face.width < SMALL_FACE_PX:
                        small["today"] += 1
                        if kept and (
                            box_iou(
                                np.array([face.box_xyxy]), np.array([k.box_xyxy for k in kept])
                            ).max()
                            > 0.3
                        ):
                            small["kept"] += 1
                if is_clip:
                    old_ids.update(old_tracker.update(frame.timestamp_s, today))
                    new_ids.update(new_tracker.update(frame.timestamp_s, kept))
                    if kept:
                        looks.setdefault(path.name, []).append(kept[0].appearance)
            if is_clip and set_name == "wild/videos/real":
                tracks[path.name] = {"today": len(old_ids), "verified": len(new_ids)}
        row["small"] = small
        sets[set_name] = row
        log(f"  {set_name}: {len(paths)} files, {row['frames']} frames")
    quantiles = np.quantile(presences, [0.005, 0.01, 0.02, 0.05, 0.5]).tolist() if presences else []
    return {
        "sets": sets,
        "real_presence_quantiles": quantiles,
        "rejected_examples": rejected_examples,
        "tracks": tracks,
        "appearance": _appearance_stats(looks),
        "second_look_quantiles": (
            np.quantile(second_looks, [0.0, 0.005, 0.01, 0.05, 0.5]).tolist()
            if second_looks
            else []
        ),
    }


def _appearance_stats(looks: dict[str, list[np.ndarray]]) -> dict[str, Any]:
    """RMS distance of a frame's descriptor to its own clip's mean vs other clips' means."""
    clips = {k: np.array(v, dtype=np.float64) for k, v in looks.items() if len(v) >= 3}
    means = {k: v.mean(axis=0) for k, v in clips.items()}
    within, between = [], []
    for name, values in clips.items():
        for i, value in enumerate(values):
            rest = np.delete(values, i, axis=0).mean(axis=0)
            within.append(float(np.sqrt(np.mean((value - rest) ** 2))))
            between += [
                float(np.sqrt(np.mean((value - m) ** 2))) for k, m in means.items() if k != name
            ]
    if not within:
        return {}
    return {
        "clips": len(clips),
        "within_q50_q95_q99": np.quantile(within, [0.5, 0.95, 0.99]).tolist(),
        "between_q01_q05_q50": np.quantile(between, [0.01, 0.05, 0.5]).tolist(),
    }


SMALL_FACE_TARGET_PX = 50.0
"""Face width the "small" conditions shrink each frame's face to, in a 1920x1080 frame."""


def measure_dim_small(data: Path, quick: bool) -> dict[str, Any]:
    """Frames of real clips made dim and/or small: share of frames where the person's face is
    found, per detector variant, to see which step loses such faces.

    The truth is the one face the verified detector finds in the untouched frame (frames
    with another count are skipped); "small" shrinks the frame so that face is
    `SMALL_FACE_TARGET_PX` wide and pastes it into a grey 1920x1080 frame; "dim" scales the
    light by 0.15 and adds sensor noise. Found: a face overlapping the truth box (IoU > 0.3).
    """
    from deepfake_analyzer.faces.detector import create_detector
    from deepfake_analyzer.faces.landmarks import stretch_contrast
    from deepfake_analyzer.faces.tracker import box_iou

    clips = sorted((data / "wild/videos/real").glob("*.mp4"))[:: 12 if quick else 4]
    variants = {
        "today (raw auto)": create_detector("auto", min_face_px=20, verify=False),
        "verified auto": create_detector("auto", min_face_px=20),
        "verified, no downscale": create_detector("auto", min_face_px=20, max_side=4096),
        "verified, full range only": create_detector("full", min_face_px=20),
    }
    stretched = "verified, frame contrast stretch"
    conditions = {
        "as is": (1.0, False),
        "dim (x0.15 + noise)": (0.15, False),
        f"small ({SMALL_FACE_TARGET_PX:.0f} px face in 1080p)": (1.0, True),
        "dim (x0.3) + small": (0.3, True),
        "dim (x0.15) + small": (0.15, True),
    }
    counts = {c: dict.fromkeys([*variants, stretched], 0) for c in conditions}
    frames_seen = 0
    rng = np.random.default_rng(0)
    for clip in clips:
        for frame in list(_frames(clip, fps=1.0, max_frames=5)):
            truth = variants["verified auto"].detect(frame.image)
            if len(truth) != 1:
                continue
            frames_seen += 1
            for condition, (gain, small) in conditions.items():
                image, box = _degrade(frame.image, truth[0].box_xyxy, gain, small, rng)
                found = {name: d.detect(image) for name, d in variants.items()}
                found[stretched] = variants["verified auto"].detect(stretch_contrast(image))
                for name, faces in found.items():
                    counts[condition][name] += bool(faces) and bool(
                        box_iou(np.array([box]), np.array([f.box_xyxy for f in faces])).max() > 0.3
                    )
    for detector in variants.values():
        detector.close()
    return {"frames": frames_seen, "counts": counts}


def _degrade(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    gain: float,
    small: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The degraded frame and where the face box is in it."""
    out = image
    if small:
        k = SMALL_FACE_TARGET_PX / (box[2] - box[0])
        h, w = image.shape[:2]
        size = (max(1, int(w * k)), max(1, int(h * k)))
        shrunk = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        canvas = np.full((1080, 1920, 3), 60, np.uint8)
        y, x = 300, 800
        part = shrunk[: 1080 - y, : 1920 - x]
        canvas[y : y + part.shape[0], x : x + part.shape[1]] = part
        out = canvas
        box = (x + box[0] * k, y + box[1] * k, x + box[2] * k, y + box[3] * k)
    if gain != 1.0:  # low light: fewer photons, the same sensor noise
        dim = out.astype(np.float32) * gain + rng.normal(0.0, 2.0, out.shape)
        out = np.clip(dim, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out), box


def measure_speed(rounds: int, log: Any) -> dict[str, Any]:
    """Warm seconds of the 10 s 1080p one-face clip: today's detector vs verified."""
    import synthetic_clips as sc

    from deepfake_analyzer.faces.detector import create_detector
    from deepfake_analyzer.options import AnalyzeOptions
    from deepfake_analyzer.pipeline import Analyzer

    cache = Path.home() / ".cache" / "deepfake-analyzer" / "bench"
    cache.mkdir(parents=True, exist_ok=True)
    clip = sc.make_clip(sc.ClipRecipe("1080p", 1), cache)
    options = AnalyzeOptions()
    runs: dict[str, list[float]] = {"today": [], "verified": []}
    cpu: dict[str, list[float]] = {"today": [], "verified": []}
    analyzers = {
        "today": Analyzer(options, detector=create_detector("auto", verify=False)),
        "verified": Analyzer(options, detector=create_detector("auto")),
    }
    faces = {}
    for analyzer in analyzers.values():
        analyzer.analyze(clip)  # warm up
    for _ in range(rounds):
        for name, analyzer in analyzers.items():
            t0, c0 = time.perf_counter(), time.process_time()
            report = analyzer.analyze(clip)
            runs[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            faces[name] = (sum(len(f.faces) for f in report.frames), len(report.tracks))
    for analyzer in analyzers.values():
        analyzer.detector.close()
        analyzer.close()
    log(f"  speed rounds: wall {runs}, cpu {cpu}")
    return {
        "clip": clip.name,
        "warm_s": {k: statistics.median(v) for k, v in runs.items()},
        "cpu_s": {k: statistics.median(v) for k, v in cpu.items()},
        "faces_tracks": faces,
    }


# --- the table ------------------------------------------------------------------------------


def _pct(part: float, whole: float) -> str:
    return f"{100.0 * part / whole:.1f} %" if whole else "-"


def render(results: dict[str, Any], threshold: float) -> None:
    if "false_faces" in results:
        _render_faces(results, str(threshold))
    _render_dim_speed(results)


def _render_faces(results: dict[str, Any], t: str) -> None:
    ff = results["false_faces"]
    print(f"\n## False faces (images with a face in the report; target 0), presence >= {t}\n")
    print("| face-free set | images | today | verified |")
    print("|---|---|---|---|")
    total = [0, 0, 0]
    for group, row in ff["groups"].items():
        print(f"| {group} | {row['images']} | {row['today']} | {row['verified'][t]} |")
        total = [total[0] + row["images"], total[1] + row["today"], total[2] + row["verified"][t]]
    print(f"| **all** | {total[0]} | {total[1]} | **{total[2]}** |")
    print(
        f"\nBlazeFace candidates on face-free images: {ff['candidates']}, highest mesh presence "
        f"{ff['candidate_presence_max']:.4f} (top: "
        + ", ".join(f"{n} {p:.3f}" for p, n in ff["highest"][:3])
        + ")"
    )

    real = results["real"]
    print("\n## Faces kept (share of images/frames with a face; target >= 98 % of today)\n")
    print("| set | frames | today | verified | verified / today | small faces (< 64 px) kept |")
    print("|---|---|---|---|---|---|")
    for name, row in real["sets"].items():
        kept = row["verified"][t]
        small = row["small"]
        print(
            f"| {name} | {row['frames']} | {_pct(row['today'], row['frames'])} | "
            f"{_pct(kept, row['frames'])} | {_pct(kept, row['today'])} | "
            f"{small['kept']} / {small['today']} |"
        )
    print("\n## Threshold sweep: false-face images / real frames with a face, all sets\n")
    print(
        "| min presence | false, mesh only | false, + second look "
        "| real, mesh only | real, + second look |"
    )
    print("|---|---|---|---|---|")
    frames = sum(r["frames"] for r in real["sets"].values())
    for th in map(str, THRESHOLDS):
        cells = []
        for groups, whole in ((ff["groups"], None), (real["sets"], frames)):
            for key in (f"{th} mesh only", th):
                count = sum(r["verified"].get(key, 0) for r in groups.values())
                cells.append(str(count) if whole is None else _pct(count, whole))
        print(f"| {th} | " + " | ".join(cells) + " |")
    sl = real["second_look_quantiles"]
    if sl:
        print(
            f"\nSecond look (threshold {MIN_SECOND_LOOK}) on real faces with presence >= "
            f"{MIN_PRESENCE}: min {sl[0]:.3f}, q0.5% {sl[1]:.3f}, q1% {sl[2]:.3f}, "
            f"q5% {sl[3]:.3f}, median {sl[4]:.3f}; on face-free candidates with presence "
            f">= {MIN_PRESENCE}: " + (", ".join(f"{v:.3f}" for v in ff["second_looks"]) or "none")
        )
    q = real["real_presence_quantiles"]
    if q:
        print(
            "\nPresence of verified candidates on real media: "
            f"q0.5% {q[0]:.3f}, q1% {q[1]:.3f}, q2% {q[2]:.3f}, q5% {q[3]:.3f}, median {q[4]:.3f}"
        )
    if real["rejected_examples"]:
        print(
            "Frames with a rejected candidate (check by eye): "
            + ", ".join(real["rejected_examples"])
        )

    tracks = real["tracks"]
    print("\n## Tracks on wild/videos/real (clips with exactly one track; target >= 97 %)\n")
    print("| | clips | one track | share |")
    print("|---|---|---|---|")
    for key in ("today", "verified"):
        one = sum(v[key] == 1 for v in tracks.values())
        print(f"| {key} | {len(tracks)} | {one} | {_pct(one, len(tracks))} |")
    other = {k: v for k, v in tracks.items() if v["verified"] != 1}
    print("Clips without exactly one verified track: " + (json.dumps(other) if other else "none"))
    app = real["appearance"]
    if app:
        w, b = app["within_q50_q95_q99"], app["between_q01_q05_q50"]
        print(
            f"\nRe-id appearance distance ({app['clips']} clips): same clip q50 {w[0]:.3f} "
            f"q95 {w[1]:.3f} q99 {w[2]:.3f}; other clips q1 {b[0]:.3f} q5 {b[1]:.3f} "
            f"q50 {b[2]:.3f}"
        )

    cost = results["cost"]
    print(
        f"\n## Cost\n\nVerification per candidate (mesh, refinement, appearance): median "
        f"{cost['verify_ms_median']:.2f} ms, mean {cost['verify_ms_mean']:.2f} ms over "
        f"{cost['candidates']} candidates."
    )


def _render_dim_speed(results: dict[str, Any]) -> None:
    dim = results.get("dim_small")
    if dim:
        print(f"\n## Dim and small faces ({dim['frames']} one-face frames of wild/videos/real)\n")
        names = list(next(iter(dim["counts"].values())))
        print("| condition | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for condition, row in dim["counts"].items():
            cells = " | ".join(_pct(row[n], dim["frames"]) for n in names)
            print(f"| {condition} | {cells} |")

    speed = results.get("speed")
    if speed:
        w = speed["warm_s"]
        print(
            f"\n## Speed\n\nPipeline warm time (median of rounds), {speed['clip']}: today "
            f"{w['today']:.3f} s, verified "
            f"{w['verified']:.3f} s ({100 * (w['verified'] / w['today'] - 1):+.1f} %; target "
            f"<= +10 %); faces, tracks: {speed['faces_tracks']}"
        )
        c = speed["cpu_s"]
        print(
            f"CPU seconds of the analyzing process (decoder's ffmpeg not included; steadier than "
            f"wall time on a shared machine): today {c['today']:.3f} s, verified "
            f"{c['verified']:.3f} s ({100 * (c['verified'] / c['today'] - 1):+.1f} %)"
        )


SECTIONS = ("faces", "dim", "speed")
"""faces: false faces, faces kept, tracks, threshold sweep, re-id distances, cost per face;
dim: the dim/small-face table; speed: the pipeline's warm time on the 1080p clip."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="../shared/data")
    parser.add_argument("--quick", action="store_true", help="a sample of each set")
    parser.add_argument(
        "--only", default=",".join(SECTIONS), help=f"comma-separated sections of {SECTIONS}"
    )
    parser.add_argument("--rounds", type=int, default=5, help="pipeline timing rounds")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    sections = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {SECTIONS}")

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    results: dict[str, Any] = {}
    if "faces" in sections:
        dets = Detectors.create()
        log("false faces ...")
        results["false_faces"] = measure_false_faces(dets, args.quick)
        log("real faces, tracks ...")
        results["real"] = measure_real_faces(dets, args.data, args.quick, log)
        per = np.array(dets.verify_s) * 1000
        results["cost"] = {
            "verify_ms_median": float(np.median(per)) if len(per) else 0.0,
            "verify_ms_mean": float(per.mean()) if len(per) else 0.0,
            "candidates": int(len(per)),
        }
    if "dim" in sections:
        log("dim and small faces ...")
        results["dim_small"] = measure_dim_small(args.data, args.quick)
    if "speed" in sections:
        log("pipeline speed ...")
        results["speed"] = measure_speed(args.rounds, log)
    render(results, MIN_PRESENCE)
    print(f"\n(benchmark ran {time.perf_counter() - started:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
