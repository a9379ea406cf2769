"""docs/report-schema.md documents every JSON field and CSV column the writers produce."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from deepfake_analyzer.report.csv_report import CSV_COLUMNS
from deepfake_analyzer.report.json_report import report_to_json
from deepfake_analyzer.report.types import SCHEMA_VERSION, Report
from deepfake_analyzer.report.writers import BATCH_COLUMNS

DOC = Path(__file__).resolve().parents[2] / "docs" / "report-schema.md"
FREE_FORM = {"model.thresholds", "model.provenance", "options", "timings_s"}
"""Objects (by dotted path) whose keys are free-form, not schema fields."""


def keys(value: Any, path: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            found.add(key)
            where = f"{path}.{key}" if path else key
            if where not in FREE_FORM:
                found |= keys(child, where)
    elif isinstance(value, list):
        for child in value:
            found |= keys(child, path)
    return found


def test_every_field_and_column_is_documented(video_report: Report) -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"version {SCHEMA_VERSION}" in text
    doc = json.loads(report_to_json(video_report))
    missing = sorted(k for k in keys(doc) if f"`{k}`" not in text)
    assert not missing, f"undocumented JSON fields: {missing}"
    for column in (*CSV_COLUMNS, *BATCH_COLUMNS):
        assert f"`{column}`" in text, column
