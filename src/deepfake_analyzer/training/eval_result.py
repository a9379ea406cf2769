"""`EvaluationResult`: everything an evaluation measured, and its JSON form (`to_dict`) and
the compact figures a model spec keeps (`summary`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.report.reliability import TABLE_KEY
from deepfake_analyzer.training.calibrate import CalibrationResult
from deepfake_analyzer.training.eval_metrics import (
    Breakdown,
    LevelMetrics,
    PerturbationResult,
    VideoScore,
)
from deepfake_analyzer.training.metrics import (
    BinaryMetrics,
    RocCurve,
    ScoreHistogram,
    json_number,
)
from deepfake_analyzer.training.protocol import ProtocolTable

if TYPE_CHECKING:
    from deepfake_analyzer.training.eval_compare import Comparison


@dataclass(frozen=True)
class EvaluationResult:
    """Everything `evaluate` measured. `spec` is the spec scores were read with (calibrated
    when calibration ran), its `metrics['evaluation']` set to `summary()`. `video_scores`
    says how video scores were made ("crops" or "analyzer", `EvaluateConfig`)."""

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
    video_scores: str = "crops"
    temporal_model: str = ""
    """The temporal model file combined into the analyzer's video scores ("" for crops)."""
    temporal_effect: Comparison | None = None
    """With the analyzer's video scores: the same verdicts from the frame scores alone
    (baseline) against those with the temporal evidence, paired per medium and family."""

    def summary(self) -> dict[str, Any]:
        """The compact figures stored in a spec's `metrics['evaluation']`."""

        def short(m: BinaryMetrics) -> dict[str, Any]:
            return {
                "auc": json_number(m.auc),
                "average_precision": json_number(m.average_precision),
                "eer": json_number(m.eer),
                "log_loss": json_number(m.log_loss),
                "num_real": m.num_real,
                "num_fake": m.num_fake,
            }

        return {
            "data": list(self.data),
            "created_utc": self.created_utc,
            "frame": short(self.overall.frame),
            "video": short(self.overall.video),
            "video_auc_by": {
                f"{b.by}:{b.name}": json_number(b.metrics.video.auc) for b in self.breakdowns
            },
            "video_auc_under": {p.key: json_number(p.video_auc) for p in self.perturbations},
            "held_out_from_calibration": self.calibration is not None,
            "video_scores": self.video_scores,
            **({} if self.protocol is None else {TABLE_KEY: self.protocol.to_dict()}),
        }

    def robustness(self) -> dict[str, dict[str, float | None]]:
        """Per perturbation kind: mean and worst video-level AUC drop over its levels."""
        drops: dict[str, list[float]] = {}
        for p in self.perturbations:
            drops.setdefault(p.kind, []).append(p.video_auc_drop)
        return {
            kind: {
                "mean_video_auc_drop": json_number(float(np.mean(values))),
                "max_video_auc_drop": json_number(float(np.max(values))),
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
            "video_scores": self.video_scores,
            "temporal_model": self.temporal_model,
            "temporal_effect": None
            if self.temporal_effect is None
            else self.temporal_effect.to_dict(),
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
            TABLE_KEY: None if self.protocol is None else self.protocol.to_dict(),
        }


def _roc_dict(curve: RocCurve) -> dict[str, Any]:
    return {
        "fpr": [json_number(v) for v in curve.fpr],
        "tpr": [json_number(v) for v in curve.tpr],
        "thresholds": [json_number(v) for v in curve.thresholds],
    }
