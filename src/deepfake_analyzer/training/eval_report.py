"""Evaluation reports: JSON, ROC / histogram / perturbation PNGs, and a self-contained HTML page.

Matplotlib (Agg backend) is imported only when figures are drawn. The HTML embeds the PNGs as
base64 data URIs, so the page is one file that opens anywhere.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from deepfake_analyzer.errors import OutputExistsError, UsageError
from deepfake_analyzer.training.eval_metrics import Breakdown, LevelMetrics
from deepfake_analyzer.training.eval_result import EvaluationResult
from deepfake_analyzer.training.metrics import BinaryMetrics, RocCurve, ScoreHistogram
from deepfake_analyzer.training.protocol import ProtocolTable

JSON_NAME = "evaluation.json"
HTML_NAME = "evaluation.html"
ROC_PNG = "roc.png"
HIST_PNG = "histograms.png"
PERTURB_PNG = "perturbations.png"


def evaluation_to_json(result: EvaluationResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buffer.getvalue()


def roc_png(curves: Sequence[tuple[str, RocCurve, float]]) -> bytes:
    """ROC curves (label, curve, AUC) on one plot, with the chance diagonal."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for label, curve, auc in curves:
        if curve.fpr.size and math.isfinite(curve.fpr[0]):
            text = f"{label} (AUC {auc:.3f})" if math.isfinite(auc) else label
            ax.plot(curve.fpr, curve.tpr, drawstyle="default", label=text)
    ax.plot([0, 1], [0, 1], linestyle=":", color="grey", label="chance")
    ax.set_xlabel("false-positive rate (reals called fake)")
    ax.set_ylabel("true-positive rate (fakes caught)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("ROC")
    return _png(fig)


def histograms_png(
    histograms: Sequence[tuple[str, ScoreHistogram]], thresholds: dict[str, float]
) -> bytes:
    """Side-by-side real/fake score histograms with the threshold lines."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(histograms), figsize=(5 * len(histograms), 3.6), squeeze=False)
    for ax, (title, hist) in zip(axes[0], histograms, strict=True):
        widths = hist.edges[1:] - hist.edges[:-1]
        ax.bar(hist.edges[:-1], hist.real_counts, width=widths, align="edge", alpha=0.6,
               label="real", color="#2b8a3e")  # fmt: skip
        ax.bar(hist.edges[:-1], hist.fake_counts, width=widths, align="edge", alpha=0.6,
               label="fake", color="#c92a2a")  # fmt: skip
        for name, value in thresholds.items():
            ax.axvline(value, linestyle="--", color="black" if name == "fake" else "grey",
                       label=f"{name} >= {value:.2f}")  # fmt: skip
        ax.set_xlim(0, 1)
        ax.set_xlabel("calibrated fake score")
        ax.set_ylabel("count")
        ax.set_title(title)
        ax.legend(loc="upper right", fontsize=8)
    return _png(fig)


def perturbations_png(result: EvaluationResult) -> bytes:
    """Video-level AUC per perturbation kind against level, with the clean AUC as a line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    kinds: dict[str, list[tuple[int, float]]] = {}
    for p in result.perturbations:
        kinds.setdefault(p.kind, []).append((p.level, p.video_auc))
    for kind, points in kinds.items():
        levels, aucs = zip(*sorted(points), strict=True)
        ax.plot(levels, aucs, marker="o", label=kind)
    clean = result.overall.video.auc
    if math.isfinite(clean):
        ax.axhline(clean, linestyle="--", color="black", label=f"clean ({clean:.3f})")
    ax.set_xticks(sorted({p.level for p in result.perturbations}))
    ax.set_xlabel("level (1 = mildest)")
    ax.set_ylabel("video-level AUC")
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("Robustness")
    return _png(fig)


def figures_available() -> bool:
    """Whether matplotlib is installed (figures are skipped, with a note, when it is not)."""
    import importlib.util

    return importlib.util.find_spec("matplotlib") is not None


def render_figures(result: EvaluationResult) -> dict[str, bytes]:
    """File name -> PNG bytes of every figure the result supports ({} without matplotlib)."""
    if not figures_available():
        return {}
    thresholds = {
        "suspicious": result.spec.thresholds.suspicious,
        "fake": result.spec.thresholds.fake,
    }
    figures = {
        ROC_PNG: roc_png(
            [
                ("video", result.roc_video, result.overall.video.auc),
                ("frame", result.roc_frame, result.overall.frame.auc),
            ]
        ),
        HIST_PNG: histograms_png(
            [("per video", result.hist_video), ("per frame (crop)", result.hist_frame)], thresholds
        ),
    }
    if result.perturbations:
        figures[PERTURB_PNG] = perturbations_png(result)
    return figures


# --- HTML -------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.6em 0 1.4em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}
th:first-child,td:first-child{text-align:left}
th{background:#f3f3f3}
.note{color:#a15c00}
img{max-width:100%;border:1px solid #eee;margin:4px}
code{background:#f6f6f6;padding:1px 4px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _f(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "–"


def _metric_cells(m: BinaryMetrics) -> str:
    at = {t.name: t for t in m.at_thresholds}
    cells = [str(m.num_real), str(m.num_fake), _f(m.auc), _f(m.average_precision), _f(m.eer),
             _f(m.log_loss)]  # fmt: skip
    for name in ("suspicious", "fake"):
        t = at.get(name)
        cells += [_f(t.accuracy), _f(t.false_positive_rate)] if t else ["–", "–"]
    return "".join(f"<td>{c}</td>" for c in cells)


_METRIC_HEAD = (
    "<th>reals</th><th>fakes</th><th>AUC</th><th>AP</th><th>EER</th><th>log loss</th>"
    "<th>acc @susp.</th><th>FPR @susp.</th><th>acc @fake</th><th>FPR @fake</th>"
)


def _levels_table(rows: Sequence[tuple[str, LevelMetrics]]) -> str:
    body = []
    for name, metrics in rows:
        for level, m in (("video", metrics.video), ("frame", metrics.frame)):
            body.append(f"<tr><td>{_e(name)} · {level}</td>{_metric_cells(m)}</tr>")
    return f"<table><tr><th>subset</th>{_METRIC_HEAD}</tr>{''.join(body)}</table>"


def _breakdown_name(b: Breakdown) -> str:
    pooled = f" (with all {b.pooled})" if b.pooled else ""
    return f"{b.by}: {b.name}{pooled}"


def _protocol_section(table: ProtocolTable) -> str:
    """The leave-generator-out table: AUC and its bootstrap interval per medium, family and
    generator, and the shares of held-out reals and fakes at each verdict threshold."""
    rows = "".join(
        f"<tr><td>{_e(r.name)}</td><td>{_e(r.by)}</td><td>{r.num_real}</td>"
        f"<td>{r.num_fake}</td><td>{_f(r.auc)}</td><td>{_f(r.auc_low)}–{_f(r.auc_high)}</td>"
        f"<td>{_f(r.mean_fake_score)}</td></tr>"
        for r in table.rows
    )
    return (
        "<h2>Leave-generator-out (generators and people never trained on)</h2>"
        f"<p>Held-out files {_e(table.rates_text())}. The 95 % "
        "interval is a cluster bootstrap: reals resampled by person, fakes by generator.</p>"
        "<table><tr><th>subset</th><th>by</th><th>reals</th><th>fakes</th><th>AUC</th>"
        f"<th>95 % interval</th><th>mean fake score</th></tr>{rows}</table>"
    )


def _temporal_section(result: EvaluationResult) -> str:
    """What the temporal evidence did to the analyzer's video scores: AUC from the frame
    scores alone and with the temporal model, the paired change and its interval."""
    effect = result.temporal_effect
    assert effect is not None
    rows = "".join(
        f"<tr><td>{_e(r.name)}</td><td>{r.num_real}</td><td>{r.num_fake}</td>"
        f"<td>{_f(r.baseline_auc)}</td><td>{_f(r.new_auc)}</td><td>{r.difference:+.3f} "
        f"[{r.low:+.3f}, {r.high:+.3f}]</td><td>{_e(r.verdict)}</td></tr>"
        for r in effect.rows
    )
    return (
        "<h2>Temporal evidence</h2>"
        f"<p>The same {effect.matched} videos' verdicts from the {_e(effect.baseline)} and "
        f"combined with the temporal model {_e(result.temporal_model)}; the interval is a "
        "paired cluster bootstrap (reals by person, fakes by generator).</p>"
        "<table><tr><th>subset</th><th>reals</th><th>fakes</th><th>frame alone</th>"
        f"<th>with temporal</th><th>change [95 %]</th><th>verdict</th></tr>{rows}</table>"
    )


def _img(name: str, data: bytes) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{_e(name)}" src="data:image/png;base64,{encoded}">'


VIDEO_SCORE_WORDS = {
    "crops": "evenly spaced crops of the largest face",
    "analyzer": "the analyzer's verdicts",
}


def evaluation_to_html(result: EvaluationResult, figures: dict[str, bytes]) -> str:
    spec = result.spec
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>Evaluation of {_e(spec.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Evaluation of <code>{_e(spec.name)}</code></h1>",
        f"<p>{_e(result.created_utc)} · data: {', '.join(_e(d) for d in result.data)} · "
        f"{result.num_items} files, {len(result.videos)} with faces · "
        f"thresholds suspicious {spec.thresholds.suspicious:.4f}, fake "
        f"{spec.thresholds.fake:.4f} · calibration {_e(spec.calibration.method)} · video "
        f"scores from {_e(VIDEO_SCORE_WORDS.get(result.video_scores, result.video_scores))}"
        + (f" · temporal model {_e(result.temporal_model)}" if result.temporal_model else "")
        + "</p>",
    ]
    for note in result.warnings:
        parts.append(f"<p class='note'>{_e(note)}</p>")
    if not figures:
        parts.append(
            "<p class='note'>No figures: install matplotlib (pip install "
            "'deepfake-analyzer[train]') to draw the ROC curves and histograms.</p>"
        )
    if result.calibration is not None:
        c = result.calibration
        parts.append(
            "<h2>Calibration</h2>"
            f"<p>{_e(c.calibration.method)} fit on {c.num_real} real and {c.num_fake} fake crops "
            f"of held-apart identities; log loss {_f(c.log_loss_before)} → "
            f"{_f(c.log_loss_after)}. Thresholds for false-positive rates "
            f"{c.threshold_choice.suspicious_fpr_target:.0%} / "
            f"{c.threshold_choice.fake_fpr_target:.0%} on {c.threshold_choice.num_real} reals: "
            f"suspicious {c.threshold_choice.thresholds.suspicious:.4f}, fake "
            f"{c.threshold_choice.thresholds.fake:.4f}. Figures below are on the other "
            "identities.</p>"
        )
    parts.append("<h2>Overall</h2>")
    parts.append(_levels_table([("all", result.overall)]))
    raised = next((t.raised for t in result.overall.video.at_thresholds), 0)
    if raised:
        parts.append(
            f"<p>Video rows read {raised} file{'s' if raised != 1 else ''} whose verdict "
            "weighed several faces at the thresholds raised for that many faces, as the "
            "analyzer's verdict does.</p>"
        )
    if result.protocol is not None:
        parts.append(_protocol_section(result.protocol))
    if result.temporal_effect is not None:
        parts.append(_temporal_section(result))
    if ROC_PNG in figures:
        parts.append(_img("ROC curves", figures[ROC_PNG]))
    if HIST_PNG in figures:
        parts.append(_img("score histograms", figures[HIST_PNG]))
    if result.breakdowns:
        parts.append("<h2>Per dataset and per manipulation method</h2>")
        parts.append(_levels_table([(_breakdown_name(b), b.metrics) for b in result.breakdowns]))
    if result.perturbations:
        parts.append("<h2>Robustness to perturbations</h2>")
        rows = "".join(
            f"<tr><td>{_e(p.description)}</td><td>{_f(p.video_auc)}</td>"
            f"<td>{_f(p.video_auc_drop)}</td><td>{_f(p.frame_auc)}</td>"
            f"<td>{_f(p.frame_auc_drop)}</td></tr>"
            for p in result.perturbations
        )
        parts.append(
            "<table><tr><th>perturbation</th><th>video AUC</th><th>drop</th><th>frame AUC</th>"
            f"<th>drop</th></tr>{rows}</table>"
        )
        if PERTURB_PNG in figures:
            parts.append(_img("robustness", figures[PERTURB_PNG]))
    worst = sorted(result.videos, key=lambda v: -abs(v.label - v.score))[:20]
    if worst:
        parts.append("<h2>Largest errors</h2>")
        rows = "".join(
            f"<tr><td>{_e(v.source)}</td><td>{'fake' if v.label else 'real'}</td>"
            f"<td>{_e(v.dataset)}</td><td>{_e(v.method)}</td><td>{v.num_crops}</td>"
            f"<td>{_f(v.score)}</td></tr>"
            for v in worst
        )
        parts.append(
            "<table><tr><th>file</th><th>label</th><th>dataset</th><th>method</th><th>crops</th>"
            f"<th>score</th></tr>{rows}</table>"
        )
    if result.items_without_faces:
        parts.append(
            f"<h2>Files without a face ({len(result.items_without_faces)})</h2><p>"
            + "<br>".join(_e(p) for p in result.items_without_faces[:200])
            + "</p>"
        )
    timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings_s.items())
    parts.append(f"<p>model sha256 {_e(result.model_sha256[:16])}… · {_e(timings)}</p>")
    parts.append("</body></html>\n")
    return "".join(parts)


def write_evaluation_report(
    result: EvaluationResult, output_dir: Path, overwrite: bool = False
) -> dict[str, Path]:
    """Write JSON, PNGs and HTML into `output_dir`; refuse to replace files unless `overwrite`.

    Returns file kind ('json', 'html', 'roc', ...) -> path.
    """
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(
            f"output {output_dir} exists and is not a folder: choose another `output_dir`",
            option="output_dir",
        )
    figures = render_figures(result)
    contents: dict[Path, bytes] = {output_dir / JSON_NAME: evaluation_to_json(result).encode()}
    contents.update({output_dir / name: data for name, data in figures.items()})
    contents[output_dir / HTML_NAME] = evaluation_to_html(result, figures).encode("utf-8")
    if not overwrite:
        for target in contents:
            if target.exists():
                raise OutputExistsError(
                    "evaluation report already exists; pass `overwrite` or choose another "
                    "`output_dir`",
                    target,
                    option=("overwrite", "output_dir"),
                )
    output_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for target, data in contents.items():
        target.write_bytes(data)
        written[target.stem if target.suffix == ".png" else target.suffix[1:]] = target
    return written
