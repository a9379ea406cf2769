"""Evaluation crops: discover labeled media, cut one face per sampled frame with the training
extractor, and score each crop (clean and perturbed) with the classifier.

Self-blended twins of the real crops (`self_blended_records`) are fakes made on load, seeded
by the crop's name, so they do not depend on the order crops are read in.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import NullHook, ProgressHook, StageProgress
from deepfake_analyzer.models import views
from deepfake_analyzer.models.base import Classifier
from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.training.perturb import Perturbation
from deepfake_analyzer.training.sources import (
    ItemKind,
    LabeledItem,
    discover_labeled,
    discover_real,
)

if TYPE_CHECKING:
    from deepfake_analyzer.faces.base import FaceDetector
    from deepfake_analyzer.training.evaluate import EvaluateConfig
    from deepfake_analyzer.training.extract import CropCache, CropLandmarker, CropRecord

STAGE_EXTRACT = "extract"
STAGE_SCORE = "score"
CLEAN = "clean"
SELF_BLENDED = "self-blended"
SELF_BLENDED_SUFFIX = "#" + SELF_BLENDED

CropLoader = Callable[["CropCache", "CropRecord", int], np.ndarray]
"""`load(cache, record, size)`: a record's crop as (size, size, 3) uint8 RGB."""


@dataclass(frozen=True)
class SourceLabels:
    """A labeled source file as evaluation reads it: path, label (1 = fake), identity group,
    dataset, manipulation method and medium ('video' or 'image')."""

    source: str
    label: int
    group: str
    dataset: str
    method: str
    kind: ItemKind


@dataclass(frozen=True)
class CropInfo(SourceLabels):
    """Where one scored crop came from (a manifest record, reduced to what metrics need);
    `face_width` is its face box's width in the source's pixels (NaN where unknown)."""

    frame_index: int
    timestamp_s: float
    face_width: float = math.nan


@dataclass(frozen=True)
class ScoredCrops:
    """Crops with their raw (uncalibrated) probabilities, clean and per perturbation key."""

    crops: tuple[CropInfo, ...]
    raw: np.ndarray
    perturbed_raw: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.crops)
        if self.raw.shape != (n,):
            raise ValueError(f"raw scores have shape {self.raw.shape}, expected ({n},)")
        for key, values in self.perturbed_raw.items():
            if values.shape != (n,):
                raise ValueError(f"perturbation {key!r} scores have shape {values.shape}")

    def subset(self, keep: np.ndarray) -> ScoredCrops:
        idx = np.nonzero(keep)[0]
        return ScoredCrops(
            crops=tuple(self.crops[i] for i in idx),
            raw=self.raw[idx],
            perturbed_raw={k: v[idx] for k, v in self.perturbed_raw.items()},
        )

    @property
    def labels(self) -> np.ndarray:
        return np.array([c.label for c in self.crops], dtype=np.int64)


def discover_items(
    data: Sequence[Path | str],
    include: Iterable[Path | str] | None = None,
    real: Sequence[Path | str] = (),
) -> list[LabeledItem]:
    """Labeled items of every DATA folder, plus every file of the `real` folders as a real
    item (as `train --real` reads them), each file once, in a stable order; with `include`,
    only the files it lists (e.g. the held-out files a training run recorded)."""
    if not data and not real:
        raise UsageError("give at least one labeled DATA folder or `real` folder", option="real")
    seen: set[str] = set()
    items: list[LabeledItem] = []
    found = [discover_labeled(Path(root)) for root in data]
    found += [discover_real(Path(root)) for root in real]
    for item in (i for group in found for i in group):
        key = str(Path(item.path).resolve())
        if key not in seen:
            seen.add(key)
            items.append(item)
    if not items:
        raise UsageError("the DATA and `real` folders hold no media", option="real")
    if include is not None:
        wanted = {str(Path(p).resolve()) for p in include}
        items = [i for i in items if str(Path(i.path).resolve()) in wanted]
        if not items:
            raise UsageError(
                f"none of the {len(wanted)} listed files is among the DATA folders' labeled "
                "media (relative paths are read from the current folder)"
            )
    return items


def read_file_list(path: Path | str) -> list[str]:
    """Paths from a list file: JSON (a list, or an object with one list such as a training
    run's `heldout.json` {"heldout_files": [...]}) or text with one path per line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"cannot read the file list: {exc.strerror}", path) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"file list is not valid JSON: {exc.msg}", path) from None
        if isinstance(data, dict):
            lists = [v for v in data.values() if isinstance(v, list)]
            data = lists[0] if len(lists) == 1 else None
        if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
            raise UsageError("a JSON file list must be a list of paths (or hold exactly one)", path)
        return list(data)
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def select_faces(records: Iterable[CropRecord]) -> list[CropRecord]:
    """One record per (source, frame): the largest face, as in a single-subject clip the
    subject; sorted by source then frame index."""
    best: dict[tuple[str, int], CropRecord] = {}
    for r in records:
        key = (r.source, r.frame_index)
        if key not in best or _area(r) > _area(best[key]):
            best[key] = r
    return [best[k] for k in sorted(best)]


def _area(record: CropRecord) -> float:
    x0, y0, x1, y1 = record.box_xyxy
    return (x1 - x0) * (y1 - y0)


def is_self_blended(crop: SourceLabels) -> bool:
    return crop.dataset == SELF_BLENDED and crop.source.endswith(SELF_BLENDED_SUFFIX)


def self_blended_records(records: Sequence[CropRecord]) -> list[CropRecord]:
    """A fake twin of each real record that has landmarks: same crop and identity group,
    `source` suffixed `#self-blended`, dataset and method `self-blended`."""
    return [
        replace(
            r,
            source=r.source + SELF_BLENDED_SUFFIX,
            label=1,
            dataset=SELF_BLENDED,
            method=SELF_BLENDED,
        )
        for r in records
        if r.label == 0 and r.landmarks is not None
    ]


def crop_loader(seed: int = 0) -> CropLoader:
    """`load(cache, record, size)`: the cached crop at `size`, self-blended first (at the
    cached size, where its landmarks are) for a `self_blended_records` record. The blend's
    random draws depend only on `seed` and the crop's name, not on the order of loading."""
    from deepfake_analyzer.faces.crop import resize_square
    from deepfake_analyzer.training.extract import load_crop

    def load(cache: CropCache, record: CropRecord, size: int) -> np.ndarray:
        if not record.source.endswith(SELF_BLENDED_SUFFIX):
            return load_crop(cache, record, size)
        from deepfake_analyzer.training.sbi import self_blend

        crop = load_crop(cache, record)
        landmarks = cache.landmarks_of(record)
        if landmarks is None:  # `self_blended_records` twins only crops with landmarks
            raise ValueError(f"crop {record.crop} has no landmarks to self-blend")
        rng = np.random.default_rng([seed, zlib.crc32(record.crop.encode())])
        return resize_square(self_blend(crop, landmarks, rng).image, size)

    return load


def extract_for_evaluation(
    items: Sequence[LabeledItem],
    spec: ModelSpec,
    config: EvaluateConfig,
    cache_dir: Path,
    hook: ProgressHook | None = None,
    detector: FaceDetector | None = None,
    face_mesh: CropLandmarker | None = None,
) -> tuple[CropCache, list[CropRecord]]:
    """(cache, records) for `items`: crops cut at the spec's margin and at its input size (or
    `config.crop_size`), one face per sampled frame, only records of these items, with each
    item's label, group, dataset and method (a shared cache may hold another run's)."""
    from deepfake_analyzer.training.extract import (
        ExtractConfig,
        extract_crops,
        item_labels,
        source_key,
    )

    hook = hook or NullHook()

    extract_config = ExtractConfig(
        crop_size=config.crop_size or spec.input_size,
        margin=spec.crop_margin,
        frames_per_video=config.frames_per_video,
        detector=config.detector,
        min_confidence=config.min_confidence,
        min_face_px=config.min_face_px,
    )
    cache = extract_crops(items, cache_dir, extract_config, hook, detector, face_mesh)
    by_source = {source_key(i.path): i for i in items}
    # Labels and groups come from this discovery, not from whoever filled the cache first; so
    # does the path (the cache may have been filled from another folder, or as a relative path).
    records = (
        replace(r, **item_labels(item))
        for r in cache.records
        if (item := by_source.get(source_key(r.source))) is not None
    )
    return cache, select_faces(records)


def score_records(
    classifier: Classifier,
    cache: CropCache,
    records: Sequence[CropRecord],
    perturbations: Sequence[Perturbation] = (),
    seed: int = 0,
    hook: ProgressHook | None = None,
    chunk: int = 32,
    load: CropLoader | None = None,
) -> ScoredCrops:
    """Raw probabilities of every record's crop, clean and under each perturbation.

    Crops are read one source at a time (so an H.264 perturbation encodes one source's crops
    as one clip) and predicted `chunk` at a time, so memory stays flat on large sets. Each is
    seen through the views the classifier's spec asks for (models/views.py), as the analyzer
    sees it: an image's through all, a video's crops going round them in their order.
    """
    hook = hook or NullHook()
    if load is None:
        from deepfake_analyzer.training.extract import load_crop

        load = load_crop
    size = classifier.spec.input_size
    count = classifier.spec.views
    keys = [CLEAN, *(p.key for p in perturbations)]
    outputs: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    pending: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    pending_plan: list[tuple[int, ...]] = []
    pending_count = 0

    def flush() -> None:
        nonlocal pending_count
        if not pending_count:
            return
        for key in keys:
            batch = np.concatenate(pending[key])
            outputs[key].append(views.predict_through_views(classifier, batch, pending_plan))
            pending[key] = []
        pending_plan.clear()
        pending_count = 0

    by_source: dict[str, list[CropRecord]] = {}
    for r in records:
        by_source.setdefault(r.source, []).append(r)
    done = 0
    for source_index, recs in enumerate(by_source.values()):
        crops = np.stack([load(cache, r, size) for r in recs])
        pending_plan.extend(views.face_views(r.kind, count, n) for n, r in enumerate(recs))
        pending[CLEAN].append(crops)
        for p in perturbations:
            pending[p.key].append(p(crops, seed=seed * 100_003 + source_index))
        pending_count += len(recs)
        done += len(recs)
        if pending_count >= chunk:
            flush()
            hook(StageProgress(STAGE_SCORE, STAGE_SCORE, done, len(records)))
    flush()
    hook(StageProgress(STAGE_SCORE, STAGE_SCORE, done, len(records)))
    ordered = [r for recs in by_source.values() for r in recs]
    empty = np.zeros((0,), dtype=np.float64)
    scores = {k: np.concatenate(v) if v else empty for k, v in outputs.items()}
    return ScoredCrops(
        crops=tuple(_crop_info(r) for r in ordered),
        raw=scores[CLEAN],
        perturbed_raw={k: scores[k] for k in keys[1:]},
    )


def _crop_info(record: CropRecord) -> CropInfo:
    return CropInfo(
        source=str(record.source),
        label=int(record.label),
        group=str(record.group),
        dataset=str(record.dataset),
        method=str(record.method),
        kind="video" if record.kind == "video" else "image",
        frame_index=int(record.frame_index),
        timestamp_s=float(record.timestamp_s),
        face_width=float(record.box_xyxy[2] - record.box_xyxy[0]),
    )
