"""Framing stability: box variants and the per-face spread of scores."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.models.spec import ModelSpec
from deepfake_analyzer.training.framing import FRAMINGS, framing_stability, reframe


def test_reframe_scales_about_the_centre_and_shifts_by_box_sides() -> None:
    assert reframe((10, 20, 30, 60), 1.0, 0.0, 0.0) == (10, 20, 30, 60)
    assert reframe((10, 20, 30, 60), 1.4, 0.0, 0.0) == pytest.approx((6, 12, 34, 68))
    assert reframe((10, 20, 30, 60), 1.0, 0.1, -0.1) == pytest.approx((12, 16, 32, 56))


class MeanBrightness:
    """A stand-in classifier: the score is the crop's mean brightness (0..1)."""

    def __init__(self) -> None:
        self.spec = ModelSpec(name="bright", input_size=32)
        self.calls = 0
        self.batches: list[int] = []

    def predict(self, crops: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.batches.append(len(crops))
        return crops.reshape(len(crops), -1).mean(axis=1) / 255.0


def test_a_score_that_ignores_framing_has_no_spread_and_one_that_follows_it_has() -> None:
    flat = np.full((200, 200, 3), 128, np.uint8)
    spot = np.zeros_like(flat)
    spot[85:115, 85:115] = 255  # a bright face centre on black: wider boxes dilute it
    box = (80.0, 80.0, 120.0, 120.0)
    classifier = MeanBrightness()
    result = framing_stability(classifier, [(flat, box), (spot, box)])
    assert classifier.calls == 2  # one batch of len(FRAMINGS) crops per face
    assert result.spreads[0] == pytest.approx(0.0, abs=1e-9)
    assert result.spreads[1] > 0.05
    assert result.share_within_target == 0.5
    assert len(FRAMINGS) == 9


def test_relative_spread_ignores_how_much_calibration_squeezes_the_scores() -> None:
    from deepfake_analyzer.training.framing import FramingStability

    spreads, means = np.array([0.02, 0.04]), np.array([0.3, 0.7])
    wide = FramingStability(spreads, means)
    assert wide.relative_spread == pytest.approx(0.03 / 0.2)
    # the same faces with every score pulled halfway to 0.5: smaller spreads, same ratio
    squeezed = FramingStability(spreads / 2, 0.5 + (means - 0.5) / 2)
    assert squeezed.mean < wide.mean
    assert squeezed.relative_spread == pytest.approx(wide.relative_spread)
    assert np.isnan(FramingStability(spreads[:1], means[:1]).relative_spread)


def test_each_framing_is_scored_through_the_specs_views() -> None:
    from dataclasses import replace

    from deepfake_analyzer.models import views

    spot = np.zeros((200, 200, 3), np.uint8)
    spot[85:115, 85:115] = 255
    box = (80.0, 80.0, 120.0, 120.0)
    one, five = MeanBrightness(), MeanBrightness()
    five.spec = replace(five.spec, views=views.MAX_VIEWS)
    single, viewed = framing_stability(one, [(spot, box)]), framing_stability(five, [(spot, box)])
    assert five.batches == [len(FRAMINGS) * views.MAX_VIEWS]
    # tighter views see more of the bright centre: every framing's score is higher
    assert viewed.mean_scores[0] > single.mean_scores[0]


def test_two_boxes_of_one_face_differ_by_what_each_crop_shows() -> None:
    from deepfake_analyzer.training.framing import box_pair_differences

    flat = np.full((200, 200, 3), 128, np.uint8)
    spot = np.zeros_like(flat)
    spot[85:115, 85:115] = 255
    box, wider = (80.0, 80.0, 120.0, 120.0), (70.0, 70.0, 130.0, 130.0)
    classifier = MeanBrightness()
    flat_diff, spot_diff, same = box_pair_differences(
        classifier, [(flat, box, wider), (spot, box, wider), (spot, box, box)]
    )
    assert flat_diff == pytest.approx(0.0, abs=1e-9) and same == pytest.approx(0.0, abs=1e-9)
    # the wider box dilutes the bright centre: its crop is darker
    assert spot_diff > 0.1
