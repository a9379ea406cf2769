"""Whether an existing file is a report this tool wrote for a given input (a rerun replaces it).

Running the same command twice must work, and nothing a user wrote may be lost, so a report
path that is taken is replaced only when the file there is recognisably ours and about the
same input:

- JSON: a report document (`schema_version`) whose `input.path` is the input;
- CSV: our header (`file`, `frame_index`, ..., `score`) and every row's `file` is the input;
- HTML: the `deepfake-analyzer-input` meta tag the HTML report carries names the input;
- batch summary: our header (CSV) or a list of our rows (JSON).

Anything else (a file the user wrote, a report about another input that happens to share
the name) is kept, and the writer refuses. Paths are "the same input" when they are equal as
given or resolve to the same absolute path. Unreadable or oversized files are never ours.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from deepfake_analyzer.report.csv_report import safe_cell
from deepfake_analyzer.report.html_report import INPUT_META, e

MAX_OWN_BYTES = 256 * 1024 * 1024
"""A larger file is not read to decide: it is left alone."""
HTML_HEAD_BYTES = 64 * 1024
_CSV_MARKER_COLUMNS = ("file", "frame_index", "timestamp_s", "track_id", "score")
_META = re.compile(rf'<meta name="{INPUT_META}" content="([^"]*)">')


def is_report_for(path: Path, fmt: str, input_path: str) -> bool:
    """Whether `path` holds a `fmt` report ("json", "csv", "html") this tool wrote for
    `input_path`."""
    data = _read(path)
    if data is None:
        return False
    if fmt == "json":
        doc = _json(data)
        return (
            isinstance(doc, dict)
            and "schema_version" in doc
            and isinstance(doc.get("input"), dict)
            and _same_input(doc["input"].get("path"), input_path)
        )
    if fmt == "csv":
        rows = _csv(data)
        if not rows or not set(_CSV_MARKER_COLUMNS) <= set(rows[0]) or rows[0][0] != "file":
            return False
        expected = safe_cell(input_path)
        return all(
            row and (row[0] == expected or _same_input(row[0], input_path)) for row in rows[1:]
        )
    if fmt == "html":
        head = data[:HTML_HEAD_BYTES].decode("utf-8", errors="replace")
        match = _META.search(head)
        if match is not None:
            return match.group(1) == e(input_path)
        return _is_legacy_html_for(data.decode("utf-8", errors="replace"), input_path)
    return False


def _is_legacy_html_for(text: str, input_path: str) -> bool:
    """A report from before the meta tag (schema 1.0-1.1): our title, our footer, and the
    input's row in its Input table."""
    return (
        text.startswith("<!DOCTYPE html>")
        and "<title>Deepfake analysis: " in text[:HTML_HEAD_BYTES]
        and "report schema 1." in text
        and f"<th style='width:28%'>File</th><td><span class=\"mono\">{e(input_path)}</span>"
        in text
    )


def is_batch_summary(path: Path, fmt: str, columns: tuple[str, ...]) -> bool:
    """Whether `path` is a batch summary this tool wrote (`columns` is its header)."""
    data = _read(path)
    if data is None:
        return False
    if fmt == "csv":
        rows = _csv(data)
        return bool(rows) and tuple(rows[0]) == columns
    doc = _json(data)
    return isinstance(doc, list) and all(
        isinstance(row, dict) and tuple(row) == columns for row in doc
    )


def _same_input(recorded: Any, input_path: str) -> bool:
    if not isinstance(recorded, str):
        return False
    return recorded == input_path or os.path.abspath(recorded) == os.path.abspath(input_path)


def _read(path: Path) -> bytes | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_OWN_BYTES:
            return None
        return path.read_bytes()
    except OSError:
        return None


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _csv(data: bytes) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(data.decode("utf-8"))))
    except (UnicodeDecodeError, csv.Error):
        return []
