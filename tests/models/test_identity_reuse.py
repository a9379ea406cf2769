"""scripts/identity_probe.py extract --reuse: an earlier extraction's descriptors are found
again by the crop file they were read from (dlib itself is not loaded)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from script_modules import script_module


def _extraction(tmp_path, names: list[str], parts: dict[str, tuple[list[int], list[float]]]):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "crops.json").write_text(json.dumps([{"narrow": n, "label": 0} for n in names]))
    files = []
    for stem, (index, values) in parts.items():
        desc = np.repeat(np.array(values, np.float32)[:, None], 128, axis=1)
        np.savez(tmp_path / f"{stem}.npz", index=np.array(index), desc=desc)
        files.append(tmp_path / f"{stem}.npz")
    return ctx, files


def test_descriptors_are_keyed_by_crop_file_across_parts(tmp_path) -> None:
    probe = script_module("identity_probe")
    ctx, files = _extraction(tmp_path, ["a.png", "b.png", "c.png"],
                             {"p0": ([0, 2], [1.0, 3.0]), "p1": ([1], [2.0])})  # fmt: skip
    known = probe.earlier_descriptors(ctx, files)
    assert sorted(known) == ["a.png", "b.png", "c.png"]
    assert [float(known[n][0]) for n in ("a.png", "b.png", "c.png")] == [1.0, 2.0, 3.0]


def test_an_earlier_extraction_missing_a_part_is_refused(tmp_path) -> None:
    probe = script_module("identity_probe")
    ctx, files = _extraction(tmp_path, ["a.png", "b.png"], {"p0": ([0], [1.0])})
    with pytest.raises(SystemExit, match="1 crops lack a descriptor"):
        probe.earlier_descriptors(ctx, files)
