"""How far to trust a verdict: the model's own leave-generator-out figures, read from its spec.

`evaluate --protocol --write-spec` stores the table in the spec's
`metrics["evaluation"]["leave_generator_out"]` (training/protocol.py, `ProtocolTable.to_dict`),
with `VerdictRates` per medium: the share of held-out real and fake files at or above each
verdict threshold. Every report carries the spec's metrics (`ModelSummary.provenance`), so
`reliability_of` reads the figures back for the input's medium, and `trust_note` says in a
sentence what the verdict is worth on generators and people the model never saw.

The table also holds face-size rows (`training.protocol.FACE_SIZE_EDGES`: each medium's held-out
fakes and reals whose faces were under 100, 100-200, or 200 px or more wide): a verdict on a
face of 80 px is worth less than one on a face of 400 px, and `trust_note` adds a sentence on
the row the report's face falls in.

A report carries the metrics as `report_metrics` trims them: the table's medium, family and
face-size rows,
its rates and thresholds, and a count of held-out generators per medium
(`held_out_generators`) in place of a row per generator; the protocol's lists and the
per-source AUCs stay in the spec and the model card. `reliability_of` reads either form.

Figures measured at other thresholds than the ones the verdict used say nothing about it:
`reliability_of` then gives None, as it does for a spec without the table (a model never
evaluated with `--protocol`, or one written before the rates existed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

TABLE_KEY = "leave_generator_out"
RATES_KEY = "verdict_rates"
REAL_AT_FAKE_INTERVAL_KEY = "real_fpr_at_fake_interval"  # medium -> [low, high], 95 %
THRESHOLD_KEYS = {"suspicious": "suspicious_threshold", "fake": "fake_threshold"}
GENERATORS_KEY = "held_out_generators"  # medium -> count, in a report's trimmed table
_REPORT_ROWS = ("medium", "family", "face_size")  # row kinds a report keeps
_SPEC_ONLY = ("video_auc_by",)  # evaluation keys a report leaves to the spec
_SAME_THRESHOLD = 1e-6
_MEDIUM_WORDS = {"video": ("video", "videos"), "image": ("photo", "photos")}


@dataclass(frozen=True)
class VerdictRates:
    """Shares of one medium's held-out files at or above each verdict threshold (NaN where the
    medium had no file of that class)."""

    real_at_suspicious: float
    real_at_fake: float
    fake_at_suspicious: float
    fake_at_fake: float


def within(width: float, low: float, high: float) -> bool:
    """Whether a face `width` px wide is in [low, high) (a NaN bound: unbounded; a NaN
    width: in no bin)."""
    return math.isfinite(width) and not width < low and not width >= high


@dataclass(frozen=True)
class FaceSizeFigure:
    """The AUC of one medium's held-out files whose faces were `low` to `high` source pixels
    wide (NaN: unbounded)."""

    low: float
    high: float
    auc: float
    num_real: int
    num_fake: int

    def holds(self, width: float) -> bool:
        return within(width, self.low, self.high)

    def words(self) -> str:
        if math.isnan(self.low):
            return f"under {self.high:.0f} px wide"
        if math.isnan(self.high):
            return f"{self.low:.0f} px wide or more"
        return f"{self.low:.0f}-{self.high:.0f} px wide"


@dataclass(frozen=True)
class Reliability:
    """One medium's leave-generator-out figures, at the thresholds a verdict was read against."""

    medium: str  # "video" or "image"
    auc: float
    auc_low: float
    auc_high: float
    num_real: int
    num_fake: int
    generators: int  # held-out generators of this medium
    rates: VerdictRates
    measured_utc: str = ""
    face_sizes: tuple[FaceSizeFigure, ...] = ()
    real_at_fake_interval: tuple[float, float] | None = None  # reals by person; None: not stored

    def face_size(self, width: float | None) -> FaceSizeFigure | None:
        """The face-size row a face `width` px wide falls in, if the table has one."""
        if width is None or not math.isfinite(width):
            return None
        return next((f for f in self.face_sizes if f.holds(width)), None)


def reliability_of(
    metrics: Mapping[str, Any], thresholds: Mapping[str, float], medium: str
) -> Reliability | None:
    """The figures for `medium` in a spec's `metrics`, or None when it has none that hold at
    `thresholds`. Never raises on a malformed spec: a hand-edited one just has no figures."""
    try:
        evaluation = metrics["evaluation"]
        table = evaluation[TABLE_KEY]
        for name, key in THRESHOLD_KEYS.items():
            if abs(float(table[key]) - float(thresholds[name])) > _SAME_THRESHOLD:
                return None
        figures = table[RATES_KEY][medium]
        rates = VerdictRates(**{f.name: _number(figures[f.name]) for f in fields(VerdictRates)})
        rows = table["rows"]
        row = next(r for r in rows if r["by"] == "medium" and r["name"] == medium)
        generators = int(_generator_counts(table).get(medium, 0))
        face_sizes = tuple(
            FaceSizeFigure(
                _number(r["face_px_low"]), _number(r["face_px_high"]), float(r["auc"]),
                int(r["num_real"]), int(r["num_fake"]),
            )
            for r in rows
            if r["by"] == "face_size" and r["kind"] == medium
        )  # fmt: skip
        stored = table.get(REAL_AT_FAKE_INTERVAL_KEY, {}).get(medium)
        interval = None if stored is None else (_number(stored[0]), _number(stored[1]))
        return Reliability(
            medium=medium,
            auc=float(row["auc"]),
            auc_low=float(row["auc_low"]),
            auc_high=float(row["auc_high"]),
            num_real=int(row["num_real"]),
            num_fake=int(row["num_fake"]),
            generators=generators,
            rates=rates,
            measured_utc=str(evaluation.get("created_utc", "")),
            face_sizes=face_sizes,
            real_at_fake_interval=interval,
        )
    except (KeyError, TypeError, ValueError, StopIteration, AttributeError):
        return None


def report_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """A spec's `metrics` as a report carries them (module docstring): the same, less the
    per-generator rows, the protocol's lists and the per-source AUCs. Metrics without a
    well-formed table come back as they are."""
    trimmed = dict(metrics)
    try:
        evaluation = {k: v for k, v in metrics["evaluation"].items() if k not in _SPEC_ONLY}
        table = dict(evaluation[TABLE_KEY])
        table[GENERATORS_KEY] = _generator_counts(table)
        table["rows"] = [row for row in table["rows"] if row["by"] in _REPORT_ROWS]
        protocol = table.get("protocol")
        if isinstance(protocol, Mapping):
            table["protocol"] = {
                k: v for k, v in protocol.items() if not isinstance(v, list | dict)
            }
    except (KeyError, TypeError, AttributeError):
        return trimmed
    evaluation[TABLE_KEY] = table
    trimmed["evaluation"] = evaluation
    return trimmed


def _generator_counts(table: Mapping[str, Any]) -> dict[str, int]:
    """Medium -> held-out generators in a table: a report's stored count, or a spec's rows
    counted (one row per generator)."""
    if GENERATORS_KEY in table:
        return dict(table[GENERATORS_KEY])
    counts: dict[str, int] = {}
    for row in table["rows"]:
        if row["by"] == "generator":
            counts[row["kind"]] = counts.get(row["kind"], 0) + 1
    return counts


def trust_note(reliability: Reliability, label: str, face_width: float | None = None) -> str:
    """What a `label` verdict is worth, from the figures, in a sentence ("" for `no-face` or
    when the figures needed are missing); given the deciding face's `face_width` (source
    pixels), a second one on how held-out faces of that size read. It names the size's row,
    not the width, so a batch's dashboard says it once per row."""
    note = _verdict_note(reliability, label)
    size = reliability.face_size(face_width)
    if not note or size is None:
        return note
    many = _MEDIUM_WORDS.get(reliability.medium, ("", f"{reliability.medium} files"))[1]
    return (
        f"{note} Its face is {size.words()}: held-out {many} with faces of that size read "
        f"AUC {size.auc:.2f} ({size.num_real} real, {size.num_fake} fake)."
    )


def _verdict_note(reliability: Reliability, label: str) -> str:
    r = reliability
    rates = r.rates
    one, many = _MEDIUM_WORDS.get(r.medium, (f"{r.medium} file", f"{r.medium} files"))

    def files(count: int, kind: str) -> str:
        return f"{count} {kind} {one if count == 1 else many}"

    auc = f"AUC {r.auc:.2f}, 95 % interval {r.auc_low:.2f}-{r.auc_high:.2f}"
    unseen = f"{r.generators} generator{'s' if r.generators != 1 else ''} it never saw"
    if label == "real" and _known(rates.fake_at_suspicious):
        return (
            f"Of {files(r.num_fake, 'fake')} from {unseen}, this model rated "
            f"{rates.fake_at_suspicious:.0%} suspicious or fake ({auc}): `real` means it found "
            "no sign of manipulation, not that there is none."
        )
    if label == "suspicious" and _known(rates.fake_at_suspicious, rates.real_at_suspicious):
        return (
            f"Of {many} from people and {unseen}, this model rated "
            f"{rates.fake_at_suspicious:.0%} of {r.num_fake} fake and "
            f"{rates.real_at_suspicious:.0%} of {r.num_real} real ones suspicious or fake ({auc})."
        )
    if label == "fake" and _known(rates.real_at_fake, rates.fake_at_fake):
        spread = r.real_at_fake_interval
        among = (
            f" (95 % interval {spread[0]:.0%}-{spread[1]:.0%})"
            if spread is not None and _known(*spread)
            else ""
        )
        return (
            f"Of {files(r.num_real, 'real')} of people it never saw, this model rated "
            f"{rates.real_at_fake:.0%} fake{among}, against {rates.fake_at_fake:.0%} of "
            f"{r.num_fake} fake ones from {unseen} ({auc})."
        )
    return ""


def _number(value: Any) -> float:
    """A stored figure: JSON writes NaN (no file of that class) as null."""
    return math.nan if value is None else float(value)


def _known(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)
