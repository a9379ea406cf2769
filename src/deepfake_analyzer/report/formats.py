"""The report formats, apart from their writers, so that `--help` names them importing nothing."""

from __future__ import annotations

REPORT_FORMATS: tuple[str, ...] = ("json", "csv", "html")
"""Every format a report is written in, in the order written; the default is all of them."""
