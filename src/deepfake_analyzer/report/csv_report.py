"""The CSV report: one row per face per sampled frame (frames without faces give no row).

Every CSV we write goes through `safe_row`: a text cell that a spreadsheet would run as a
formula (it starts with `=`, `+`, `-`, `@`, tab or carriage return; OWASP "CSV injection") gets
a leading `'`, so an input named `=HYPERLINK(...).mp4` is shown, never evaluated. Plain numbers
(`-3.5`) are left as they are.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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
    "texture",
)


FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_writer(buffer: io.StringIO) -> Any:
    """The writer of every CSV we make: RFC 4180 line ends (CRLF), so a cell holding a line
    break (a file may be named with one) is quoted instead of splitting its row."""
    return csv.writer(buffer, lineterminator="\r\n")


def safe_cell(value: object) -> object:
    """`value`, with a leading `'` when it is text a spreadsheet would treat as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_TRIGGERS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    """A CSV row with every cell passed through `safe_cell`."""
    return [safe_cell(value) for value in row]


def report_to_csv(report: Report) -> str:
    """The CSV text, header first, rows in frame order then face order."""
    verdicts = {t.id: t.verdict.label for t in report.tracks}
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for frame in report.frames:
        for face in frame.faces:
            x0, y0, x1, y1 = face.box_xyxy
            writer.writerow(
                safe_row(
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
                        "" if face.texture is None else f"{face.texture:.4f}",
                    )
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
