"""scripts/compare_splits.py: which files of an earlier split changed part."""

from __future__ import annotations

from script_modules import script_module


def test_moves_names_each_files_parts_before_and_after_in_file_order() -> None:
    moves = script_module("compare_splits").moves
    before = {"a": "train", "b": "heldout", "c": "heldout", "d": "", "e": "train"}
    after = {"a": "train", "b": "train", "c": "train", "d": "heldout", "f": "train"}

    moved = moves(["a", "b", "c", "d", "e"], before, after)

    assert moved == {
        ("heldout", "train"): ["b", "c"],
        ("trained-only", "heldout"): ["d"],
        ("train", "neither"): ["e"],
    }


def test_moves_is_empty_when_no_file_of_the_earlier_split_changed() -> None:
    moves = script_module("compare_splits").moves
    part = {"a": "train", "b": "heldout"}

    assert moves(["a", "b"], part, {**part, "new": "heldout"}) == {}
