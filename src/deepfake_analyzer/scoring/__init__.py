"""Aggregation: per-face scores into per-frame, per-track and per-video verdicts."""
