"""scripts/match_thresholds.py's rule: the candidate threshold that flags as many of the same
videos as the reference threshold does (no model is loaded)."""

from __future__ import annotations

import numpy as np
from script_modules import script_module


def test_the_candidate_flags_as_many_videos_as_the_reference() -> None:
    match = script_module("match_thresholds")
    rng = np.random.default_rng(0)
    reference = rng.random(500)
    candidate = reference**0.7 + rng.normal(0, 0.01, 500)  # reads higher, ranks much alike
    for at in (0.5, 0.77, 0.83, 0.97):
        t = match.matched(reference, at, candidate)
        assert (candidate >= t).sum() == (reference >= at).sum()
        assert t > at  # a candidate that reads real videos higher needs a higher cut


def test_the_threshold_lies_midway_between_the_scores_around_the_count() -> None:
    match = script_module("match_thresholds")
    reference = np.array([0.1, 0.2, 0.9, 0.95])
    candidate = np.array([0.3, 0.4, 0.6, 0.8])
    assert match.matched(reference, 0.85, candidate) == 0.5  # 2 flagged: between 0.6 and 0.4
    assert match.matched(reference, 0.99, candidate) == 0.9  # none: above the highest
    assert match.matched(reference, 0.0, candidate) == 0.3  # all: the lowest still reaches it
