"""The committed records of the gathered media (`docs/data/extra-*.manifest.csv`): each can be
rebuilt by `scripts/restore_gathered_data.py`, and each of its generators has a family in the
protocol, so a new folder cannot land half-wired."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from script_modules import script_module

from deepfake_analyzer.training.protocol import FAMILIES, canonical_generator

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "docs" / "data").glob("extra-*.manifest.csv"))
COLUMNS = [
    "file", "label", "kind", "source", "commit_or_version", "source_path", "dataset",
    "how_label_known", "bytes", "sha256", "license_note", "processing", "identity", "generator",
]  # fmt: skip
RESERVED = {
    "basemax/fakefaces", "dariusaf/mesonet", "opentalker/sadtalker", "opentalker/video-retalking",
    "zz-ww/sadtalker-video-lip-sync", "aaronchong888/deepfake-detect",
    "ajay-sainy/wav2lip-gfpgan", "cyshih704/deepfake-detection", "iperov/deepfacelive",
    "ondyari/faceforensics", "polimi-ispl/icpr2020dfdc", "rizkiarm/lipnet",
    "tanshuai0219/edtalk", "tharunnayak14/real-vs-fake-face-detection",
}  # fmt: skip
"""Repositories reserved for the independent evaluation (issue 8): never a source."""


def rows_of(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS, manifest.name
        return list(reader)


def test_every_manifest_names_its_folder() -> None:
    folders = script_module("restore_gathered_data").FOLDERS
    assert MANIFESTS
    assert {m.name.removesuffix(".manifest.csv") for m in MANIFESTS} == set(folders)
    assert len(set(folders.values())) == len(folders)


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda m: m.stem)
def test_every_row_can_be_rebuilt_and_has_a_family(manifest: Path) -> None:
    known_step = script_module("restore_gathered_data").known_step
    rows = rows_of(manifest)
    assert len({r["file"] for r in rows}) == len(rows)
    for row in rows:
        where = f"{manifest.name}: {row['file']}"
        assert row["label"] in {"fake", "real"}, where
        assert row["kind"] in {"video", "image"}, where
        assert re.fullmatch(r"[0-9a-f]{64}", row["sha256"]), where
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit_or_version"]), where
        assert row["source"].lower() not in RESERVED, where
        assert known_step(row["processing"]), where
        if row["label"] == "fake":
            assert canonical_generator(row["generator"]) in FAMILIES, where


def test_an_unknown_processing_step_is_not_taken_for_a_known_one() -> None:
    known_step = script_module("restore_gathered_data").known_step
    digest = "0" * 64
    assert known_step("unchanged original bytes")
    assert known_step(
        f"orig_sha256={digest}; ffmpeg -ss 0 -t 10 crop=10:10:0:0; longer side<=720; "
        "libx264 crf 20 yuv420p; no audio"
    )
    assert known_step(
        f"orig_sha256={digest}; crop box (l,t,r,b)=(0, 0, 5, 5) of (9, 9); re-encoded JPEG q95"
    )
    assert not known_step(f"orig_sha256={digest}; ffmpeg -ss 0 -t 10; libx265; no audio")
    assert not known_step("upscaled by hand")


def test_the_repositories_to_fetch_are_every_manifests_sources() -> None:
    script = script_module("restore_gathered_data")
    every = set(script.sources([]))
    assert every == {row["source"] for m in MANIFESTS for row in rows_of(m)}
    assert not {s.lower() for s in every} & RESERVED
    one = MANIFESTS[0].name.removesuffix(".manifest.csv")
    assert set(script.sources([one])) == {row["source"] for row in rows_of(MANIFESTS[0])}
