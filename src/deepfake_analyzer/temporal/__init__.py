"""Temporal evidence: face-mesh dynamics of one track, their features and a small model."""
