"""`evaluate --baseline`: paired comparison of two evaluations' files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.training.eval_compare import BaselineFile, compare, read_baseline
from deepfake_analyzer.training.sources import FAKE, REAL


def _files(shift: float, seed: int = 0) -> list[BaselineFile]:
    """40 real videos of 20 people and 40 fake videos of 4 talking-head/lip-sync generators;
    every fake scores `shift` higher than it would."""
    rng = np.random.default_rng(seed)
    files = [
        BaselineFile(f"r{i}.mp4", REAL, "video", "real", f"p{i // 2}", float(rng.normal(0, 1)))
        for i in range(40)
    ]
    generators = ("anitalker", "musev", "hyperlips", "wav2lip")
    files += [
        BaselineFile(f"f{i}.mp4", FAKE, "video", generators[i % 4], f"q{i}",
                     float(rng.normal(0.3, 1) + shift))
        for i in range(40)
    ]  # fmt: skip
    return files


def test_a_clear_gain_is_better_and_no_change_is_within_noise() -> None:
    base = _files(0.0)
    better = compare(base, _files(1.5), name="base")
    video = better.rows[0]
    assert (video.name, video.num_real, video.num_fake) == ("video", 40, 40)
    assert video.difference > 0 and video.low > 0 and video.verdict == "better"
    assert video.new_auc == pytest.approx(video.baseline_auc + video.difference)
    assert {r.name for r in better.rows} == {"video", "video/talking-head", "video/lip-sync"}
    same = compare(base, base)
    assert all(r.difference == 0 and r.verdict == "unclear" for r in same.rows)
    worse = compare(_files(1.5), base)
    assert worse.rows[0].verdict == "worse"


def test_face_size_rows_pair_the_files_of_each_size() -> None:
    """A gain only on the large faces shows in their row, not in the small faces' row."""
    sized = [replace(f, face_width=60.0 if i % 2 else 300.0) for i, f in enumerate(_files(0.0))]
    new = [replace(f, score=f.score + 2.0) if f.label == FAKE and f.face_width > 200 else f
           for f in sized]  # fmt: skip
    rows = {r.name: r for r in compare(sized, new).rows if r.by == "face_size"}
    assert set(rows) == {"video/faces under 100 px", "video/faces 200 px or more"}
    assert (
        rows["video/faces under 100 px"].num_real,
        rows["video/faces under 100 px"].num_fake,
    ) == (20, 20)
    assert rows["video/faces under 100 px"].difference == 0
    assert rows["video/faces 200 px or more"].verdict == "better"
    assert not [r for r in compare(_files(0.0), _files(0.0)).rows if r.by == "face_size"]


def test_only_files_both_scored_are_compared() -> None:
    base, new = _files(0.0), _files(0.0)
    comparison = compare(
        base[5:], new[:-3] + [BaselineFile("x.png", REAL, "image", "real", "z", 0.1)]
    )
    assert comparison.matched == len(base) - 5 - 3
    assert (comparison.only_baseline, comparison.only_new) == (3, 6)
    assert [r.name for r in comparison.rows][0] == "video"  # one image: no image row
    data = comparison.to_dict()
    assert data["rows"][0]["verdict"] == "unclear" and data["matched_files"] == 72


def test_reals_called_fake_are_paired_by_person_at_each_models_threshold() -> None:
    base = _files(0.0)  # real scores ~ N(0, 1): about a sixth of them reach 1.0
    # the new model scores every real 0.5 higher and reads a threshold 0.5 higher: no change
    shifted = [replace(f, score=f.score + 0.5) if f.label == REAL else f for f in base]
    same = compare(base, shifted, fake_thresholds=(1.0, 1.5)).real_at_fake
    assert [(a.kind, a.num_real, a.difference, a.verdict) for a in same] == [
        ("video", 40, 0.0, "unclear")
    ]
    # at the same threshold it calls more reals fake; its interval says so
    more = compare(base, shifted, fake_thresholds=(1.0, 1.0)).real_at_fake[0]
    assert more.new_share > more.baseline_share and more.low > 0 and more.verdict == "worse"
    assert more.difference == pytest.approx(more.new_share - more.baseline_share)
    fewer = compare(shifted, base, fake_thresholds=(1.0, 1.0)).real_at_fake[0]
    assert fewer.verdict == "better" and fewer.high < 0
    # a raised threshold (a verdict that weighed several faces) is the one read
    raised = [replace(f, raised_thresholds=(5.0, 5.0)) if f.label == REAL else f for f in base]
    assert compare(base, raised, fake_thresholds=(1.0, 1.0)).real_at_fake[0].new_share == 0.0
    assert compare(base, base).real_at_fake == ()  # without thresholds, no such row
    data = compare(base, shifted, fake_thresholds=(1.0, 1.0)).to_dict()
    assert data["real_at_fake"][0]["verdict"] == "worse"


def test_a_baseline_that_is_not_an_evaluation_is_named_in_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="missing.json"):
        read_baseline(tmp_path / "missing.json")
    (tmp_path / "evaluation.json").write_text(json.dumps({"overall": {}}))
    with pytest.raises(UsageError, match="not an evaluation.json"):
        read_baseline(tmp_path)  # a folder means its evaluation.json


def test_a_baseline_gives_its_files_and_its_fake_threshold(tmp_path: Path) -> None:
    video = {"source": "a.mp4", "label": 0, "kind": "video", "method": "real", "group": "ann",
             "score": 0.4}  # fmt: skip
    (tmp_path / "evaluation.json").write_text(
        json.dumps({"videos": [video], "model": {"thresholds": {"fake": 0.8, "suspicious": 0.6}}})
    )
    path, files, fake = read_baseline(tmp_path)
    assert path == tmp_path / "evaluation.json" and fake == 0.8
    assert [(f.source, f.group, f.score) for f in files] == [("a.mp4", "ann", 0.4)]
    (tmp_path / "evaluation.json").write_text(json.dumps({"videos": [video]}))
    assert read_baseline(tmp_path)[2] is None


def test_the_tables_fit_80_columns_without_cutting_figures() -> None:
    import io

    from rich.console import Console

    from deepfake_analyzer.cli.evaluate import comparison_view, protocol_table_view
    from deepfake_analyzer.training.protocol import protocol_table

    files = _files(0.0)
    files.append(BaselineFile("t.mp4", FAKE, "video", "thin-plate-spline-motion-model", "x", 2.0))
    out = io.StringIO()
    console = Console(file=out, width=80)
    console.print(
        protocol_table_view(protocol_table(files, fake_threshold=0.7, suspicious_threshold=0.5))
    )
    console.print(comparison_view(compare(files, _files(1.5) + files[-1:], "old.json", (0.7, 0.8))))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= 80
    # every AUC, interval and verdict is printed whole
    assert "…" not in "".join(line for line in text.splitlines() if "thin-plate" not in line)
    assert "better" in text and "40/41" in text and "video: reals at fake" in text


def test_a_comparison_of_hundreds_of_files_fits_80_columns_whole() -> None:
    """Three-digit counts and a long subset name: only the name may be cut."""
    import io

    from rich.console import Console

    from deepfake_analyzer.cli.evaluate import comparison_view

    files = [replace(f, source=f"{k}{f.source}", group=f"{k}{f.group}", face_width=300.0)
             for k in range(6) for f in _files(0.0)]  # fmt: skip
    better = [replace(f, score=f.score + 1.0) if f.label == FAKE else f for f in files]
    out = io.StringIO()
    Console(file=out, width=80).print(comparison_view(compare(files, better, "b", (0.7, 0.8))))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if "│" in line]
    assert any("240/240" in line and "better" in line for line in rows)
    assert any("reals at fake" in line and "240" in line for line in rows)
    assert all("…" not in line.split("│", 1)[1] for line in rows), "a figure was cut"
