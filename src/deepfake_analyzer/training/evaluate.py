"""Evaluate a classifier on labeled media: frame- and video-level metrics, per dataset and per
manipulation method, under perturbations, with optional calibration.

Faces are cut by the training extractor (`training.extract`), which uses the analyzer's
decoder, detector and crop with the model spec's margin and input size; one face (the largest)
is kept per sampled frame. A crop's score is the classifier's probability mapped through the
spec's calibration. A video's score aggregates its crops as the analyzer aggregates a track
(`scoring.aggregate.track_score`: the mean of the top quarter); an image's score is its crop's.

Breakdowns: each dataset and each manipulation method is scored on its own fakes and its own
reals; when a subset has fewer than `MIN_OWN_REALS` real files (e.g. a folder of GAN faces, or
DFDC clips with a single real), it borrows every real of the evaluation, and when it has no
fakes it borrows every fake; `pooled` records which class was borrowed.

`self_blend` adds self-blended fakes (`training.sbi`) of the real crops, the pseudo-fakes the
detector trains on, as their own dataset: their AUC against held-out reals measures what
the recipe learned, apart from the real manipulations.

With calibration, sources are split by identity group (`split_by_group`): the calibration is
fit on one part and every reported figure comes from the other part.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import Message, NullHook, ProgressHook, StageProgress
from deepfake_analyzer.models.base import Classifier
from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.scoring.aggregate import DEFAULT_RULE, track_score
from deepfake_analyzer.training.calibrate import (
    DEFAULT_FAKE_FPR,
    DEFAULT_SUSPICIOUS_FPR,
    FIT_METHODS,
    CalibrationResult,
    calibrate_spec,
)
from deepfake_analyzer.training.metrics import (
    BinaryMetrics,
    RocCurve,
    ScoreHistogram,
    compute_metrics,
    roc_auc,
    roc_curve,
    score_histogram,
)
from deepfake_analyzer.training.perturb import Perturbation
from deepfake_analyzer.training.protocol import ProtocolTable, protocol_table, split_protocol
from deepfake_analyzer.training.sources import (
    LabeledItem,
    discover_labeled,
    discover_real,
    split_by_group,
)

STAGE_EXTRACT = "extract"
STAGE_SCORE = "score"
CLEAN = "clean"


@dataclass(frozen=True)
class EvaluateConfig:
    """How to evaluate. `calibrate` is None or a fit method ('temperature', 'platt').

    `crop_size` None cuts crops at the model's input size, exactly as `analyze` does; a size
    (e.g. the training cache's 256) reuses crops cached at that size, resized to the input.
    `self_blend` adds one self-blended fake of every real crop that has face-mesh landmarks
    (dataset and method `self-blended`, same identity group as its real; seeded per crop).
    They get their own breakdown row and stay out of the overall figures.
    `protocol` keeps only the leave-generator-out held-out files (`training.protocol`) and adds
    the protocol table (per medium, family and generator) to the result.
    """

    frames_per_video: int = 12
    crop_size: int | None = None
    detector: str = AnalyzeOptions.detector
    min_confidence: float = AnalyzeOptions.min_confidence
    min_face_px: int = AnalyzeOptions.min_face
    top_fraction: float = DEFAULT_RULE.top_fraction
    perturbations: tuple[Perturbation, ...] = ()
    calibrate: str | None = None
    calibration_fraction: float = 0.5
    suspicious_fpr: float = DEFAULT_SUSPICIOUS_FPR
    fake_fpr: float = DEFAULT_FAKE_FPR
    threshold_level: str = "video"
    self_blend: bool = False
    protocol: bool = False
    seed: int = 0
    histogram_bins: int = 20

    def __post_init__(self) -> None:
        if self.frames_per_video < 1:
            raise UsageError("frames per video must be at least 1")
        if self.crop_size is not None and not 32 <= self.crop_size <= 1024:
            raise UsageError("crop size must be between 32 and 1024 pixels")
        if not 0.0 < self.top_fraction <= 1.0:
            raise UsageError("top fraction must be in (0, 1]")
        if self.calibrate is not None and self.calibrate not in FIT_METHODS:
            raise UsageError(
                f"calibration must be one of {', '.join(FIT_METHODS)}, not {self.calibrate!r}"
            )
        if not 0.0 < self.calibration_fraction < 1.0:
            raise UsageError("calibration fraction must be between 0 and 1 (exclusive)")
        if not 0.0 <= self.fake_fpr <= self.suspicious_fpr < 1.0:
            raise UsageError("target false-positive rates need 0 <= fake <= suspicious < 1")
        if self.threshold_level not in ("video", "frame"):
            raise UsageError("threshold level must be 'video' or 'frame'")
        if self.histogram_bins < 1:
            raise UsageError("histogram bins must be >= 1")


@dataclass(frozen=True)
class CropInfo:
    """Where one scored crop came from (a manifest record, reduced to what metrics need)."""

    source: str
    label: int
    group: str
    dataset: str
    method: str
    kind: str
    frame_index: int
    timestamp_s: float


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


@dataclass(frozen=True)
class VideoScore:
    """One source file's aggregated score (a video, or an image's single crop)."""

    source: str
    label: int
    group: str
    dataset: str
    method: str
    kind: str
    num_crops: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "label": self.label,
            "group": self.group,
            "dataset": self.dataset,
            "method": self.method,
            "kind": self.kind,
            "num_crops": self.num_crops,
            "score": round(self.score, 6),
        }


@dataclass(frozen=True)
class LevelMetrics:
    """Metrics of one subset at frame (per crop) and video (per source file) level."""

    frame: BinaryMetrics
    video: BinaryMetrics

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame.to_dict(), "video": self.video.to_dict()}


@dataclass(frozen=True)
class Breakdown:
    """Metrics of one dataset or one manipulation method; `pooled` names a borrowed class."""

    by: str
    name: str
    pooled: str
    metrics: LevelMetrics

    def to_dict(self) -> dict[str, Any]:
        return {"by": self.by, "name": self.name, "pooled": self.pooled, **self.metrics.to_dict()}


@dataclass(frozen=True)
class PerturbationResult:
    """AUC under one perturbation level and its drop from the clean AUC (positive = worse)."""

    key: str
    kind: str
    level: int
    description: str
    frame_auc: float
    video_auc: float
    frame_auc_drop: float
    video_auc_drop: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "level": self.level,
            "description": self.description,
            "frame_auc": _num(self.frame_auc),
            "video_auc": _num(self.video_auc),
            "frame_auc_drop": _num(self.frame_auc_drop),
            "video_auc_drop": _num(self.video_auc_drop),
        }


@dataclass(frozen=True)
class EvaluationResult:
    """Everything `evaluate` measured. `spec` is the spec scores were read with (calibrated
    when calibration ran), its `metrics['evaluation']` set to `summary()`."""

    spec: ModelSpec
    model_sha256: str
    data: tuple[str, ...]
    overall: LevelMetrics
    breakdowns: tuple[Breakdown, ...]
    roc_frame: RocCurve
    roc_video: RocCurve
    hist_frame: ScoreHistogram
    hist_video: ScoreHistogram
    videos: tuple[VideoScore, ...]
    perturbations: tuple[PerturbationResult, ...] = ()
    calibration: CalibrationResult | None = None
    num_items: int = 0
    items_without_faces: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    timings_s: Mapping[str, float] = field(default_factory=dict)
    created_utc: str = ""
    protocol: ProtocolTable | None = None

    def summary(self) -> dict[str, Any]:
        """The compact figures stored in a spec's `metrics['evaluation']`."""

        def short(m: BinaryMetrics) -> dict[str, Any]:
            return {
                "auc": _num(m.auc),
                "average_precision": _num(m.average_precision),
                "eer": _num(m.eer),
                "log_loss": _num(m.log_loss),
                "num_real": m.num_real,
                "num_fake": m.num_fake,
            }

        return {
            "data": list(self.data),
            "created_utc": self.created_utc,
            "frame": short(self.overall.frame),
            "video": short(self.overall.video),
            "video_auc_by": {
                f"{b.by}:{b.name}": _num(b.metrics.video.auc) for b in self.breakdowns
            },
            "video_auc_under": {p.key: _num(p.video_auc) for p in self.perturbations},
            "held_out_from_calibration": self.calibration is not None,
            **({} if self.protocol is None else {"leave_generator_out": self.protocol.to_dict()}),
        }

    def robustness(self) -> dict[str, dict[str, float | None]]:
        """Per perturbation kind: mean and worst video-level AUC drop over its levels."""
        drops: dict[str, list[float]] = {}
        for p in self.perturbations:
            drops.setdefault(p.kind, []).append(p.video_auc_drop)
        return {
            kind: {
                "mean_video_auc_drop": _num(float(np.mean(values))),
                "max_video_auc_drop": _num(float(np.max(values))),
            }
            for kind, values in drops.items()
        }

    def to_dict(self) -> dict[str, Any]:
        thresholds = self.spec.thresholds
        cal = self.spec.calibration
        return {
            "created_utc": self.created_utc,
            "data": list(self.data),
            "model": {
                "name": self.spec.name,
                "sha256": self.model_sha256,
                "input_size": self.spec.input_size,
                "thresholds": {"suspicious": thresholds.suspicious, "fake": thresholds.fake},
                "calibration": {
                    "method": cal.method,
                    "temperature": cal.temperature,
                    "a": cal.a,
                    "b": cal.b,
                },
            },
            "num_items": self.num_items,
            "items_without_faces": list(self.items_without_faces),
            "overall": self.overall.to_dict(),
            "breakdowns": [b.to_dict() for b in self.breakdowns],
            "perturbations": [p.to_dict() for p in self.perturbations],
            "robustness": self.robustness(),
            "calibration": None if self.calibration is None else self.calibration.to_dict(),
            "roc": {"frame": _roc_dict(self.roc_frame), "video": _roc_dict(self.roc_video)},
            "histograms": {"frame": self.hist_frame.to_dict(), "video": self.hist_video.to_dict()},
            "videos": [v.to_dict() for v in self.videos],
            "warnings": list(self.warnings),
            "timings_s": {k: round(v, 3) for k, v in self.timings_s.items()},
            "leave_generator_out": None if self.protocol is None else self.protocol.to_dict(),
        }


# --- discovery, extraction and scoring --------------------------------------------------------


def discover_items(
    data: Sequence[Path | str],
    include: Iterable[Path | str] | None = None,
    real: Sequence[Path | str] = (),
) -> list[LabeledItem]:
    """Labeled items of every DATA folder, plus every file of the `real` folders as a real
    item (as `train --real` reads them), each file once, in a stable order; with `include`,
    only the files it lists (e.g. the held-out files a training run recorded)."""
    if not data and not real:
        raise UsageError("give at least one labeled DATA folder or --real folder")
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
        raise UsageError("the DATA and --real folders hold no media")
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


def select_faces(records: Iterable[Any]) -> list[Any]:
    """One record per (source, frame): the largest face, as in a single-subject clip the
    subject; sorted by source then frame index."""
    best: dict[tuple[str, int], Any] = {}
    for r in records:
        key = (r.source, r.frame_index)
        x0, y0, x1, y1 = r.box_xyxy
        area = (x1 - x0) * (y1 - y0)
        if key not in best or area > _area(best[key]):
            best[key] = r
    return [best[k] for k in sorted(best)]


def _area(record: Any) -> float:
    x0, y0, x1, y1 = record.box_xyxy
    return (x1 - x0) * (y1 - y0)


SELF_BLENDED = "self-blended"
_SELF_BLENDED_SUFFIX = "#" + SELF_BLENDED


def self_blended_records(cache: Any, records: Sequence[Any]) -> list[Any]:
    """A fake twin of each real record that has landmarks: same crop and identity group,
    `source` suffixed `#self-blended`, dataset and method `self-blended`."""
    return [
        replace(
            r,
            source=r.source + _SELF_BLENDED_SUFFIX,
            label=1,
            dataset=SELF_BLENDED,
            method=SELF_BLENDED,
        )
        for r in records
        if r.label == 0 and r.landmarks is not None
    ]


def crop_loader(seed: int = 0) -> Callable[[Any, Any, int], np.ndarray]:
    """`load(cache, record, size)`: the cached crop at `size`, self-blended first (at the
    cached size, where its landmarks are) for a `self_blended_records` record. The blend's
    random draws depend only on `seed` and the crop's name, not on the order of loading."""
    from deepfake_analyzer.faces.crop import resize_square
    from deepfake_analyzer.training.extract import load_crop

    def load(cache: Any, record: Any, size: int) -> np.ndarray:
        if not record.source.endswith(_SELF_BLENDED_SUFFIX):
            return load_crop(cache, record, size)
        from deepfake_analyzer.training.sbi import self_blend

        crop = load_crop(cache, record)
        landmarks = cache.landmarks_of(record)
        rng = np.random.default_rng([seed, zlib.crc32(record.crop.encode())])
        return resize_square(self_blend(crop, landmarks, rng).image, size)

    return load


def extract_for_evaluation(
    items: Sequence[LabeledItem],
    spec: ModelSpec,
    config: EvaluateConfig,
    cache_dir: Path,
    hook: ProgressHook | None = None,
    detector: Any = None,
    face_mesh: Any = None,
) -> tuple[Any, list[Any]]:
    """(cache, records) for `items`: crops cut at the spec's margin and at its input size (or
    `config.crop_size`), one face per sampled frame, only records of these items, with each
    item's label, group, dataset and method (a shared cache may hold another run's)."""
    from deepfake_analyzer.training.extract import ExtractConfig, extract_crops

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
    by_source = {str(i.path): i for i in items}
    # Labels and groups come from this discovery, not from whoever filled the cache first.
    records = (
        replace(
            r,
            label=item.label,
            group=item.group,
            dataset=item.dataset,
            method=item.method,
            kind=item.kind,
        )
        for r in cache.records
        if (item := by_source.get(r.source)) is not None
    )
    return cache, select_faces(records)


def score_records(
    classifier: Classifier,
    cache: Any,
    records: Sequence[Any],
    perturbations: Sequence[Perturbation] = (),
    seed: int = 0,
    hook: ProgressHook | None = None,
    chunk: int = 32,
    load: Callable[[Any, Any, int], np.ndarray] | None = None,
) -> ScoredCrops:
    """Raw probabilities of every record's crop, clean and under each perturbation.

    Crops are read one source at a time (so an H.264 perturbation encodes one source's crops
    as one clip) and predicted `chunk` at a time, so memory stays flat on large sets.
    """
    hook = hook or NullHook()
    if load is None:
        from deepfake_analyzer.training.extract import load_crop as load
    size = classifier.spec.input_size
    keys = [CLEAN, *(p.key for p in perturbations)]
    outputs: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    pending: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    pending_count = 0

    def flush() -> None:
        nonlocal pending_count
        if not pending_count:
            return
        for key in keys:
            batch = np.concatenate(pending[key])
            outputs[key].append(np.asarray(classifier.predict(batch), dtype=np.float64))
            pending[key] = []
        pending_count = 0

    by_source: dict[str, list[Any]] = {}
    for r in records:
        by_source.setdefault(r.source, []).append(r)
    done = 0
    for source_index, recs in enumerate(by_source.values()):
        crops = np.stack([load(cache, r, size) for r in recs])
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


def _crop_info(record: Any) -> CropInfo:
    return CropInfo(
        source=str(record.source),
        label=int(record.label),
        group=str(record.group),
        dataset=str(record.dataset),
        method=str(record.method),
        kind=str(record.kind),
        frame_index=int(record.frame_index),
        timestamp_s=float(record.timestamp_s),
    )


# --- metrics from scores ----------------------------------------------------------------------


def video_scores(
    crops: Sequence[CropInfo], scores: np.ndarray, top_fraction: float = DEFAULT_RULE.top_fraction
) -> list[VideoScore]:
    """Per source file: `track_score` (top-k mean) of its crops' calibrated scores."""
    by_source: dict[str, list[int]] = {}
    for i, c in enumerate(crops):
        by_source.setdefault(c.source, []).append(i)
    result = []
    for source, idx in by_source.items():
        first = crops[idx[0]]
        result.append(
            VideoScore(
                source=source,
                label=first.label,
                group=first.group,
                dataset=first.dataset,
                method=first.method,
                kind=first.kind,
                num_crops=len(idx),
                score=track_score(scores[idx], top_fraction),
            )
        )
    return result


def _video_arrays(videos: Sequence[VideoScore]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([v.label for v in videos], dtype=np.int64),
        np.array([v.score for v in videos], dtype=np.float64),
    )


def level_metrics(
    crops: Sequence[CropInfo],
    scores: np.ndarray,
    videos: Sequence[VideoScore],
    thresholds: Mapping[str, float],
) -> LevelMetrics:
    frame_labels = np.array([c.label for c in crops], dtype=np.int64)
    v_labels, v_scores = _video_arrays(videos)
    return LevelMetrics(
        frame=compute_metrics(frame_labels, scores, thresholds),
        video=compute_metrics(v_labels, v_scores, thresholds),
    )


MIN_OWN_REALS = 5
"""A breakdown subset with fewer real files than this borrows every real of the evaluation."""


def breakdowns(
    crops: Sequence[CropInfo],
    scores: np.ndarray,
    videos: Sequence[VideoScore],
    thresholds: Mapping[str, float],
    min_own_reals: int = MIN_OWN_REALS,
) -> list[Breakdown]:
    """Per dataset and per fake method (reals: those of the methods' datasets), borrowing
    every real when a subset has fewer than `min_own_reals` real files, and every fake when
    it has none (see the module docstring). A method whose fakes are exactly one dataset's
    fakes is not repeated."""
    results: list[Breakdown] = []
    datasets = sorted({c.dataset for c in crops})

    def add(by: str, name: str, member: Callable[[Any], bool]) -> None:
        results.append(
            _breakdown(by, name, member, crops, scores, videos, thresholds, min_own_reals)
        )

    for name in datasets:
        add("dataset", name, lambda c, n=name: c.dataset == n)
    dataset_fakes = [
        frozenset(c.source for c in crops if c.label == 1 and c.dataset == d) for d in datasets
    ]
    for name in sorted({c.method for c in crops if c.label == 1}):
        fakes = frozenset(c.source for c in crops if c.label == 1 and c.method == name)
        if fakes in dataset_fakes:
            continue  # the method is the whole of one dataset: its row is already there
        fake_datasets = {c.dataset for c in crops if c.label == 1 and c.method == name}
        add(
            "method",
            name,
            lambda c, n=name, ds=fake_datasets: c.method == n if c.label == 1 else c.dataset in ds,
        )
    return results


def _breakdown(
    by: str,
    name: str,
    member: Callable[[Any], bool],
    crops: Sequence[CropInfo],
    scores: np.ndarray,
    videos: Sequence[VideoScore],
    thresholds: Mapping[str, float],
    min_own_reals: int,
) -> Breakdown:
    v_inside = np.array([member(v) for v in videos], dtype=bool)
    v_labels = np.array([v.label for v in videos])
    own_reals = int((v_inside & (v_labels == 0)).sum())
    own_fakes = int((v_inside & (v_labels == 1)).sum())
    pooled = ""
    if own_fakes and own_reals < min_own_reals:
        pooled = "reals"
    elif own_reals and not own_fakes:
        pooled = "fakes"

    def keep(rows: Sequence[Any]) -> np.ndarray:
        inside = np.array([member(r) for r in rows], dtype=bool)
        labels = np.array([r.label for r in rows])
        if pooled == "reals":
            inside |= labels == 0
        elif pooled == "fakes":
            inside |= labels == 1
        return inside

    frame_keep, video_keep = keep(crops), keep(videos)
    sub_crops = [c for c, k in zip(crops, frame_keep, strict=True) if k]
    sub_videos = [v for v, k in zip(videos, video_keep, strict=True) if k]
    metrics = level_metrics(sub_crops, scores[frame_keep], sub_videos, thresholds)
    return Breakdown(by=by, name=name, pooled=pooled, metrics=metrics)


def is_self_blended(crop: CropInfo) -> bool:
    return crop.dataset == SELF_BLENDED and crop.source.endswith(_SELF_BLENDED_SUFFIX)


def _split_for_calibration(
    scored: ScoredCrops, config: EvaluateConfig
) -> tuple[ScoredCrops, ScoredCrops]:
    """(fit, held out) by identity group, about `calibration_fraction` of groups to fit.

    Self-blended crops follow their real's group and are never fit on."""
    items = {}
    for c in scored.crops:
        if not is_self_blended(c):
            items.setdefault(
                c.source, LabeledItem(Path(c.source), c.label, c.group, c.dataset, c.method, c.kind)
            )
    _, fit_items = split_by_group(items.values(), config.calibration_fraction, config.seed)
    fit_groups = {i.group for i in fit_items}
    in_fit = np.array([c.group in fit_groups for c in scored.crops], dtype=bool)
    blended = np.array([is_self_blended(c) for c in scored.crops], dtype=bool)
    fit, held_out = scored.subset(in_fit & ~blended), scored.subset(~in_fit)
    for part, what in ((fit, "fit the calibration"), (held_out, "evaluate after calibrating")):
        labels = part.labels
        if labels.size == 0 or labels.min() == labels.max():
            raise UsageError(
                f"too few identity groups to {what}: each side of the split by identity needs "
                "real and fake media; add labeled data or change --calibration-fraction"
            )
    return fit, held_out


def evaluate_scores(
    scored: ScoredCrops,
    spec: ModelSpec,
    config: EvaluateConfig = EvaluateConfig(),
    model_sha256: str = "",
    data: Sequence[str] = (),
    num_items: int | None = None,
    items_without_faces: Sequence[str] = (),
    warnings: Sequence[str] = (),
    timings_s: Mapping[str, float] | None = None,
) -> EvaluationResult:
    """All metrics from scored crops (no model, no media: pure numpy).

    With `config.calibrate`, a calibration is fit on part of the groups, the spec gets it (and
    thresholds for the target false-positive rates), and the rest is evaluated with it.
    Self-blended crops appear only in their breakdown row (and in `videos`).
    """
    if not scored.crops:
        raise UsageError(
            "no face was found in any labeled file: check the DATA folders, or lower "
            "--min-face / --min-confidence"
        )
    notes = list(warnings)
    calibration: CalibrationResult | None = None
    evaluated = scored
    if config.calibrate is not None:
        fit, evaluated = _split_for_calibration(scored, config)

        def real_scores_for_thresholds(cal: Any) -> np.ndarray:
            calibrated = cal.apply(fit.raw)
            if config.threshold_level == "frame":
                return calibrated[fit.labels == 0]
            videos = video_scores(fit.crops, calibrated, config.top_fraction)
            return np.array([v.score for v in videos if v.label == 0])

        calibration = calibrate_spec(
            spec,
            fit.raw,
            fit.labels,
            method=config.calibrate,  # type: ignore[arg-type]
            suspicious_fpr=config.suspicious_fpr,
            fake_fpr=config.fake_fpr,
            threshold_real_scores=real_scores_for_thresholds,
        )
        spec = calibration.spec
        notes.extend(calibration.notes)

    thresholds = {"suspicious": spec.thresholds.suspicious, "fake": spec.thresholds.fake}
    all_scores = spec.calibration.apply(evaluated.raw)
    all_videos = video_scores(evaluated.crops, all_scores, config.top_fraction)
    main_mask = np.array([not is_self_blended(c) for c in evaluated.crops], dtype=bool)
    main = evaluated.subset(main_mask)
    if not main.crops:
        raise UsageError("only self-blended crops are left to evaluate: add labeled media")
    scores = all_scores[main_mask]
    videos = [v for v in all_videos if not v.source.endswith(_SELF_BLENDED_SUFFIX)]
    v_labels, v_scores = _video_arrays(videos)
    overall = level_metrics(main.crops, scores, videos, thresholds)
    perturbation_results = []
    for p in config.perturbations:
        p_scores = spec.calibration.apply(main.perturbed_raw[p.key])
        p_videos = video_scores(main.crops, p_scores, config.top_fraction)
        pl, ps = _video_arrays(p_videos)
        frame_auc = roc_auc(main.labels, p_scores)
        video_auc = roc_auc(pl, ps)
        perturbation_results.append(
            PerturbationResult(
                key=p.key,
                kind=p.kind,
                level=p.level,
                description=p.description,
                frame_auc=frame_auc,
                video_auc=video_auc,
                frame_auc_drop=overall.frame.auc - frame_auc,
                video_auc_drop=overall.video.auc - video_auc,
            )
        )
    if overall.video.num_real == 0 or overall.video.num_fake == 0:
        notes.append("the evaluated media hold only one class: AUC, AP and EER are undefined")
    result = EvaluationResult(
        spec=spec,
        model_sha256=model_sha256,
        data=tuple(data),
        overall=overall,
        breakdowns=tuple(breakdowns(evaluated.crops, all_scores, all_videos, thresholds)),
        roc_frame=roc_curve(main.labels, scores),
        roc_video=roc_curve(v_labels, v_scores),
        hist_frame=score_histogram(main.labels, scores, config.histogram_bins),
        hist_video=score_histogram(v_labels, v_scores, config.histogram_bins),
        videos=tuple(all_videos),
        perturbations=tuple(perturbation_results),
        calibration=calibration,
        num_items=len(videos) + len(items_without_faces) if num_items is None else num_items,
        items_without_faces=tuple(items_without_faces),
        warnings=tuple(notes),
        timings_s=dict(timings_s or {}),
        created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        protocol=protocol_table(videos, thresholds["fake"]) if config.protocol else None,
    )
    new_spec = replace(spec, metrics={**spec.metrics, "evaluation": result.summary()})
    result = replace(result, spec=new_spec)
    if calibration is not None:
        result = replace(result, calibration=replace(calibration, spec=new_spec))
    return result


def evaluate(
    data: Sequence[Path | str],
    classifier: Classifier,
    config: EvaluateConfig = EvaluateConfig(),
    cache_dir: Path | None = None,
    hook: ProgressHook | None = None,
    detector: Any = None,
    face_mesh: Any = None,
    include: Iterable[Path | str] | None = None,
    real: Sequence[Path | str] = (),
) -> EvaluationResult:
    """Discover labeled media in `data` and real media in `real` (only files in `include`
    when given), extract faces, score them and measure everything."""
    from deepfake_analyzer.training.extract import default_cache_dir

    hook = hook or NullHook()
    timings: dict[str, float] = {}
    started = time.monotonic()
    items = discover_items(data, include, real)
    if config.protocol:
        items = list(split_protocol(items).heldout)
        if not items:
            raise UsageError(
                "none of the DATA files is held out by the leave-generator-out protocol"
            )
    folders = len(data) + len(real)
    hook(Message(STAGE_EXTRACT, f"{len(items)} labeled files in {folders} folder(s)"))
    spec = classifier.spec
    cache, records = extract_for_evaluation(
        items,
        spec,
        config,
        Path(cache_dir) if cache_dir is not None else default_cache_dir(),
        hook,
        detector,
        face_mesh,
    )
    timings["extract"] = time.monotonic() - started
    with_faces = {r.source for r in records}
    without = [str(i.path) for i in items if str(i.path) not in with_faces]
    warnings = []
    if without:
        warnings.append(
            f"{len(without)} of {len(items)} files had no detectable face and are left out "
            "(the analyzer reports them as 'no-face')"
        )
    if config.self_blend:
        blended = self_blended_records(cache, records)
        if not blended:
            warnings.append(
                "no real crop has face-mesh landmarks, so no self-blended fakes were made"
            )
        records = [*records, *blended]
    t0 = time.monotonic()
    scored = score_records(
        classifier,
        cache,
        records,
        config.perturbations,
        config.seed,
        hook,
        load=crop_loader(config.seed),
    )
    timings["score"] = time.monotonic() - t0
    timings["total"] = time.monotonic() - started
    return evaluate_scores(
        scored,
        spec,
        config,
        model_sha256=getattr(classifier, "sha256", ""),
        data=[str(p) for p in data] + [f"{p} (real)" for p in real],
        num_items=len(items),
        items_without_faces=without,
        warnings=warnings,
        timings_s=timings,
    )


def _roc_dict(curve: RocCurve) -> dict[str, Any]:
    return {
        "fpr": [_num(v) for v in curve.fpr],
        "tpr": [_num(v) for v in curve.tpr],
        "thresholds": [_num(v) for v in curve.thresholds],
    }


def _num(value: float, digits: int = 6) -> float | None:
    return round(float(value), digits) if math.isfinite(value) else None
