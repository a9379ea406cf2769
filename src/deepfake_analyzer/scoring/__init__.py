"""Aggregation: per-face scores into per-track and per-video verdicts."""
