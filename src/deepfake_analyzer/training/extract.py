"""Face-crop cache for training: decode, detect and crop with the analyzer's own code.

`extract_crops` walks labeled items, samples a few evenly spread frames per video, detects
faces with the analyzer's detector, cuts crops with `faces.crop.crop_face` (the same margin
the model spec uses) at `crop_size` >= the model input, and appends one JSON line per crop to
`manifest.jsonl` in the cache folder. For real faces it also stores the 468 face-mesh
landmarks in crop pixels (`<crop>.npz`), so self-blending needs no face mesh at train time.
Items already in the manifest are skipped: an interrupted extraction resumes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.events import Message, NullHook, ProgressHook, StageProgress
from deepfake_analyzer.models.spec import DEFAULT_CROP_MARGIN
from deepfake_analyzer.options import DEFAULT_MAX_IMAGE_PIXELS, AnalyzeOptions
from deepfake_analyzer.training.config import CACHED_CROP_SIZE, FRAMES_PER_VIDEO
from deepfake_analyzer.training.sources import REAL, LabeledItem

if TYPE_CHECKING:
    from deepfake_analyzer.faces.base import FaceDetector

MANIFEST_NAME = "manifest.jsonl"
_NULL_HOOK = NullHook()
STAGE = "extract"


def default_cache_dir() -> Path:
    """`~/.cache/deepfake-analyzer` (crops, checkpoints, logs)."""
    from deepfake_analyzer.paths import user_cache_dir

    return user_cache_dir()


class CropLandmarker(Protocol):
    """What extraction needs of a face mesh (`faces.landmarks.FaceMesh`): landmarks of the
    face in `box_xyxy`, (N, 2+) image pixels, or None when it finds none."""

    def landmarks(self, image_rgb: np.ndarray, box_xyxy: Sequence[float]) -> np.ndarray | None: ...


@dataclass(frozen=True)
class ExtractConfig:
    """How crops are cut. `margin` must equal the model spec's `crop_margin`."""

    crop_size: int = CACHED_CROP_SIZE
    margin: float = DEFAULT_CROP_MARGIN
    context: float = 1.0  # crops are cut `context` times wider than margin (framing jitter)
    frames_per_video: int = FRAMES_PER_VIDEO
    detector: str = AnalyzeOptions.detector
    min_confidence: float = AnalyzeOptions.min_confidence
    min_face_px: int = AnalyzeOptions.min_face
    max_faces_real: int = 3
    max_faces_fake: int = 1
    landmarks_for_fakes: bool = False
    max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS

    def __post_init__(self) -> None:
        if not 32 <= self.crop_size <= 1024:
            raise ValueError(f"crop size {self.crop_size} outside 32..1024")
        if not 1.0 <= self.margin <= 3.0:
            raise ValueError(f"crop margin {self.margin} outside 1.0..3.0")
        if not 1.0 <= self.context <= 3.0:
            raise ValueError(f"crop context {self.context} outside 1.0..3.0")
        if self.frames_per_video < 1:
            raise ValueError("frames_per_video must be at least 1")

    def key(self) -> str:
        """A short hash of the settings that change crop pixels: the cache sub-folder name."""
        fields: tuple[object, ...] = (self.crop_size, self.margin, self.frames_per_video)
        fields += (self.detector, self.min_confidence, self.min_face_px)
        if self.context != 1.0:
            fields += (self.context,)
        return (
            f"s{self.crop_size}_m{self.margin:g}_"
            + (f"c{self.context:g}_" if self.context != 1.0 else "")
            + hashlib.sha1(repr(fields).encode()).hexdigest()[:8]
        )


_DEFAULT_EXTRACT = ExtractConfig()


def _box(box_xyxy: Sequence[float]) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in box_xyxy)
    return (x0, y0, x1, y1)


@dataclass(frozen=True)
class CropRecord:
    """One cached face crop and where it came from (a manifest line)."""

    crop: str  # path relative to the manifest's folder
    source: str  # in a manifest the item's `source_key`; in `item_labels`' records as given
    label: int
    group: str
    dataset: str
    method: str
    kind: str
    frame_index: int
    timestamp_s: float
    box_xyxy: tuple[float, float, float, float]
    confidence: float
    landmarks: str | None = None  # .npz relative path, (468, 2) float32 crop pixels

    def to_json(self) -> str:
        return json.dumps({"type": "crop", **asdict(self)})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CropRecord:
        values = {k: v for k, v in data.items() if k != "type"}
        values["box_xyxy"] = tuple(values["box_xyxy"])
        return cls(**values)


def item_labels(item: LabeledItem) -> dict[str, Any]:
    """What a `CropRecord` copies from its labeled item: its path (as `source`), label, group,
    dataset, method and kind."""
    return {
        "source": str(item.path),
        "label": item.label,
        "group": item.group,
        "dataset": item.dataset,
        "method": item.method,
        "kind": item.kind,
    }


@dataclass(frozen=True)
class CropCache:
    """A folder of crops plus its manifest."""

    root: Path
    records: tuple[CropRecord, ...] = field(default_factory=tuple)
    done_sources: frozenset[str] = frozenset()

    @property
    def manifest(self) -> Path:
        return self.root / MANIFEST_NAME

    def path_of(self, record: CropRecord) -> Path:
        return self.root / record.crop

    def landmarks_of(self, record: CropRecord) -> np.ndarray | None:
        if record.landmarks is None:
            return None
        with np.load(self.root / record.landmarks, allow_pickle=False) as data:
            return np.asarray(data["landmarks"], dtype=np.float32)


def read_manifest(root: Path) -> CropCache:
    """The crops recorded in `root/manifest.jsonl` whose source finished extracting.

    Crops of a source interrupted mid-way are ignored (it is extracted again).
    """
    manifest = root / MANIFEST_NAME
    crops: dict[str, CropRecord] = {}
    done: set[str] = set()
    if manifest.is_file():
        for line in manifest.read_text().splitlines():
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            if data.get("type") == "done":
                done.add(source_key(data["source"]))
            elif data.get("type") == "crop":
                record = CropRecord.from_dict(data)
                crops[record.crop] = record
    records = tuple(r for r in _absolute(crops.values(), done) if source_key(r.source) in done)
    return CropCache(root, records, frozenset(done))


def _absolute(records: Iterable[CropRecord], done: set[str]) -> Iterator[CropRecord]:
    """`records` with each source absolute. Manifests written before 2026-12-06 kept a source
    as given, relative to wherever the extraction ran, so it resolved elsewhere from another
    folder and its crops were silently left out; their crop names hold the digest of the
    absolute path (`crop_name`), which finds it among the finished sources."""
    by_digest = {source_digest(key): key for key in done}
    for record in records:
        if not Path(record.source).is_absolute():
            digest = Path(record.crop).name.split("_f")[0]
            if digest in by_digest:
                record = replace(record, source=by_digest[digest])
        yield record


def source_key(path: Path | str) -> str:
    """The absolute path string that identifies a source in the manifest."""
    return str(Path(path).resolve())


def source_digest(key: str) -> str:
    """The 16 hex digits that name a source's crops (`crop_name`), from its `source_key`."""
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def crop_name(source: Path, frame_index: int, face: int) -> str:
    digest = source_digest(source_key(source))
    return f"{digest[:2]}/{digest}_f{frame_index:05d}_{face}"


def landmarks_in_crop(
    points_px: np.ndarray, box_xyxy: tuple[float, float, float, float], margin: float, size: int
) -> np.ndarray:
    """Map image-pixel landmarks to the pixels of `crop_face(image, box, margin, size)`."""
    from deepfake_analyzer.faces.crop import square_region

    region = square_region(box_xyxy, margin)
    scale = size / float(region.side)
    return (
        (np.asarray(points_px, dtype=np.float64)[:, :2] - (region.x0, region.y0)) * scale
    ).astype(np.float32)


def _sampling_for(path: Path, frames: int) -> Any:
    """Sampling options that spread `frames` frames evenly over a video."""
    from deepfake_analyzer.media.types import SamplingOptions

    duration = 0.0
    try:
        from deepfake_analyzer.media.probe import probe_media

        duration = float(probe_media(path).duration_s or 0.0)
    except (AnalyzerError, ImportError, OSError):
        duration = 0.0
    fps = frames / duration if duration > 0 else 2.0
    return SamplingOptions(fps=max(0.01, min(fps, 240.0)), max_frames=frames)


def _iter_frames(path: Path, kind: str, config: ExtractConfig) -> Iterator[Any]:
    from deepfake_analyzer.media.open import open_media
    from deepfake_analyzer.media.types import SamplingOptions

    sampling = (
        _sampling_for(path, config.frames_per_video)
        if kind == "video"
        else SamplingOptions(fps=None, max_frames=1)
    )
    source = open_media(path, sampling, config.max_image_pixels)
    try:
        yield from source.frames()
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _write_crop(path: Path, crop_rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.ascontiguousarray(crop_rgb[..., ::-1])):
        raise OSError(f"cannot write {path}")


def extract_crops(
    items: Iterable[LabeledItem],
    cache_dir: Path,
    config: ExtractConfig = _DEFAULT_EXTRACT,
    hook: ProgressHook = _NULL_HOOK,
    detector: FaceDetector | None = None,
    face_mesh: CropLandmarker | None = None,
) -> CropCache:
    """Extract face crops of `items` into `cache_dir/<config.key()>/` and return the cache.

    `detector` (a `FaceDetector`) and `face_mesh` (with `landmarks(image, box)`) are created
    from the analyzer's faces package when not given (tests pass fakes). A file that cannot
    be decoded is reported through `hook` as a warning and recorded as done with no crops.
    """
    root = Path(cache_dir) / config.key()
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    cache = read_manifest(root)
    items = list(items)
    todo = [i for i in items if source_key(i.path) not in cache.done_sources]
    hook(Message(str(root), f"{len(items) - len(todo)} of {len(items)} files already extracted"))
    if not todo:
        return cache
    own_detector = detector is None
    if detector is None:
        from deepfake_analyzer.faces.detector import create_detector

        # the largest faces, cut as the cached crops and landmarks were: no crowd probes
        detector = create_detector(
            config.detector, config.min_confidence, config.min_face_px, crowd_probe_every=None
        )
    if face_mesh is None and any(i.label == REAL or config.landmarks_for_fakes for i in todo):
        from deepfake_analyzer.faces.landmarks import FaceMesh

        face_mesh = FaceMesh()
    started = time.monotonic()
    try:
        with open(root / MANIFEST_NAME, "a") as manifest:
            for done, item in enumerate(todo, start=1):
                count = _extract_item(item, root, config, detector, face_mesh, manifest, hook)
                manifest.write(
                    json.dumps({"type": "done", "source": source_key(item.path), "crops": count})
                )
                manifest.write("\n")
                manifest.flush()
                hook(StageProgress(str(item.path), STAGE, done, len(todo)))
    finally:
        if own_detector:
            detector.close()
        close = getattr(face_mesh, "close", None)
        if close is not None:
            close()
    hook(Message(str(root), f"extracted {len(todo)} files in {time.monotonic() - started:.0f} s"))
    return read_manifest(root)


def _extract_item(
    item: LabeledItem,
    root: Path,
    config: ExtractConfig,
    detector: FaceDetector,
    face_mesh: CropLandmarker | None,
    manifest: Any,
    hook: ProgressHook,
) -> int:
    from deepfake_analyzer.faces.crop import crop_face

    max_faces = config.max_faces_fake if item.label else config.max_faces_real
    cut_margin = config.margin * config.context
    want_landmarks = face_mesh is not None and (item.label == REAL or config.landmarks_for_fakes)
    count = 0
    try:
        for frame in _iter_frames(item.path, item.kind, config):
            detections = sorted(detector.detect(frame.image), key=lambda d: -d.width * d.height)
            for face, det in enumerate(detections[:max_faces]):
                name = crop_name(item.path, frame.index, face)
                crop = crop_face(frame.image, det.box_xyxy, cut_margin, config.crop_size)
                _write_crop(root / (name + ".png"), crop)
                landmarks = None
                if want_landmarks and face_mesh is not None:
                    points = face_mesh.landmarks(frame.image, det.box_xyxy)
                    if points is not None and len(points) >= 3:
                        local = landmarks_in_crop(
                            points, det.box_xyxy, cut_margin, config.crop_size
                        )
                        np.savez_compressed(root / (name + ".npz"), landmarks=local)
                        landmarks = name + ".npz"
                record = CropRecord(
                    crop=name + ".png",
                    **{**item_labels(item), "source": source_key(item.path)},
                    frame_index=frame.index,
                    timestamp_s=float(frame.timestamp_s),
                    box_xyxy=_box(det.box_xyxy),
                    confidence=float(det.confidence),
                    landmarks=landmarks,
                )
                manifest.write(record.to_json() + "\n")
                count += 1
    except AnalyzerError as exc:
        hook(Message(str(item.path), f"skipped: {exc.message}", level="warning"))
    if count == 0:
        hook(Message(str(item.path), "no face found", level="warning"))
    return count


def load_crop(cache: CropCache, record: CropRecord, size: int | None = None) -> np.ndarray:
    """A cached crop as RGB uint8, resized to `size` like the analyzer resizes its crops."""
    image = cv2.imread(str(cache.path_of(record)), cv2.IMREAD_COLOR)
    if image is None:
        raise OSError(f"cannot read cached crop {cache.path_of(record)}")
    rgb = image[..., ::-1]
    if size is not None and rgb.shape[0] != size:
        from deepfake_analyzer.faces.crop import resize_square

        rgb = resize_square(np.ascontiguousarray(rgb), size)
    return np.ascontiguousarray(rgb)
