"""Fit and judge the temporal model under the leave-generator-out protocol.

`train_temporal(request)` lists the videos of the labeled and real-only folders, splits them
with `training.protocol.split_protocol` (fits only on its `train` part; the held-out
generators and people are scored, never fitted on), caches each video's landmark sequence
(`temporal.extract`), computes features, and:

1. picks the L2 strength by leave-generator-out k-fold cross-validation on the training
   videos (`generator_folds`: a fake's fold is its generator's, a real video's its person's;
   AUC of out-of-fold scores). temporal_v1 was chosen with folds of whole identity groups
   alone, which put a fake's generator on both sides of a fold;
2. fits standardisation + logistic regression on all training videos, weighting each
   generator's fakes by 1/sqrt(its count) and the two classes to equal total weight;
3. fits Platt calibration on the out-of-fold logits and sets the threshold to the
   `real_quantile` of the training reals' out-of-fold calibrated scores;
4. scores every held-out video and measures video AUC overall and per family, mean score per
   generator, and the false-positive rate of held-out reals at that threshold;
5. with a `baseline` model (e.g. the shipped one), scores the same held-out videos with it
   and compares the two per family, paired (`training.eval_compare.compare`: the change in
   AUC with its cluster-bootstrap interval and a verdict, better / worse / unclear).

Videos with too short a landmark sequence get no score (`NoTemporalScore`) and are counted,
not guessed. The library returns a `TemporalTrainingResult`; the CLI renders it.
"""

from __future__ import annotations

import json
import os
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import Message, NullHook, ProgressHook
from deepfake_analyzer.temporal.config import (
    DEFAULT_FOLDS,
    DEFAULT_REAL_QUANTILE,
    DEFAULT_TEMPORAL_MODEL,
    SequenceConfig,
)
from deepfake_analyzer.temporal.extract import (
    SequenceCache,
    default_temporal_cache,
    extract_sequences,
)
from deepfake_analyzer.temporal.features import (
    FEATURE_NAMES,
    MIN_DURATION_S,
    MIN_FRAMES,
    NoTemporalScore,
    TemporalFeatures,
    compute_features,
)
from deepfake_analyzer.temporal.model import (
    TemporalModel,
    fit_logistic,
    fit_platt,
    load_temporal_model,
    standardise,
)
from deepfake_analyzer.training.eval_compare import BaselineFile, Comparison, compare

L2_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
_NULL_HOOK = NullHook()


@dataclass(frozen=True)
class TrainTemporalRequest:
    """What to train on and where to write. `data` are labeled folders, `real` real-only ones."""

    data: tuple[Path, ...]
    real: tuple[Path, ...] = ()
    judge: tuple[Path, ...] = ()
    """Labeled folders only judged on: their held-out videos join the table, their training
    videos are not fitted on (e.g. fit on curated sources, judge on every held-out video)."""
    output: Path = DEFAULT_TEMPORAL_MODEL
    scores_path: Path | None = None
    cache_dir: Path | None = None
    sequence: SequenceConfig = SequenceConfig()
    folds: int = DEFAULT_FOLDS
    real_quantile: float = DEFAULT_REAL_QUANTILE
    l2_grid: tuple[float, ...] = L2_GRID
    seed: int = 0
    baseline: Path | None = None

    def __post_init__(self) -> None:
        if not self.data and not self.real:
            raise UsageError(
                "give at least one labeled data folder or `real` folder", option="real"
            )
        if self.folds < 2:
            raise UsageError(f"folds must be at least 2, got {self.folds}")
        if not 0.5 <= self.real_quantile < 1.0:
            raise UsageError(f"real quantile must be in [0.5, 1), got {self.real_quantile}")
        if not self.l2_grid or any(v <= 0 for v in self.l2_grid):
            raise UsageError("L2 strengths must be positive")

    @property
    def resolved_scores_path(self) -> Path:
        if self.scores_path is not None:
            return self.scores_path
        return Path(self.cache_dir or default_temporal_cache()) / "heldout_scores.json"


@dataclass(frozen=True)
class VideoScore:
    """One held-out video's temporal score, or why it has none (`score` None, `reason`)."""

    path: str
    label: int
    generator: str
    family: str
    score: float | None
    frames: int
    reason: str | None = None


@dataclass(frozen=True)
class GroupFigure:
    """AUC (fakes of this group vs all scored held-out reals; None without both) and the
    group's count and mean score."""

    name: str
    n: int
    mean_score: float
    auc: float | None


@dataclass(frozen=True)
class TemporalTrainingResult:
    """What a run fitted and measured."""

    model: TemporalModel
    model_path: Path
    training_list_path: Path
    scores_path: Path
    train_videos: int
    train_scored: int
    heldout_videos: int
    heldout_scored: int
    cv_auc: float
    l2: float
    auc: float | None
    families: tuple[GroupFigure, ...]
    generators: tuple[GroupFigure, ...]
    threshold: float
    real_fpr: float | None
    real_count: int
    fake_tpr: float | None
    scores: tuple[VideoScore, ...] = field(default_factory=tuple)
    comparison: Comparison | None = None


def discover_videos(data: Sequence[Path], real: Sequence[Path]) -> list[Any]:
    """Every video `LabeledItem` of the labeled folders and the real-only folders."""
    from deepfake_analyzer.training.sources import discover_labeled, discover_real

    items = []
    for root in data:
        items += discover_labeled(root)
    for root in real:
        items += discover_real(root)
    return [i for i in items if i.kind == "video"]


def group_folds(groups: Sequence[str], folds: int, seed: int = 0) -> np.ndarray:
    """Fold index per item: whole groups per fold, assigned by a seeded hash, then balanced by
    dealing groups (sorted by hash) round-robin."""
    unique = sorted(set(groups), key=lambda g: (zlib.crc32(f"{seed}:{g}".encode()), g))
    fold_of = {g: k % folds for k, g in enumerate(unique)}
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def generator_folds(
    fakes: Sequence[bool],
    generators: Sequence[str],
    groups: Sequence[str],
    folds: int,
    seed: int = 0,
) -> np.ndarray:
    """Leave-generator-out fold per item (`group_folds`): a labeled fake is grouped by its
    generator, every other item by its person (`groups`), so a fold's fakes come from
    generators the other folds never show."""
    keys = [
        f"generator:{g}" if fake else f"person:{p}"
        for fake, g, p in zip(fakes, generators, groups, strict=True)
    ]
    return group_folds(keys, folds, seed)


def sample_weights(labels: np.ndarray, generators: Sequence[str]) -> np.ndarray:
    """1/sqrt(count) per fake generator; each class sums to half the items."""
    counts: dict[str, int] = defaultdict(int)
    for label, gen in zip(labels, generators, strict=True):
        if label:
            counts[gen] += 1
    weights = np.array(
        [1.0 / np.sqrt(counts[g]) if y else 1.0 for y, g in zip(labels, generators, strict=True)]
    )
    n = len(labels)
    for cls in (0, 1):
        mask = labels == cls
        if mask.any():
            weights[mask] *= (n / 2.0) / weights[mask].sum()
    return weights


CLIP_Z = TemporalModel.clip_z
"""Standardised features are clipped to +-this before the logistic regression."""


def _fit(
    x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, clip_z: float = CLIP_Z
) -> tuple[Any, ...]:
    mean, scale = standardise(x)
    z = np.clip((x - mean) / scale, -clip_z, clip_z)
    coef, bias = fit_logistic(z, y, l2=l2, sample_weight=w)
    return mean, scale, coef, bias


def _logits(x: np.ndarray, params: tuple[Any, ...], clip_z: float = CLIP_Z) -> np.ndarray:
    mean, scale, coef, bias = params
    logits: np.ndarray = np.clip((x - mean) / scale, -clip_z, clip_z) @ coef + bias
    return logits


def cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    folds: np.ndarray,
    l2: float,
    clip_z: float = CLIP_Z,
) -> np.ndarray:
    """Out-of-fold logits of a standardised logistic regression (a fold whose training part
    lacks a class keeps the prior, 0); `clip_z` inf leaves standardised values unclipped."""
    out = np.zeros(len(y))
    for k in np.unique(folds):
        test = folds == k
        train = ~test
        if len(np.unique(y[train])) < 2:
            continue
        out[test] = _logits(x[test], _fit(x[train], y[train], w[train], l2, clip_z), clip_z)
    return out


def train_temporal(
    request: TrainTemporalRequest, hook: ProgressHook = _NULL_HOOK
) -> TemporalTrainingResult:
    """Run the whole protocol (see the module docstring) and write the model and scores."""
    from deepfake_analyzer.training.datalist import write_training_list
    from deepfake_analyzer.training.metrics import false_positive_rate_at, roc_auc
    from deepfake_analyzer.training.protocol import (
        canonical_generator,
        family_of,
        protocol_summary,
        split_protocol,
    )

    # read before anything is written: the baseline may be the file this run replaces
    baseline = None if request.baseline is None else load_temporal_model(request.baseline)
    items = discover_videos(request.data + request.judge, request.real)
    split = split_protocol(items)
    judged_only = [root.resolve() for root in request.judge]
    fitted = tuple(
        i for i in split.train if not any(i.path.resolve().is_relative_to(r) for r in judged_only)
    )
    not_fitted = len(split.train) - len(fitted)
    split = replace(split, train=fitted)
    if not split.train or not split.heldout:
        raise UsageError(
            f"the protocol left {len(split.train)} training and {len(split.heldout)} held-out "
            "videos; both are needed (add labeled video folders)"
        )
    hook(
        Message(
            "train-temporal",
            f"{len(split.train)} training, {len(split.heldout)} held-out, "
            f"{len(split.excluded)} excluded videos"
            + (f" ({not_fitted} training videos of judged-only folders)" if not_fitted else ""),
        )
    )
    cache = extract_sequences(
        [i.path for i in split.train + split.heldout],
        request.cache_dir,
        request.sequence,
        hook=hook,
    )

    def featurise(part: Sequence[Any]) -> list[tuple[Any, TemporalFeatures | NoTemporalScore]]:
        return [(item, _features_of(cache, item.path)) for item in part]

    train_rows = [(i, f) for i, f in featurise(split.train) if isinstance(f, TemporalFeatures)]
    if len({i.label for i, _ in train_rows}) < 2:
        raise UsageError("training videos with landmarks must include both real and fake ones")
    x = np.stack([f.as_array() for _, f in train_rows])
    y = np.array([i.label for i, _ in train_rows], dtype=np.float64)
    gens = [canonical_generator(i.method) for i, _ in train_rows]
    w = sample_weights(y, gens)
    folds = generator_folds(
        y == 1, gens, [i.group for i, _ in train_rows], request.folds, request.seed
    )

    cv = {l2: roc_auc(y, cross_validate(x, y, w, folds, l2)) for l2 in request.l2_grid}
    best_l2 = max(request.l2_grid, key=lambda l2: (round(cv[l2], 6), l2))
    hook(
        Message(
            "train-temporal",
            "leave-generator-out CV AUC by L2: "
            + ", ".join(f"{k:g}={v:.3f}" for k, v in cv.items()),
        )
    )
    oof = cross_validate(x, y, w, folds, best_l2)
    cal_a, cal_b = fit_platt(oof, y)
    oof_scores = 1.0 / (1.0 + np.exp(-(cal_a * oof + cal_b)))
    threshold = float(np.quantile(oof_scores[y == 0], request.real_quantile))
    mean, scale, coef, bias = _fit(x, y, w, best_l2)
    generator_counts: dict[str, int] = defaultdict(int)
    for label, gen in zip(y, gens, strict=True):
        generator_counts[gen if label else "real"] += 1
    model = TemporalModel(
        feature_names=FEATURE_NAMES,
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in coef),
        bias=float(bias),
        calibration_a=cal_a,
        calibration_b=cal_b,
        clip_z=5.0,
        threshold=threshold,
        sequence={
            **asdict(request.sequence),
            "min_frames": MIN_FRAMES,
            "min_duration_s": MIN_DURATION_S,
        },
        training={
            "videos": len(train_rows),
            "real": int((y == 0).sum()),
            "fake": int((y == 1).sum()),
            "videos_by_generator": dict(sorted(generator_counts.items())),
            "l2": best_l2,
            "cv_auc": round(cv[best_l2], 4),
            "folds": f"{request.folds} leave-generator-out (generator_folds)",
            "threshold_rule": f"quantile {request.real_quantile:g} of training reals' "
            "out-of-fold scores",
            "protocol": protocol_summary(),
        },
    )
    model_path = model.save(request.output)
    list_path = request.output.with_name(request.output.stem + ".training-data.csv")
    write_training_list([i for i, _ in train_rows], list_path)

    scores = []
    paired: list[tuple[BaselineFile, BaselineFile]] = []
    for item, feats in featurise(split.heldout):
        gen = canonical_generator(item.method)
        if isinstance(feats, TemporalFeatures):
            score, reason = model.score(feats), None
            if baseline is not None:
                paired.append((_scored(item, baseline.score(feats)), _scored(item, score)))
        else:
            score, reason = None, feats.reason
        scores.append(
            VideoScore(
                str(item.path),
                item.label,
                gen,
                family_of(item.method),
                score,
                feats.frames,
                reason,
            )
        )
    scored = [s for s in scores if s.score is not None]
    labels = np.array([s.label for s in scored])
    values = np.array([s.score for s in scored])
    reals = values[labels == 0]

    def figure(name: str, members: list[VideoScore]) -> GroupFigure:
        fake = np.array([s.score for s in members if s.score is not None])
        auc = None
        if len(fake) and len(reals):
            auc = roc_auc(np.r_[np.zeros(len(reals)), np.ones(len(fake))], np.r_[reals, fake])
        return GroupFigure(name, len(fake), float(fake.mean()) if len(fake) else 0.0, auc)

    fakes = [s for s in scored if s.label == 1]
    by_family: dict[str, list[VideoScore]] = defaultdict(list)
    by_generator: dict[str, list[VideoScore]] = defaultdict(list)
    for s in fakes:
        by_family[s.family].append(s)
        by_generator[s.generator].append(s)
    overall = (
        roc_auc(labels, values) if len(reals) and len(fakes) else None  # both classes present
    )
    fpr = false_positive_rate_at(np.zeros(len(reals)), reals, threshold) if len(reals) else None
    fake_values = values[labels == 1]
    tpr = float((fake_values >= threshold).mean()) if len(fake_values) else None
    scores_path = request.resolved_scores_path
    _write_scores(scores_path, scores, threshold)
    return TemporalTrainingResult(
        model=model,
        model_path=model_path,
        training_list_path=list_path,
        scores_path=scores_path,
        train_videos=len(split.train),
        train_scored=len(train_rows),
        heldout_videos=len(split.heldout),
        heldout_scored=len(scored),
        cv_auc=float(cv[best_l2]),
        l2=best_l2,
        auc=overall,
        families=tuple(figure(k, v) for k, v in sorted(by_family.items())),
        generators=tuple(figure(k, v) for k, v in sorted(by_generator.items())),
        threshold=threshold,
        real_fpr=fpr,
        real_count=len(reals),
        fake_tpr=tpr,
        scores=tuple(scores),
        comparison=(
            compare([b for b, _ in paired], [n for _, n in paired], str(request.baseline))
            if baseline is not None
            else None
        ),
    )


def _scored(item: Any, score: float) -> BaselineFile:
    """A held-out video's score as a comparison reads it."""
    return BaselineFile(str(item.path), item.label, "video", item.method, item.group, score)


def _features_of(cache: SequenceCache, path: Path) -> TemporalFeatures | NoTemporalScore:
    sequence = cache.load(path)
    if sequence is None:
        return NoTemporalScore("too-few-frames", 0, 0.0)
    return compute_features(sequence.points, sequence.timestamps_s, sequence.presence)


def _write_scores(path: Path, scores: Sequence[VideoScore], threshold: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    payload = {
        "threshold": threshold,
        "videos": [
            {
                "path": s.path,
                "label": "fake" if s.label else "real",
                "generator": s.generator,
                "family": s.family,
                "temporal_score": s.score,
                "frames": s.frames,
                "no_score_reason": s.reason,
            }
            for s in scores
        ],
    }
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, path)
