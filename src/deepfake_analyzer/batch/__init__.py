"""Batch analysis of many clips on an engine (`local` in-process, or `ray` actors), resumable."""

from deepfake_analyzer.batch.engine import Engine, create_engine, list_engines, register_engine
from deepfake_analyzer.batch.jobs import AnalyzerFactory, ClipJob, ClipOutcome
from deepfake_analyzer.batch.runner import run_batch
from deepfake_analyzer.batch.sources import collect_clips

__all__ = [
    "AnalyzerFactory",
    "ClipJob",
    "ClipOutcome",
    "Engine",
    "collect_clips",
    "create_engine",
    "list_engines",
    "register_engine",
    "run_batch",
]
