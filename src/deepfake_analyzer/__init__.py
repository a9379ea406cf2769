"""deepfake-analyzer: tell whether a video or image shows a manipulated face, and where and when.

The public API is `analyze(path, **options) -> Report`. Heavy dependencies (TensorFlow,
MediaPipe) load only when an analysis runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from deepfake_analyzer.report.types import Report

__all__ = ["__version__", "analyze"]


def analyze(path: Any, **options: Any) -> Report:
    """Analyze one video or image and return its `Report` (see `pipeline.analyze`)."""
    from deepfake_analyzer.pipeline import analyze as run_analysis

    return run_analysis(path, **options)
