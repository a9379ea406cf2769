"""`evaluate --baseline`: is the new model's table better than an earlier evaluation's?

Both evaluations score files; the comparison keeps the files both scored (matched by path),
and for each medium, family and face size (`training/protocol.py`'s bins, the new
evaluation's face widths) gives both AUCs, their difference and its paired
cluster-bootstrap interval (`training/bootstrap.py`): reals resampled by person, fakes by
generator, the same resamples for both models. A difference whose interval excludes 0 is
called better or worse; the rest is unclear: within the noise of these files. Given both
evaluations' `fake` thresholds, it also pairs per medium the share of real files each model's
verdict called fake (`RealAtFake`: reals resampled by person, fewer is better).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.report.reliability import within
from deepfake_analyzer.training.bootstrap import auc_difference, pair_matrix, share_difference
from deepfake_analyzer.training.eval_crops import SELF_BLENDED_SUFFIX
from deepfake_analyzer.training.eval_report import JSON_NAME
from deepfake_analyzer.training.metrics import json_fields
from deepfake_analyzer.training.protocol import (
    MIN_FACE_SIZE_FILES,
    Scored,
    face_size_bins,
    fake_clusters,
    family_of,
    reached,
)
from deepfake_analyzer.training.sources import FAKE, REAL

COMPARISON_NAME = "comparison.json"


class SourceScored(Scored, Protocol):
    """A scored file with its path (`VideoScore`, `BaselineFile`)."""

    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class BaselineFile:
    """One scored file of the baseline evaluation (an entry of its `videos`)."""

    source: str
    label: int
    kind: str
    method: str
    group: str
    score: float
    face_width: float = math.nan  # as `VideoScore`'s; NaN where the evaluation had none
    raised_thresholds: tuple[float, float] | None = None  # as `VideoScore`'s


def _verdict(difference: float, low: float, high: float, up: str, down: str) -> str:
    """`up` where the interval lies above 0, `down` where below, else 'unclear' ('-': NaN)."""
    if difference != difference:
        return "-"
    if low > 0:
        return up
    return down if high < 0 else "unclear"


@dataclass(frozen=True)
class ComparisonRow:
    """One medium or family: both AUCs and the new minus the baseline, with its interval."""

    name: str
    by: str
    num_real: int
    num_fake: int
    baseline_auc: float
    new_auc: float
    difference: float
    low: float
    high: float

    @property
    def verdict(self) -> str:
        return _verdict(self.difference, self.low, self.high, "better", "worse")

    def to_dict(self) -> dict[str, object]:
        return {**json_fields(self, digits=4), "verdict": self.verdict}


@dataclass(frozen=True)
class RealAtFake:
    """One medium's share of real files at or above each model's `fake` threshold, and the
    new minus the baseline with its paired interval (a negative change is fewer false alarms)."""

    kind: str
    num_real: int
    baseline_share: float
    new_share: float
    difference: float
    low: float
    high: float

    @property
    def verdict(self) -> str:
        return _verdict(self.difference, self.low, self.high, "worse", "better")

    def to_dict(self) -> dict[str, object]:
        return {**json_fields(self, digits=4), "verdict": self.verdict}


@dataclass(frozen=True)
class Comparison:
    """A comparison with a baseline evaluation: how many files matched, and the rows."""

    baseline: str
    matched: int
    only_baseline: int
    only_new: int
    rows: tuple[ComparisonRow, ...]
    real_at_fake: tuple[RealAtFake, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "matched_files": self.matched,
            "only_in_baseline": self.only_baseline,
            "only_in_new": self.only_new,
            "rows": [r.to_dict() for r in self.rows],
            "real_at_fake": [r.to_dict() for r in self.real_at_fake],
        }


def read_baseline(path: Path | str) -> tuple[Path, list[BaselineFile], float | None]:
    """The scored files of an earlier `evaluation.json` (or the folder holding one), and the
    `fake` threshold its model read them at (None where it does not say)."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / JSON_NAME
    try:
        data = json.loads(path.read_text())
        fake = data.get("model", {}).get("thresholds", {}).get("fake")
        files = [
            BaselineFile(
                str(v["source"]),
                int(v["label"]),
                str(v["kind"]),
                str(v["method"]),
                str(v["group"]),
                float(v["score"]),
                math.nan if v.get("face_width") is None else float(v["face_width"]),
                _raised(v.get("raised_thresholds")),
            )
            for v in data["videos"]
        ]
    except OSError as exc:
        raise UsageError(f"--baseline {path}: cannot read it ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--baseline {path}: not an evaluation.json ({exc})") from None
    return path, files, None if fake is None else float(fake)


def compare(
    baseline: Sequence[SourceScored],
    new: Sequence[SourceScored],
    name: str = "",
    fake_thresholds: tuple[float, float] | None = None,
) -> Comparison:
    """Per medium, family and face size, the paired AUC difference on the files both
    evaluations scored (same `source`; self-blended crops are left out). `name` says what the
    baseline was. With `fake_thresholds` (the baseline's, the new one's), per medium the
    paired change in the share of real files called fake (`RealAtFake`)."""
    base_by_source = _by_source(baseline)
    new_by_source = _by_source(new)
    shared = sorted(base_by_source.keys() & new_by_source.keys())
    pairs = [(base_by_source[s], new_by_source[s]) for s in shared]
    rows: list[ComparisonRow] = []
    alarms: list[RealAtFake] = []
    for kind in ("video", "image"):
        reals = [p for p in pairs if p[1].kind == kind and p[1].label == REAL]
        fakes = [p for p in pairs if p[1].kind == kind and p[1].label == FAKE]
        if reals and fake_thresholds is not None:
            alarms.append(_real_at_fake(kind, reals, fake_thresholds))
        if not reals or not fakes:
            continue
        rows.append(_row(kind, "medium", reals, fakes))
        for family in sorted({family_of(p[1].method) for p in fakes}):
            chosen = [p for p in fakes if family_of(p[1].method) == family]
            rows.append(_row(f"{kind}/{family}", "family", reals, chosen))
        for low, high, words in face_size_bins():  # by the face's size, as the table's rows
            real_bin = [p for p in reals if within(p[1].face_width, low, high)]
            fake_bin = [p for p in fakes if within(p[1].face_width, low, high)]
            if min(len(real_bin), len(fake_bin)) >= MIN_FACE_SIZE_FILES:
                rows.append(_row(f"{kind}/{words}", "face_size", real_bin, fake_bin))
    return Comparison(
        name,
        len(shared),
        len(base_by_source.keys() - new_by_source.keys()),
        len(new_by_source.keys() - base_by_source.keys()),
        tuple(rows),
        tuple(alarms),
    )


def _real_at_fake(
    kind: str, reals: list[tuple[SourceScored, SourceScored]], thresholds: tuple[float, float]
) -> RealAtFake:
    base = reached([b for b, _ in reals], thresholds[0], "fake")
    new = reached([n for _, n in reals], thresholds[1], "fake")
    diff = share_difference((base, new), [n.group for _, n in reals])
    return RealAtFake(
        kind, len(reals), float(base.mean()), float(new.mean()), diff.value, diff.low, diff.high
    )


def _by_source(files: Sequence[SourceScored]) -> dict[str, SourceScored]:
    return {f.source: f for f in files if not f.source.endswith(SELF_BLENDED_SUFFIX)}


def _row(
    name: str,
    by: str,
    reals: list[tuple[SourceScored, SourceScored]],
    fakes: list[tuple[SourceScored, SourceScored]],
) -> ComparisonRow:
    diff = auc_difference(
        ([b.score for b, _ in reals], [n.score for _, n in reals]),
        ([b.score for b, _ in fakes], [n.score for _, n in fakes]),
        [n.group for _, n in reals],
        fake_clusters([n for _, n in fakes]),
    )
    base = float(pair_matrix([b.score for b, _ in reals], [b.score for b, _ in fakes]).mean())
    return ComparisonRow(
        name, by, len(reals), len(fakes), base, base + diff.value, diff.value, diff.low, diff.high
    )


def comparison_to_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2) + "\n"


def _raised(value: Any) -> tuple[float, float] | None:
    """An evaluation's `raised_thresholds` entry (absent before they existed: None)."""
    if value is None:
        return None
    suspicious, fake = value
    return float(suspicious), float(fake)
