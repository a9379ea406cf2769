"""scripts/data_curve.py's draws of part of the training data (no features are read)."""

from __future__ import annotations

import numpy as np
from script_modules import script_module

from deepfake_analyzer.training.texture_train import Crop


def _crop(**kw: object) -> Crop:
    base = dict(source="a.mp4", label=0, kind="video", method="real", group="g", part="train")
    return Crop(**{**base, "blended": False, **kw})  # type: ignore[arg-type]


def test_a_share_of_distinct_names_is_drawn_reproducibly() -> None:
    curve = script_module("data_curve")
    names = ["a", "a", "b", "c", "d", "d", "d", "e", "f", "g", "h", "i"]
    half = curve.drawn(names, 0.5, np.random.default_rng(0))
    assert len(half) == 4 and half <= set(names)
    assert half == curve.drawn(names, 0.5, np.random.default_rng(0))
    assert len(curve.drawn(names, 0.01, np.random.default_rng(0))) == 1
    assert curve.drawn(names, 1.0, np.random.default_rng(1)) == set(names)


def test_only_training_rows_on_the_varied_axis_are_left_out() -> None:
    curve = script_module("data_curve")
    crops = [
        _crop(method="x", label=1, group="gx"),  # 0: training fake of x
        _crop(method="y", label=1, group="gy"),  # 1: training fake of y
        _crop(method="y", label=1, group="gy", part="heldout"),  # 2: held-out fake
        _crop(group="ann"),  # 3: real of ann
        _crop(group="bob"),  # 4: real of bob
        _crop(group="bob", label=1, blended=True, method="self-blend"),  # 5: bob's self-blend
        _crop(group="bob", part="heldout"),  # 6: held-out real
    ]
    kept = curve.kept_rows(crops, "generators", {"x"})
    assert kept.tolist() == [True, False, True, True, True, True, True]
    kept = curve.kept_rows(crops, "people", {"ann"})
    assert kept.tolist() == [True, True, True, True, False, False, True]


def test_a_share_of_each_generators_files_keeps_every_generator() -> None:
    curve = script_module("data_curve")
    fakes = [("x", f"x{i}.mp4") for i in range(8)] + [("y", "y0.mp4"), ("y", "y0.mp4")]
    kept = curve.drawn_per_generator(fakes, 0.25, np.random.default_rng(0))
    assert len([s for s in kept if s.startswith("x")]) == 2
    assert "y0.mp4" in kept
    crops = [
        _crop(method="x", label=1, source="x0.mp4"),
        _crop(method="x", label=1, source="x1.mp4"),
    ]
    crops.append(_crop(source="r.mp4"))
    assert curve.kept_rows(crops, "files", {"x1.mp4"}).tolist() == [False, True, True]
