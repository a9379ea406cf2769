"""Batch sources: folders, list files, missing paths and duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepfake_analyzer.batch.sources import collect_clips, read_list_file
from deepfake_analyzer.errors import UsageError


def test_folder_is_walked_recursively_and_keeps_only_media(clip_folder: Path) -> None:
    entries = collect_clips([clip_folder])
    assert [e.path.relative_to(clip_folder).as_posix() for e in entries] == [
        "a.mp4",
        "sub/b.mp4",
        "sub/c.mp4",
    ]
    assert all(not e.error for e in entries)


def test_list_file_reads_relative_paths_comments_and_blank_lines(
    clip_folder: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "clips.txt"
    listing.write_text(f"# my clips\n\n{clip_folder / 'a.mp4'}\n  {clip_folder / 'sub'}  \n")
    assert read_list_file(listing) == [clip_folder / "a.mp4", clip_folder / "sub"]
    (tmp_path / "rel.mp4").write_bytes(b"")
    relative = tmp_path / "rel.txt"
    relative.write_text("rel.mp4\n")
    assert read_list_file(relative) == [tmp_path / "rel.mp4"]


def test_missing_entries_become_failed_entries_and_duplicates_are_kept_once(
    clip_folder: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "clips.txt"
    listing.write_text(f"{clip_folder / 'a.mp4'}\n{tmp_path / 'gone.mp4'}\n")
    entries = collect_clips([listing, clip_folder])
    names = [e.path.name for e in entries]
    assert names == ["a.mp4", "gone.mp4", "b.mp4", "c.mp4"]
    gone = entries[1]
    assert "does not exist" in gone.error


def test_nothing_to_analyze_is_a_usage_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(UsageError, match="no clips"):
        collect_clips([empty])
