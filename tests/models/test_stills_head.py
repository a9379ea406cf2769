"""A track head that reads stills (models/blend.py, `TrackHead.stills`): its flag in the blend
file, and a still's face moved by it in `evaluate`'s crop path as the analyzer moves it
(models/views.py, `predict_stills_with_head`)."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models import views
from deepfake_analyzer.models.base import CropScores, MemberEvidenceClassifier
from deepfake_analyzer.models.blend import TrackHead
from deepfake_analyzer.models.spec import ModelSpec, logits


def test_the_flag_is_written_only_when_set_and_read_back() -> None:
    head = TrackHead(1.0, 0.5, 2.0, 0.5, {"l2": 30})
    assert "stills" not in head.to_dict()  # blend files written before it stay byte-identical
    assert TrackHead.from_dict(head.to_dict()) == head and not head.stills
    reads = TrackHead(1.0, 0.5, 2.0, 0.5, {"l2": 30}, stills=True)
    assert reads.to_dict()["stills"] is True
    assert TrackHead.from_dict(reads.to_dict()) == reads
    with pytest.raises(ModelError, match="stills"):
        TrackHead.from_dict({**reads.to_dict(), "stills": "yes"})


class _Blendish:
    """A classifier with a track head: a crop's probability and head value read off its
    mean pixel value, so the views of one crop differ a little."""

    evidence_names: tuple[str, ...] = ()
    has_track_head = True

    def __init__(self, stills: bool) -> None:
        self.spec = ModelSpec(name="blendish", input_size=32)
        self.sha256 = "0" * 64
        self.track_reads_stills = stills

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        return self.scores(crops_rgb_uint8).probability

    def scores(self, crops_rgb_uint8: np.ndarray) -> CropScores:
        m = np.asarray(crops_rgb_uint8, np.float64).mean(axis=(1, 2, 3)) / 255.0
        p = 0.2 + 0.6 * m
        return CropScores(p, np.zeros((0, len(p))), 2.0 * m - 0.5)


def _crops(count: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)


def test_a_still_is_moved_by_its_mean_head_value_and_a_video_face_is_not() -> None:
    model = _Blendish(stills=True)
    assert isinstance(model, MemberEvidenceClassifier)
    crops = _crops(3)
    plan = [(0, 1, 2, 3, 4), (0,), (0, 1)]  # a still, a video face, a still under 2 views
    moved = views.predict_stills_with_head(model, crops, plan, min_reads=4)
    plain = views.predict_through_views(model, crops, plan)
    seen = views.crops_through_views(crops[:1], plan[:1])
    shift = model.scores(seen).track.mean()  # type: ignore[union-attr]
    assert logits(moved[0]) == pytest.approx(logits(plain[0]) + shift, abs=1e-9)
    assert moved[1:] == pytest.approx(plain[1:], abs=1e-12)  # too few reads: as they were


def test_a_head_that_does_not_read_stills_leaves_every_crop() -> None:
    model = _Blendish(stills=False)
    crops, plan = _crops(2), [(0, 1, 2, 3, 4), (0,)]
    assert views.predict_stills_with_head(model, crops, plan, 4) == pytest.approx(
        views.predict_through_views(model, crops, plan), abs=1e-12
    )
