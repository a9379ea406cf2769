"""The JSON report: `Report.to_dict` as strict JSON (schema in docs/report-schema.md), and back."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from deepfake_analyzer.provenance.types import provenance_from_dict
from deepfake_analyzer.report.types import (
    SCHEMA_VERSION,
    FaceResult,
    FrameResult,
    InputSummary,
    Members,
    ModelSummary,
    RaisedThresholds,
    Report,
    Segment,
    TemporalEvidence,
    TemporalWindow,
    Track,
    TrackPoint,
    TrackTexture,
    Verdict,
)


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-safe values: non-finite floats become null."""
    data: dict[str, Any] = _finite(report.to_dict())
    return data


def report_to_json(report: Report, indent: int | None = 2) -> str:
    """The report as a JSON document (ASCII-only, so any file name survives any encoding)."""
    return json.dumps(report_to_dict(report), indent=indent, allow_nan=False) + "\n"


def write_json(report: Report, path: Path | str) -> Path:
    """Write the JSON report to `path` (plain write; `writers.write_reports` adds atomicity)."""
    path = Path(path)
    path.write_text(report_to_json(report), encoding="ascii")
    return path


def report_from_dict(data: dict[str, Any]) -> Report:
    """Rebuild a `Report` from its JSON form; track timelines are rebuilt from `frames`.

    Thumbnails are not stored in JSON and come back empty. Raises ValueError when the
    document is not a report of a schema version this code reads (same major version).
    """
    version = str(data.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        raise ValueError(
            f"report schema version {version!r} is not readable by this analyzer "
            f"(reads {SCHEMA_VERSION.split('.')[0]}.x)"
        )
    frames = tuple(
        FrameResult(
            index=int(f["index"]),
            timestamp_s=float(f["timestamp_s"]),
            faces=tuple(
                FaceResult(
                    track_id=int(face["track_id"]),
                    box_xyxy=tuple(float(v) for v in face["box_xyxy"]),  # type: ignore[arg-type]
                    score=float(face["score"]),
                    detection_confidence=float(face.get("detection_confidence") or 0.0),
                    members=_members(face.get("members")),
                    texture=_number(face.get("texture")),
                )
                for face in f.get("faces", [])
            ),
        )
        for f in data.get("frames", [])
    )
    timelines: dict[int, list[TrackPoint]] = {}
    for frame in frames:
        for face in frame.faces:
            timelines.setdefault(face.track_id, []).append(
                TrackPoint(frame.index, frame.timestamp_s, face.score, face.texture)
            )
    tracks = tuple(
        Track(
            id=int(t["id"]),
            verdict=_verdict(t["verdict"], int(t["id"])),
            segments=tuple(
                Segment(
                    start_s=float(s["start_s"]),
                    end_s=float(s["end_s"]),
                    peak=float(s["peak"]),
                    peak_s=float(s.get("peak_s", s["start_s"])),
                )
                for s in t.get("segments", [])
            ),
            timeline=tuple(timelines.get(int(t["id"]), ())),
            temporal=_temporal(t.get("temporal")),
            members=_members(t.get("members")),
            texture=_texture(t.get("texture")),
        )
        for t in data.get("tracks", [])
    )
    inp = data["input"]
    model = data["model"]
    return Report(
        input=InputSummary(
            path=str(inp["path"]),
            kind=inp["kind"],
            duration_s=float(inp.get("duration_s") or 0.0),
            width=int(inp.get("width") or 0),
            height=int(inp.get("height") or 0),
            sha256=str(inp.get("sha256", "")),
        ),
        model=ModelSummary(
            name=str(model["name"]),
            sha256=str(model.get("sha256", "")),
            input_size=int(model.get("input_size") or 0),
            thresholds=dict(model.get("thresholds", {})),
            provenance=dict(model.get("provenance", {})),
            views=int(model.get("views") or 1),
        ),
        verdict=_verdict(data["verdict"]),
        tracks=tracks,
        frames=frames,
        timings_s={k: float(v) for k, v in data.get("timings_s", {}).items() if v is not None},
        errors=tuple(str(e) for e in data.get("errors", [])),
        warnings=tuple(str(w) for w in data.get("warnings", [])),
        options=dict(data.get("options", {})),
        created_utc=str(data.get("created_utc", "")),
        analyzer_version=str(data.get("analyzer_version", "")),
        provenance=provenance_from_dict(data.get("provenance") or {}),
    )


def read_json(path: Path | str) -> Report:
    """Read a JSON report written by `write_json`."""
    return report_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _verdict(data: dict[str, Any], track_id: int | None = None) -> Verdict:
    """A verdict; the video verdict's deciding track is not in JSON and comes back None."""
    raised = data.get("raised_thresholds")
    return Verdict(
        data["label"],
        _number(data.get("score")),
        track_id,
        None
        if raised is None
        else RaisedThresholds(
            int(raised["faces"]), float(raised["suspicious"]), float(raised["fake"])
        ),
    )


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, str | int | bool) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _finite(value.item())
    return str(value)


def _members(data: dict[str, Any] | None) -> Members:
    """A blend's member evidence (schema 1.3); () when absent or empty."""
    return tuple((str(name), float(value)) for name, value in (data or {}).items())


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _texture(data: dict[str, Any] | None) -> TrackTexture | None:
    """A track's texture evidence (schema 1.6); None when absent."""
    if not data:
        return None
    return TrackTexture(
        shift=_number(data.get("shift")),
        faces=int(data.get("faces") or 0),
        before=float(data["before"]),
        track_score=float(data["track_score"]),
        reason=str(data.get("reason") or ""),
    )


def _temporal(data: dict[str, Any] | None) -> TemporalEvidence | None:
    if not data:
        return None
    return TemporalEvidence(
        score=_number(data.get("score")),
        frame_score=float(data["frame_score"]),
        track_score=float(data["track_score"]),
        frames=int(data.get("frames") or 0),
        combined=bool(data.get("combined")),
        reason=str(data.get("reason") or ""),
        message=str(data.get("message") or ""),
        windows=tuple(
            TemporalWindow(float(w["start_s"]), float(w["end_s"]), float(w["score"]))
            for w in data.get("windows") or ()
        ),
    )
