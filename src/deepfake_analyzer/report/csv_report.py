"""The CSV report: one row per face per sampled frame (frames without faces give no row)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from deepfake_analyzer.report.types import Report

CSV_COLUMNS: tuple[str, ...] = (
    "file",
    "frame_index",
    "timestamp_s",
    "track_id",
    "x0",
    "y0",
    "x1",
    "y1",
    "score",
    "detection_confidence",
    "track_verdict",
)


def report_to_csv(report: Report) -> str:
    """The CSV text, header first, rows in frame order then face order."""
    verdicts = {t.id: t.verdict.label for t in report.tracks}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for frame in report.frames:
        for face in frame.faces:
            x0, y0, x1, y1 = face.box_xyxy
            writer.writerow(
                (
                    report.input.path,
                    frame.index,
                    f"{frame.timestamp_s:.4f}",
                    face.track_id,
                    f"{x0:.1f}",
                    f"{y0:.1f}",
                    f"{x1:.1f}",
                    f"{y1:.1f}",
                    f"{face.score:.4f}",
                    f"{face.detection_confidence:.4f}",
                    verdicts.get(face.track_id, ""),
                )
            )
    return buffer.getvalue()


def csv_bytes(text: str) -> bytes:
    """UTF-8 bytes; undecodable file-name bytes (surrogate escapes) are written back as-is."""
    return text.encode("utf-8", errors="surrogateescape")


def write_csv(report: Report, path: Path | str) -> Path:
    """Write the CSV report to `path` (plain write; `writers.write_reports` adds atomicity)."""
    path = Path(path)
    path.write_bytes(csv_bytes(report_to_csv(report)))
    return path
