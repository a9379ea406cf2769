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

`video_scores="analyzer"` scores each video as the analyzer does instead (every track at the
default rate, temporal evidence combined: `training.eval_analyzer`): the video figures, the
protocol table and video-level thresholds then describe what users get. Frame figures, images
and perturbations stay on the crop path.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import Message, NullHook, ProgressHook
from deepfake_analyzer.models.base import Classifier
from deepfake_analyzer.models.blend import MARGIN_TOLERANCE
from deepfake_analyzer.models.spec import Calibration, ModelSpec
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.scoring.aggregate import DEFAULT_RULE
from deepfake_analyzer.training.calibrate import (
    DEFAULT_FAKE_FPR,
    DEFAULT_SUSPICIOUS_FPR,
    FIT_METHODS,
    CalibrationResult,
    RealScores,
    calibrate_spec,
)
from deepfake_analyzer.training.config import FRAMES_PER_VIDEO
from deepfake_analyzer.training.eval_analyzer import AnalyzedVideo, analyze_videos
from deepfake_analyzer.training.eval_compare import compare
from deepfake_analyzer.training.eval_crops import (
    SELF_BLENDED,
    SELF_BLENDED_SUFFIX,
    STAGE_EXTRACT,
    STAGE_SCORE,
    CropInfo,
    ScoredCrops,
    SourceLabels,
    crop_loader,
    discover_items,
    extract_for_evaluation,
    is_self_blended,
    read_file_list,
    score_records,
    select_faces,
    self_blended_records,
)
from deepfake_analyzer.training.eval_metrics import (
    MIN_OWN_REALS,
    Breakdown,
    LevelMetrics,
    PerturbationResult,
    VideoScore,
    breakdowns,
    level_metrics,
    video_arrays,
    video_scores,
)
from deepfake_analyzer.training.eval_result import EvaluationResult
from deepfake_analyzer.training.metrics import roc_auc, roc_curve, score_histogram
from deepfake_analyzer.training.perturb import Perturbation
from deepfake_analyzer.training.protocol import protocol_table, split_protocol
from deepfake_analyzer.training.sources import LabeledItem, split_by_group

if TYPE_CHECKING:
    from deepfake_analyzer.faces.base import FaceDetector
    from deepfake_analyzer.training.extract import CropLandmarker

__all__ = [
    "MIN_OWN_REALS",
    "SELF_BLENDED",
    "STAGE_EXTRACT",
    "STAGE_SCORE",
    "Breakdown",
    "CropInfo",
    "EvaluateConfig",
    "EvaluationResult",
    "LevelMetrics",
    "PerturbationResult",
    "ScoredCrops",
    "SourceLabels",
    "VideoScore",
    "breakdowns",
    "crop_loader",
    "discover_items",
    "evaluate",
    "evaluate_scores",
    "extract_for_evaluation",
    "level_metrics",
    "read_file_list",
    "score_records",
    "select_faces",
    "self_blended_records",
    "video_scores",
]


VIDEO_SCORES = ("crops", "analyzer")
FRAME_ONLY = "frame scores alone"
"""What `EvaluationResult.temporal_effect` compares the analyzer's video scores with."""


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
    `video_scores` is "crops" (a video's score from its `frames_per_video` crops) or
    "analyzer" (the analyzer's verdict score at default options; module docstring), its
    dense window `temporal_seconds` long (`AnalyzeOptions.temporal_seconds`).
    """

    frames_per_video: int = FRAMES_PER_VIDEO
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
    video_scores: str = "crops"
    temporal_seconds: float = AnalyzeOptions.temporal_seconds
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
        if self.video_scores not in VIDEO_SCORES:
            raise UsageError(f"video scores must be one of {', '.join(VIDEO_SCORES)}")
        if self.histogram_bins < 1:
            raise UsageError("histogram bins must be >= 1")


def analyzer_options(config: EvaluateConfig) -> AnalyzeOptions:
    """The analyzer's options for `--video-scores analyzer`: `config`'s detector settings."""
    return AnalyzeOptions(
        detector=config.detector,
        min_confidence=config.min_confidence,
        min_face=config.min_face_px,
        temporal_seconds=config.temporal_seconds,
    )


def _split_for_calibration(
    scored: ScoredCrops, config: EvaluateConfig
) -> tuple[ScoredCrops, ScoredCrops]:
    """(fit, held out) by identity group, about `calibration_fraction` of groups to fit.

    Self-blended crops follow their real's group and are never fit on."""
    items: dict[str, LabeledItem] = {}
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
                "real and fake media; add labeled data or change `calibration_fraction`",
                option="calibration_fraction",
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
    analyzed: Mapping[str, AnalyzedVideo] | None = None,
    temporal_model: str = "",
) -> EvaluationResult:
    """All metrics from scored crops (no model, no media: pure numpy).

    With `config.calibrate`, a calibration is fit on part of the groups, the spec gets it (and
    thresholds for the target false-positive rates), and the rest is evaluated with it.
    Self-blended crops appear only in their breakdown row (and in `videos`). `analyzed` (for
    `config.video_scores == "analyzer"`) gives each video's score instead of its crops.
    """
    if not scored.crops:
        raise UsageError(
            "no face was found in any labeled file: check the DATA folders, or lower "
            "`min_face_px` / `min_confidence`",
            option=("min_face_px", "min_confidence"),
        )
    notes = list(warnings)
    calibration: CalibrationResult | None = None
    evaluated = scored
    if config.calibrate is not None:
        calibration, evaluated = _calibrate(scored, spec, config, analyzed)
        spec = calibration.spec
        notes.extend(calibration.notes)

    thresholds = {"suspicious": spec.thresholds.suspicious, "fake": spec.thresholds.fake}
    all_scores = spec.calibration.apply(evaluated.raw)
    all_videos = _file_scores(evaluated.crops, all_scores, spec, config, analyzed)
    main_mask = np.array([not is_self_blended(c) for c in evaluated.crops], dtype=bool)
    main = evaluated.subset(main_mask)
    if not main.crops:
        raise UsageError("only self-blended crops are left to evaluate: add labeled media")
    scores = all_scores[main_mask]
    videos = [v for v in all_videos if not v.source.endswith(SELF_BLENDED_SUFFIX)]
    v_labels, v_scores = video_arrays(videos)
    overall = level_metrics(main.crops, scores, videos, thresholds)
    temporal_effect = None
    if analyzed is not None:  # the same verdicts without the temporal evidence, paired
        scored_videos = [v for v in videos if v.kind == "video"]
        frame_only = [
            replace(v, score=score)
            for v in scored_videos
            if (score := analyzed[v.source].score(spec.calibration, spec.thresholds, False))
            is not None
        ]
        fake = thresholds["fake"]
        temporal_effect = compare(frame_only, scored_videos, FRAME_ONLY, (fake, fake))
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
        perturbations=_perturbation_results(main, spec.calibration, config, overall),
        calibration=calibration,
        num_items=len(videos) + len(items_without_faces) if num_items is None else num_items,
        items_without_faces=tuple(items_without_faces),
        warnings=tuple(notes),
        timings_s=dict(timings_s or {}),
        created_utc=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        protocol=(
            protocol_table(videos, thresholds["fake"], thresholds["suspicious"])
            if config.protocol
            else None
        ),
        video_scores=config.video_scores,
        temporal_model=temporal_model,
        temporal_effect=temporal_effect,
    )
    return _with_summary_in_spec(result)


def _file_scores(
    crops: Sequence[CropInfo],
    calibrated: np.ndarray,
    spec: ModelSpec,
    config: EvaluateConfig,
    analyzed: Mapping[str, AnalyzedVideo] | None,
) -> list[VideoScore]:
    """Each file's score: the top-quarter mean of its calibrated crops or, with `analyzed`,
    for a video file (not a self-blended one) the analyzer's verdict score under `spec`'s
    calibration. In that mode a video the analyzer could not score (unreadable, or no face
    found) is left out."""
    files = video_scores(crops, calibrated, config.top_fraction)
    if analyzed is None:
        return files
    kept: list[VideoScore] = []
    for file in files:
        if file.kind != "video" or file.source.endswith(SELF_BLENDED_SUFFIX):
            kept.append(file)
            continue
        video = analyzed.get(file.source)
        if video is None:
            continue
        verdict = video.verdict(spec.calibration, spec.thresholds)
        if verdict.score is not None:
            raised = verdict.raised
            kept.append(
                replace(
                    file,
                    score=verdict.score,
                    num_crops=len(video.faces),
                    raised_thresholds=None if raised is None else (raised.suspicious, raised.fake),
                )
            )
    return kept


def _calibrate(
    scored: ScoredCrops,
    spec: ModelSpec,
    config: EvaluateConfig,
    analyzed: Mapping[str, AnalyzedVideo] | None = None,
) -> tuple[CalibrationResult, ScoredCrops]:
    """Fit the calibration (and thresholds) on part of the groups; returns it and the rest."""
    assert config.calibrate is not None
    fit, held_out = _split_for_calibration(scored, config)

    def real_scores_for_thresholds(cal: Calibration) -> RealScores:
        """Real frames, or real files per medium: videos and photos each within the target."""
        calibrated = cal.apply(fit.raw)
        if config.threshold_level == "frame":
            reals: np.ndarray = calibrated[fit.labels == 0]
            return reals
        files = _file_scores(fit.crops, calibrated, replace(spec, calibration=cal), config,
                             analyzed)  # fmt: skip
        return {
            kind: np.array([f.score for f in files if f.label == 0 and f.kind == kind])
            for kind in sorted({f.kind for f in files})
        }

    calibration = calibrate_spec(
        spec,
        fit.raw,
        fit.labels,
        method=config.calibrate,  # type: ignore[arg-type]
        suspicious_fpr=config.suspicious_fpr,
        fake_fpr=config.fake_fpr,
        threshold_real_scores=real_scores_for_thresholds,
    )
    return calibration, held_out


def _perturbation_results(
    main: ScoredCrops, calibration: Calibration, config: EvaluateConfig, clean: LevelMetrics
) -> tuple[PerturbationResult, ...]:
    """Frame and video AUC under each perturbation, and their drop from the clean AUC."""
    results = []
    for p in config.perturbations:
        p_scores = calibration.apply(main.perturbed_raw[p.key])
        p_labels, p_video_scores = video_arrays(
            video_scores(main.crops, p_scores, config.top_fraction)
        )
        frame_auc = roc_auc(main.labels, p_scores)
        video_auc = roc_auc(p_labels, p_video_scores)
        results.append(
            PerturbationResult(
                key=p.key,
                kind=p.kind,
                level=p.level,
                description=p.description,
                frame_auc=frame_auc,
                video_auc=video_auc,
                frame_auc_drop=clean.frame.auc - frame_auc,
                video_auc_drop=clean.video.auc - video_auc,
            )
        )
    return tuple(results)


def _with_summary_in_spec(result: EvaluationResult) -> EvaluationResult:
    """The result with its spec's `metrics['evaluation']` set to `result.summary()`."""
    spec = result.spec
    new_spec = replace(spec, metrics={**spec.metrics, "evaluation": result.summary()})
    result = replace(result, spec=new_spec)
    if result.calibration is not None:
        result = replace(result, calibration=replace(result.calibration, spec=new_spec))
    return result


def _check_crop_size(classifier: Classifier, config: EvaluateConfig) -> None:
    """UsageError for a `crop_size` under the input size of a blend with a member at a narrower
    margin: that member would read an enlarged middle of the crop (models/blend.py)."""
    spec = classifier.spec
    if config.crop_size is None or config.crop_size >= spec.input_size:
        return
    members = getattr(classifier, "members", ())
    if any(m.spec.crop_margin < spec.crop_margin - MARGIN_TOLERANCE for m in members):
        raise UsageError(
            f"--crop-size {config.crop_size} is under {spec.name}'s {spec.input_size}-px crops: "
            f"its members at a margin narrower than {spec.crop_margin:g} would read an enlarged "
            "middle; leave --crop-size out"
        )


def evaluate(
    data: Sequence[Path | str],
    classifier: Classifier,
    config: EvaluateConfig = EvaluateConfig(),
    cache_dir: Path | None = None,
    hook: ProgressHook | None = None,
    detector: FaceDetector | None = None,
    face_mesh: CropLandmarker | None = None,
    include: Iterable[Path | str] | None = None,
    real: Sequence[Path | str] = (),
    temporal_model: Path | None = None,
) -> EvaluationResult:
    """Discover labeled media in `data` and real media in `real` (only files in `include`
    when given), extract faces, score them and measure everything. `temporal_model` is the
    file the analyzer's video scores combine (default the shipped one)."""
    from deepfake_analyzer.temporal.config import DEFAULT_TEMPORAL_MODEL
    from deepfake_analyzer.temporal.model import load_temporal_model
    from deepfake_analyzer.training.extract import default_cache_dir

    hook = hook or NullHook()
    _check_crop_size(classifier, config)
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
    cache_root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache, records = extract_for_evaluation(
        items,
        spec,
        config,
        cache_root,
        hook,
        detector,
        face_mesh,
    )
    timings["extract"] = time.monotonic() - started
    with_faces = {r.source for r in records}
    without = [str(i.path) for i in items if str(i.path) not in with_faces]
    warnings: list[str] = []
    if without:
        warnings.append(
            f"{len(without)} of {len(items)} files had no detectable face and are left out "
            "(the analyzer reports them as 'no-face')"
        )
    if config.self_blend:
        blended = self_blended_records(records)
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
    analyzed: dict[str, AnalyzedVideo] | None = None
    if config.video_scores == "analyzer":
        t0 = time.monotonic()
        videos = [i for i in items if i.kind == "video" and str(i.path) in with_faces]
        options = analyzer_options(config)
        temporal_path = temporal_model or DEFAULT_TEMPORAL_MODEL
        analyzed = analyze_videos(
            videos, classifier, options, cache_root, hook, detector,
            load_temporal_model(temporal_path),
        )  # fmt: skip
        unscored = len(videos) - sum(1 for v in analyzed.values() if v.faces)
        if unscored:
            warnings.append(
                f"the analyzer gave no score to {unscored} of {len(videos)} videos (unreadable "
                "or no face found): they are left out of the video figures"
            )
        timings["analyze"] = time.monotonic() - t0
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
        analyzed=analyzed,
        temporal_model="" if analyzed is None else str(temporal_path),
    )
