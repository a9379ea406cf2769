"""The HTML report: one self-contained file (inline CSS and SVG, data-URI images, no network)."""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.provenance.types import C2PA_STATUS_MEANING, describe_source
from deepfake_analyzer.report.types import (
    SCHEMA_VERSION,
    Report,
    TemporalEvidence,
    Thumbnail,
    Track,
    gap_breaks,
)
from deepfake_analyzer.scoring.aggregate import shifted

LABEL_COLORS = {
    "real": "#2e7d32",
    "suspicious": "#e08600",
    "fake": "#c62828",
    "no-face": "#616161",
}
THUMBNAILS_PER_GROUP = 4
INPUT_META = "deepfake-analyzer-input"
"""The `<meta name=...>` that names the input: a rerun replaces only its own report."""
MAX_MARKERS = 300
"""Above this many points a timeline draws only its line, not one marker per point."""

CHART_W, CHART_H = 760, 210
PAD_L, PAD_R, PAD_T, PAD_B = 52, 92, 14, 40

_CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;
 margin:0;background:#f5f5f7}
main{max-width:980px;margin:0 auto;padding:20px}
h1{font-size:20px;margin:0 0 12px;word-break:break-all}
h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:14px 0 4px}
.banner{color:#fff;border-radius:10px;padding:16px 20px;margin:0 0 16px}
.banner .label{font-size:28px;font-weight:700;letter-spacing:.04em;text-transform:uppercase}
.banner .why{opacity:.95}
.card{background:#fff;border-radius:10px;padding:12px 16px;margin:8px 0;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;color:#555}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;
 word-break:break-all}
.pill{display:inline-block;color:#fff;border-radius:999px;padding:0 8px;font-size:12px;
 font-weight:600}
.thumbs{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;background:#fff;border-radius:8px;padding:8px;width:min-content;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
figure .pair{display:flex;gap:4px}
figure img{width:128px;height:128px;object-fit:cover;border-radius:4px;display:block}
figcaption{font-size:12px;color:#444;margin-top:4px}
svg{max-width:100%;height:auto;background:#fff}
svg.timeline{width:100%;display:block}
svg.gauge{background:none;vertical-align:middle}
table.sub th,table.sub td{padding:1px 6px;font-size:12px}
.muted{color:#777}
.bar{background:#4a6fa5;height:10px;border-radius:2px}
ul.msgs{margin:4px 0;padding-left:20px}
footer{margin-top:32px;font-size:12px;color:#777}
"""


def e(value: Any) -> str:
    """HTML-escape any value for text and attributes (quotes included, bad bytes replaced)."""
    text = "" if value is None else str(value)
    text = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
    return html.escape(text, quote=True)


def report_to_html(report: Report) -> str:
    """Render the whole report as one HTML document."""
    title = f"Deepfake analysis: {Path(report.input.path).name or report.input.path}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Names the input, so a rerun recognises (and replaces) its own report: ownership.py
        f'<meta name="generator" content="deepfake-analyzer {e(report.analyzer_version)}">',
        f'<meta name="{INPUT_META}" content="{e(report.input.path)}">',
        # No network at all: images only from data: URIs, styles only inline.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body><main>",
        f"<h1>{e(title)}</h1>",
        _banner(report),
        _input_section(report),
        _provenance_section(report),
        _timelines_section(report),
        _thumbnails_section(report),
        _tracks_section(report),
        _messages_section(report),
        _model_section(report),
        _timings_section(report),
        _options_section(report),
        _footer(report),
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def html_bytes(text: str) -> bytes:
    return text.encode("utf-8")


# --- sections -------------------------------------------------------------------------------


def _pill(label: str) -> str:
    color = LABEL_COLORS.get(label, "#616161")
    return f'<span class="pill" style="background:{color}">{e(label)}</span>'


def _thresholds(report: Report) -> tuple[float, float]:
    return report.model.suspicious_threshold, report.model.fake_threshold


def _banner(report: Report) -> str:
    verdict = report.verdict
    color = LABEL_COLORS.get(verdict.label, "#616161")
    suspicious, fake = _thresholds(report)
    if verdict.label == "no-face" or verdict.score is None:
        sampled = len(report.frames)
        why = (
            f"No face was found in {sampled} sampled frame{'s' if sampled != 1 else ''}: "
            "there is nothing to score."
        )
    else:
        decisive = verdict.track_id  # scoring names the track its verdict follows
        who = "" if decisive is None else f" (track {decisive}, the most suspicious person)"
        raised = ""
        if verdict.raised is not None:
            raised = (
                f" With {verdict.raised.faces} faces to choose from, it reads thresholds raised "
                f"from the model's ({suspicious:.2f}, {fake:.2f}) so that a real video of "
                f"{verdict.raised.faces} people reaches them about as rarely as one of one "
                "person reaches the model's."
            )
            suspicious, fake = verdict.raised.suspicious, verdict.raised.fake
        why = (
            f"<strong>{score_meaning(verdict.score, suspicious, fake)}</strong> "
            f"{gauge_svg(verdict.score, suspicious, fake)}<br>"
            f"The verdict follows the most suspicious face track{who}; "
            f"{len(report.tracks)} track{'s' if len(report.tracks) != 1 else ''} analysed."
            f"{raised}"
        )
    note = report.trust_note()
    trust = f'<div class="why trust">How far to trust it: {e(note)}</div>' if note else ""
    return (
        f'<section class="banner" style="background:{color}">'
        f'<div class="label">{e(verdict.label)}</div>'
        f'<div class="why">{why}</div>'
        '<div class="why">A score is the model\'s estimate that a face is manipulated; '
        f"it is evidence to weigh, not proof.</div>{trust}</section>"
    )


def score_meaning(score: float, suspicious: float, fake: float) -> str:
    """What a score means against the model's thresholds, in words."""
    if score >= fake:
        return f"Score {score:.3f}: at or above the fake threshold ({fake:.2f})."
    if score >= suspicious:
        return (
            f"Score {score:.3f}: at or above the suspicious threshold ({suspicious:.2f}), "
            f"below the fake threshold ({fake:.2f})."
        )
    return (
        f"Score {score:.3f}: below the suspicious threshold ({suspicious:.2f}; fake from "
        f"{fake:.2f})."
    )


def gauge_svg(score: float, suspicious: float, fake: float, width: int = 240) -> str:
    """A 0-1 bar in the verdict colours (real, suspicious, fake zones) with the score marked."""
    zones = [(0.0, suspicious, "real"), (suspicious, fake, "suspicious"), (fake, 1.0, "fake")]
    rects = "".join(
        f'<rect x="{lo * width:.1f}" y="3" width="{(hi - lo) * width:.1f}" height="10" '
        f'fill="{LABEL_COLORS[label]}" stroke="#fff" stroke-width="1"/>'
        for lo, hi, label in zones
    )
    mark = min(max(score, 0.0), 1.0) * width
    return (
        f'<svg class="gauge" viewBox="-4 0 {width + 8} 16" width="{width + 8}" height="16" '
        f'role="img" aria-label="score {score:.3f} on a 0 to 1 scale">{rects}'
        f'<rect x="{mark - 2:.1f}" y="0" width="4" height="16" fill="#111"/></svg>'
    )


def _input_section(report: Report) -> str:
    inp = report.input
    faces = sum(len(f.faces) for f in report.frames)
    with_faces = sum(1 for f in report.frames if f.faces)
    rows = [
        ("File", f'<span class="mono">{e(inp.path)}</span>'),
        ("Kind", e(inp.kind)),
        ("Size", f"{inp.width} &times; {inp.height} px"),
    ]
    if inp.kind == "video":
        rows.append(("Duration", f"{inp.duration_s:.2f} s"))
    rows.append(
        (
            "Sampled frames",
            f"{len(report.frames)} ({with_faces} with faces, "
            f"{faces} face{'s' if faces != 1 else ''} in all)",
        )
    )
    if inp.sha256:
        rows.append(("SHA-256", f'<span class="mono">{e(inp.sha256)}</span>'))
    return "<h2>Input</h2>" + _kv_table(rows)


def _timelines_section(report: Report) -> str:
    if not report.tracks:
        return ""
    if report.input.kind == "image":
        return _image_faces_section(report)
    suspicious, fake = _thresholds(report)
    end_s = max([report.input.duration_s] + [t.last_s for t in report.tracks])
    charts = []
    for track in report.tracks:
        head = (
            f"<h3>Track {track.id} {_pill(track.verdict.label)} "
            f'<span class="muted">score {_fmt_score(track.verdict.score)}, '
            f"{len(track.timeline)} face{'s' if len(track.timeline) != 1 else ''}</span></h3>"
        )
        charts.append(
            f'<div class="card">{head}{temporal_line(track)}{texture_line(track)}'
            f"{members_line(track)}"
            f"{timeline_svg(track, end_s, suspicious, fake)}</div>"
        )
    return "<h2>Timelines</h2>" + "".join(charts)


TEMPORAL_COLOR = "#2b6cb0"
TEXTURE_COLOR = "#805ad5"


def members_line(track: Track) -> str:
    """One line saying how far each member of a blended model pushed the track (its mean
    evidence over the faces behind the track score, calibrated log-odds); "" for one model."""
    if not track.members:
        return ""
    parts = " &middot; ".join(f"{e(name)} <b>{value:+.2f}</b>" for name, value in track.members)
    return (
        f'<p class="members">Model members (log-odds each adds to the face score; + toward '
        f"fake, &minus; toward real): {parts}</p>"
    )


def temporal_line(track: Track) -> str:
    """One line saying what the temporal (face-mesh motion) model said about the track."""
    ev = track.temporal
    if ev is None:
        return ""
    if ev.score is None:
        said = f"no score ({e(ev.message or ev.reason)})"
    else:
        read = f"{ev.score:.3f} over {ev.frames} frames{_span_note(ev)}{_windows_note(ev)}"
        said = (
            f"{read}; track score {ev.frame_score:.3f} from the face crops alone, "
            f"{ev.track_score:.3f} combined"
            if ev.combined
            else f"{read} (reported only; the track score is the face crops' {ev.frame_score:.3f})"
        )
    return (
        f'<p class="temporal"><span style="color:{TEMPORAL_COLOR}">&#9473;</span> '
        f"Temporal evidence (face-mesh motion): {said}</p>"
    )


def texture_line(track: Track) -> str:
    """One line saying what the model's track head (texture statistics over the whole track)
    added to the track score; "" for a model without one."""
    ev = track.texture
    if ev is None:
        return ""
    if ev.shift is None:
        said = (
            f"not added: {ev.faces} face{'s' if ev.faces != 1 else ''}, too few for a reading "
            "over the track"
        )
    else:
        toward = "fake" if ev.shift > 0 else "real"
        said = (
            f"<b>{ev.shift:+.2f}</b> log-odds toward {toward}, read over {ev.faces} faces; "
            f"track score {ev.before:.3f} without it, {ev.track_score:.3f} with it"
        )
    return (
        f'<p class="texture"><span style="color:{TEXTURE_COLOR}">&#9473;</span> '
        f"Texture over the track: {said}</p>"
    )


def texture_curve(track: Track) -> list[tuple[float, float]]:
    """(time, score) points of the track score as the track head's evidence accumulates: at
    each face, the score before it shifted by the mean of the faces' values up to there, so
    the curve ends at the track's score; [] when nothing was added."""
    ev = track.texture
    if ev is None or ev.shift is None:
        return []
    values = np.array([p.texture or 0.0 for p in track.timeline], np.float64)
    scores = shifted(ev.before, np.cumsum(values) / np.arange(1, len(values) + 1))
    return [(pt.timestamp_s, float(s)) for pt, s in zip(track.timeline, scores, strict=True)]


def _span_note(ev: TemporalEvidence) -> str:
    """The seconds the motion model read (at the default rate, the dense window's part of the
    track: `--temporal-seconds`)."""
    if not ev.windows:
        return ""
    start, end = min(w.start_s for w in ev.windows), max(w.end_s for w in ev.windows)
    return f" from {start:.1f} to {end:.1f} s"


def _windows_note(ev: TemporalEvidence) -> str:
    if len(ev.windows) < 2:
        return ""
    low, high = min(w.score for w in ev.windows), max(w.score for w in ev.windows)
    return f" (mean of {len(ev.windows)} windows, {low:.3f}-{high:.3f})"


def timeline_svg(track: Track, end_s: float, suspicious: float, fake: float) -> str:
    """One track's score over time as inline SVG, with threshold lines and shaded segments."""
    x_lo, x_hi = PAD_L, CHART_W - PAD_R
    y_lo, y_hi = CHART_H - PAD_B, PAD_T
    times = np.array([p.timestamp_s for p in track.timeline], dtype=np.float64)
    scores = np.array([p.score for p in track.timeline], dtype=np.float64)
    single = end_s <= 0  # an image, or a clip whose only faces are at t = 0

    def x(t: float) -> float:
        if single:
            return (x_lo + x_hi) / 2
        return x_lo + (x_hi - x_lo) * min(max(t / end_s, 0.0), 1.0)

    def y(s: float) -> float:
        return y_lo + (y_hi - y_lo) * s

    out = [
        f'<svg viewBox="0 0 {CHART_W} {CHART_H}" '
        f'class="timeline" role="img" '
        f'aria-label="score timeline of track {track.id}">',
        f"<title>Track {track.id}: manipulation probability over time</title>",
    ]
    # Shaded suspicious segments (a one-point segment still gets a visible band).
    for seg in track.segments:
        x0, x1 = x(seg.start_s), x(seg.end_s)
        if x1 - x0 < 6:
            mid = (x0 + x1) / 2
            x0, x1 = max(x_lo, mid - 3), min(x_hi, mid + 3)
        out.append(
            f'<rect x="{x0:.1f}" y="{y_hi}" width="{x1 - x0:.1f}" height="{y_lo - y_hi}" '
            f'fill="{LABEL_COLORS["fake"]}" fill-opacity="0.13">'
            f"<title>suspicious {seg.start_s:.2f}-{seg.end_s:.2f} s, peak {seg.peak:.3f} "
            f"at {seg.peak_s:.2f} s</title></rect>"
        )
    # Axes, grid and ticks.
    for s in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(
            f'<line x1="{x_lo}" x2="{x_hi}" y1="{y(s):.1f}" y2="{y(s):.1f}" '
            f'stroke="#e6e6e6" stroke-width="1"/>'
            f'<text x="{x_lo - 6}" y="{y(s) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="#555">{s:g}</text>'
        )
    out.append(
        f'<line x1="{x_lo}" x2="{x_lo}" y1="{y_lo}" y2="{y_hi}" stroke="#888"/>'
        f'<line x1="{x_lo}" x2="{x_hi}" y1="{y_lo}" y2="{y_lo}" stroke="#888"/>'
    )
    if single:
        out.append(
            f'<text x="{(x_lo + x_hi) / 2:.1f}" y="{y_lo + 16}" font-size="11" '
            f'text-anchor="middle" fill="#555">single frame</text>'
        )
    else:
        for tick in nice_ticks(end_s):
            out.append(
                f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{y_lo}" y2="{y_lo + 4}" '
                f'stroke="#888"/><text x="{x(tick):.1f}" y="{y_lo + 16}" font-size="11" '
                f'text-anchor="middle" fill="#555">{_fmt_tick(tick)}</text>'
            )
        out.append(
            f'<text x="{(x_lo + x_hi) / 2:.1f}" y="{CHART_H - 6}" font-size="11" '
            f'text-anchor="middle" fill="#333">time (s)</text>'
        )
    out.append(
        f'<text transform="translate(13 {(y_lo + y_hi) / 2:.1f}) rotate(-90)" font-size="11" '
        f'text-anchor="middle" fill="#333">P(manipulated)</text>'
    )
    # Threshold lines.
    for name, value, color in (
        ("suspicious", suspicious, LABEL_COLORS["suspicious"]),
        ("fake", fake, LABEL_COLORS["fake"]),
    ):
        out.append(
            f'<line x1="{x_lo}" x2="{x_hi}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{color}" stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{x_hi + 6}" y="{y(value) + 4:.1f}" font-size="11" fill="{color}">'
            f"{name} {value:.2f}</text>"
        )
    # The temporal model's scores: one dotted line per scored window, across its time.
    if track.temporal is not None and track.temporal.score is not None and not single:
        spans = [(w.start_s, w.end_s, w.score) for w in track.temporal.windows] or [
            (track.first_s, track.last_s, track.temporal.score)
        ]
        for start_s, end_s, value in spans:
            out.append(
                f'<line x1="{x(start_s):.1f}" x2="{x(end_s):.1f}" '
                f'y1="{y(value):.1f}" y2="{y(value):.1f}" stroke="{TEMPORAL_COLOR}" '
                f'stroke-width="2" stroke-dasharray="2 3"><title>temporal (face-mesh motion) '
                f"score {value:.3f}, {start_s:.2f}-{end_s:.2f} s</title></line>"
            )
    # The track score as the track head's evidence accumulates (texture over the track).
    curve = texture_curve(track)
    if len(curve) > 1:
        pts = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in curve)
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{TEXTURE_COLOR}" stroke-width="1.5" '
            f'stroke-dasharray="5 3"><title>track score with the texture over the track read '
            f"so far; {curve[-1][1]:.3f} at the end</title></polyline>"
        )
    # The score line, broken at gaps, then one marker per point.
    for piece in gap_breaks(times):
        pts = " ".join(
            f"{x(t):.1f},{y(s):.1f}" for t, s in zip(times[piece], scores[piece], strict=True)
        )
        if (piece.stop - piece.start) > 1:
            out.append(f'<polyline points="{pts}" fill="none" stroke="#333" stroke-width="1.5"/>')
    if len(track.timeline) <= MAX_MARKERS:
        for p in track.timeline:
            color = _score_color(p.score, suspicious, fake)
            out.append(
                f'<circle cx="{x(p.timestamp_s):.1f}" cy="{y(p.score):.1f}" r="3.5" '
                f'fill="{color}"><title>{p.timestamp_s:.2f} s, frame {p.frame_index}, '
                f"score {p.score:.3f}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)


def nice_ticks(end_s: float, target: int = 8) -> list[float]:
    """Round tick positions (1, 2 or 5 x 10^k seconds) from 0 to `end_s`."""
    if end_s <= 0:
        return [0.0]
    raw = end_s / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    count = int(math.floor(end_s / step + 1e-9))
    return [round(i * step, 6) for i in range(count + 1)]


def _fmt_tick(t: float) -> str:
    return f"{t:g} s"


def _score_color(score: float, suspicious: float, fake: float) -> str:
    if score >= fake:
        return LABEL_COLORS["fake"]
    if score >= suspicious:
        return LABEL_COLORS["suspicious"]
    return LABEL_COLORS["real"]


def pick_thumbnails(
    thumbnails: tuple[Thumbnail, ...], per_group: int = THUMBNAILS_PER_GROUP
) -> tuple[list[Thumbnail], list[Thumbnail]]:
    """The most suspicious crops (highest first) and, disjoint from them, the least (lowest).

    With few crops the upper half counts as "most" and the lower half as "least".
    """
    ordered = sorted(thumbnails, key=lambda t: (-t.score, t.timestamp_s, t.track_id))
    n_most = min(per_group, math.ceil(len(ordered) / 2))
    most = ordered[:n_most]
    rest = ordered[n_most:]
    least = list(reversed(rest))[:per_group]
    return most, least


def _figure(thumb: Thumbnail) -> str:
    crop = base64.b64encode(thumb.jpeg).decode("ascii")
    caption = (
        f"track {thumb.track_id} &middot; {thumb.timestamp_s:.2f} s &middot; "
        f"frame {thumb.frame_index} &middot; score {thumb.score:.3f}"
    )
    imgs = [
        f'<img src="data:image/jpeg;base64,{crop}" '
        f'alt="face crop, track {thumb.track_id} at {thumb.timestamp_s:.2f} s">'
    ]
    if thumb.heatmap_jpeg:
        heat = base64.b64encode(thumb.heatmap_jpeg).decode("ascii")
        imgs.append(
            f'<img src="data:image/jpeg;base64,{heat}" '
            f'alt="Grad-CAM heatmap, track {thumb.track_id} at {thumb.timestamp_s:.2f} s">'
        )
        caption += " &middot; right: Grad-CAM (where the model looked)"
    pair = "".join(imgs)
    return f'<figure><div class="pair">{pair}</div><figcaption>{caption}</figcaption></figure>'


def _image_faces_section(report: Report) -> str:
    """An image has no timeline: each face's crop (with its heatmap) beside its score."""
    suspicious, fake = _thresholds(report)
    crops = {}
    for thumb in sorted(report.thumbnails, key=lambda t: t.score):
        crops[thumb.track_id] = thumb  # the track's most suspicious crop
    cards = []
    for track in report.tracks:
        figure = _figure(crops[track.id]) if track.id in crops else ""
        score = track.verdict.score
        meaning = "" if score is None else e(score_meaning(score, suspicious, fake))
        cards.append(
            f'<div class="card face"><h3>Face {track.id} {_pill(track.verdict.label)}</h3>'
            f'<div class="thumbs">{figure}<p>{meaning}</p></div>{members_line(track)}</div>'
        )
    return "<h2>Faces</h2>" + "".join(cards)


def _thumbnails_section(report: Report) -> str:
    if not report.thumbnails or report.input.kind == "image":
        return ""  # an image's crops are in its Faces section
    most, least = pick_thumbnails(report.thumbnails)
    out = ["<h2>Face crops</h2>", "<h3>Most suspicious</h3>", '<div class="thumbs">']
    out += [_figure(t) for t in most]
    out.append("</div>")
    if least:
        out += ["<h3>Least suspicious</h3>", '<div class="thumbs">']
        out += [_figure(t) for t in least]
        out.append("</div>")
    return "".join(out)


def _tracks_section(report: Report) -> str:
    if not report.tracks:
        return "<h2>Tracks</h2><p class='muted'>No face tracks.</p>"
    rows = []
    for t in report.tracks:
        segments = (
            ", ".join(
                f"{s.start_s:.2f}&ndash;{s.end_s:.2f} s (peak {s.peak:.2f} at {s.peak_s:.2f} s)"
                for s in t.segments
            )
            or '<span class="muted">none</span>'
        )
        seen = (
            "&ndash;" if report.input.kind == "image" else f"{t.first_s:.2f}&ndash;{t.last_s:.2f} s"
        )
        rows.append(
            f"<tr><td class='num'>{t.id}</td><td>{_pill(t.verdict.label)}</td>"
            f"<td class='num'>{_fmt_score(t.verdict.score)}</td>"
            f"<td class='num'>{seen}</td>"
            f"<td class='num'>{len(t.timeline)}</td><td>{segments}</td></tr>"
        )
    return (
        "<h2>Tracks</h2><div class='card'><table><thead><tr><th class='num'>Track</th>"
        "<th>Verdict</th><th class='num'>Score</th><th class='num'>Seen</th>"
        "<th class='num'>Faces</th><th>Suspicious segments</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _messages_section(report: Report) -> str:
    out = []
    if report.errors:
        items = "".join(f"<li>{e(m)}</li>" for m in report.errors)
        out.append(f"<h2>Errors</h2><div class='card'><ul class='msgs'>{items}</ul></div>")
    if report.warnings:
        items = "".join(f"<li>{e(m)}</li>" for m in report.warnings)
        out.append(f"<h2>Warnings</h2><div class='card'><ul class='msgs'>{items}</ul></div>")
    return "".join(out)


PROVENANCE_COLORS = {"trusted": "#2e7d32", "valid": "#2e7d32", "invalid": "#c62828",
                     "unreadable": "#e08600"}  # fmt: skip
PROVENANCE_NOTE = (
    "Evidence beside the model's verdict, never part of its score. A valid C2PA signature "
    "shows who signed the manifest and that the file has not changed since; what the manifest "
    "says (its digital source type) is that signer's claim. Unsigned labels (EXIF, XMP, "
    "container tags) can be written or stripped by anyone, and most files carry none: their "
    "absence says nothing about the file."
)


def _provenance_section(report: Report) -> str:
    prov = report.provenance
    c2pa, meta = prov.c2pa, prov.metadata
    color = PROVENANCE_COLORS.get(c2pa.status, "#616161")
    rows = [
        (
            "C2PA",
            f'<span class="pill" style="background:{color}">{e(c2pa.status)}</span> '
            f"{e(C2PA_STATUS_MEANING[c2pa.status])}",
        )
    ]
    for name, value in (
        ("Signed by", " / ".join(v for v in (c2pa.signer, c2pa.issuer) if v)),
        ("Signed at", c2pa.signed_utc),
        ("Claim generator", c2pa.claim_generator),
        ("Actions", ", ".join(c2pa.actions)),
        ("Digital source (C2PA)", ", ".join(describe_source(v) for v in c2pa.digital_source_types)),
        ("Problems", "; ".join(c2pa.problems)),
        ("Digital source (XMP)", ", ".join(describe_source(v) for v in meta.digital_source_types)),
        ("Camera", " ".join(v for v in (meta.camera_make, meta.camera_model) if v)),
        ("Software", meta.software),
        ("Creator tool (XMP)", meta.creator_tool),
        ("Encoder (container)", meta.encoder),
        ("Created", meta.created),
        ("Could not read", "; ".join(prov.errors)),
    ):
        if value:
            rows.append((name, e(value)))
    return (
        "<h2>Provenance</h2>"
        f"<p><strong>{e(prov.summary())}</strong></p>"
        f'<p class="muted">{e(PROVENANCE_NOTE)}</p>' + _kv_table(rows)
    )


def _views_text(count: int) -> str:
    if count == 1:
        return "1 (the crop as detected)"
    return (
        f"{count}: a photo's face is scored through all of them (mean log-odds), a video's "
        "faces go round them along each track"
    )


def _model_section(report: Report) -> str:
    m = report.model
    rows = [
        ("Name", e(m.name)),
        ("Weights SHA-256", f'<span class="mono">{e(m.sha256) or "&ndash;"}</span>'),
        ("Input size", f"{m.input_size} px"),
        ("Views per face", _views_text(m.views)),
    ]
    if m.thresholds:
        rows.append(
            (
                "Thresholds",
                ", ".join(f"{e(k)} &ge; {_fmt_value(v)}" for k, v in m.thresholds.items()),
            )
        )
    for key, value in m.provenance.items():
        rows.append((f"Training: {e(key)}", _value_table(value)))
    return "<h2>Model</h2>" + _kv_table(rows)


def _timings_section(report: Report) -> str:
    if not report.timings_s:
        return ""
    values = {k: float(v) for k, v in report.timings_s.items() if _finite(v)}
    total = values.get("total", sum(v for k, v in values.items() if k != "total"))
    longest = max(values.values(), default=0.0) or 1.0
    rows = []
    for stage, seconds in values.items():
        width = 100.0 * seconds / longest
        rows.append(
            f"<tr><td>{e(stage)}</td><td class='num'>{seconds:.3f} s</td>"
            f"<td style='width:50%'><div class='bar' style='width:{width:.1f}%'></div></td></tr>"
        )
    if "total" not in values:
        rows.append(f"<tr><th>total</th><th class='num'>{total:.3f} s</th><td></td></tr>")
    return (
        "<h2>Stage timings</h2><div class='card'><table><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _options_section(report: Report) -> str:
    if not report.options:
        return ""
    rows = [(e(k), _fmt_value(v)) for k, v in report.options.items()]
    return "<h2>Options</h2>" + _kv_table(rows)


def _footer(report: Report) -> str:
    bits = [f"report schema {e(SCHEMA_VERSION)}"]
    if report.analyzer_version:
        bits.insert(0, f"deepfake-analyzer {e(report.analyzer_version)}")
    if report.created_utc:
        bits.append(f"created {e(report.created_utc)}")
    return f"<footer>{' &middot; '.join(bits)}</footer>"


def _kv_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th style='width:28%'>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<div class='card'><table><tbody>{body}</tbody></table></div>"


def _fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return e(f"{value:.4g}")
    if isinstance(value, str | int | bool) or value is None:
        return e(value)
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = str(value)
    return f'<span class="mono">{e(text)}</span>'


def _value_table(value: Any, depth: int = 0) -> str:
    """A nested value as nested tables (dicts), comma lists (flat lists) or plain values."""
    if isinstance(value, dict) and value and depth < 4:
        body = "".join(
            f"<tr><th>{e(k)}</th><td>{_value_table(v, depth + 1)}</td></tr>"
            for k, v in value.items()
        )
        return f'<table class="sub"><tbody>{body}</tbody></table>'
    if isinstance(value, list | tuple) and all(
        isinstance(v, str | int | float | bool) or v is None for v in value
    ):
        return ", ".join(_fmt_value(v) for v in value) or "&ndash;"
    if isinstance(value, list | tuple) and depth < 4:
        return "".join(_value_table(v, depth + 1) for v in value)
    return _fmt_value(value)


def _fmt_score(score: float | None) -> str:
    return "&ndash;" if score is None else f"{score:.3f}"


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False
