"""scripts/track_probe.py views' bookkeeping: which view reads each video crop, and how an
earlier run's features are found again (the network itself is not loaded)."""

from __future__ import annotations

import json

import numpy as np
from script_modules import script_module


def _row(source: str, n: int, kind: str = "video") -> dict:
    return {
        "source": source,
        "kind": kind,
        "narrow": f"{source}-{n}-n.png",
        "crop": f"{source}-{n}-w.png",
    }


def test_a_videos_nth_crop_goes_through_view_n_modulo_the_count() -> None:
    probe = script_module("track_probe")
    rows = [_row("a", 0), _row("b", 0), _row("p", 0, "image"), _row("a", 1), _row("a", 2)]
    assert probe.view_order(rows, 2) == [(0, 0), (1, 0), (3, 1), (4, 0)]


def test_an_earlier_runs_features_are_found_by_crop_files_and_view(tmp_path) -> None:
    probe = script_module("track_probe")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    rows = [_row("a", 0), _row("p", 0, "image"), _row("a", 1)]
    (ctx / "crops.json").write_text(json.dumps(rows))
    views = tmp_path / "views"
    views.mkdir()
    (views / "context.json").write_text(json.dumps({"extraction": str(ctx)}))
    np.savez(views / "views.npz", index=np.array([0, 2]), face=np.array([[1.0], [2.0]]))
    known = probe.earlier_views(views, "views.npz")
    assert known == {
        probe.view_key(rows[0], 0): {"face": np.array([1.0])},
        probe.view_key(rows[2], 1): {"face": np.array([2.0])},
    }


def test_an_options_value_is_taken_out_of_the_arguments_wherever_it_stands() -> None:
    probe = script_module("track_probe")
    args = ["views", "--reuse", "old", "out", "ctx"]
    assert probe.option(args, "--reuse") == "old" and args == ["views", "out", "ctx"]
    assert probe.option(args, "--dims") is None and args == ["views", "out", "ctx"]
