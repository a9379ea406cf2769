"""Does a larger protocol, or a new people table, move a file of the earlier split?

    python scripts/compare_splits.py N [M] [--people OLD_SAME_PEOPLE_CSV]

The check `docs/data/gathering.md` asks for before a larger table is judged. The earlier split
is that of the first N folders of `restore_gathered_data.py --list` under the people table
OLD_SAME_PEOPLE_CSV (by default the current `training/same_people.csv`; the committed one
before a join: `git show HEAD:src/deepfake_analyzer/training/same_people.csv > OLD`); the new
one is that of the first M folders (all by default) under the current table. For every file of
the earlier split whose part differs it prints the move (`train`, `heldout`, `trained-only`:
trained on, never judged, `neither`: used by no side), grouped, and the totals. No file a
shipped model trained on may become `heldout`; files that leave `heldout` are held-out files
the tables lose (gathering.md says when to remove the new files instead). Exit status 1 when
any file moved.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from mesh_feature_probe import option, protocol_parts

from deepfake_analyzer.training import protocol

PART_NAMES = {"train": "train", "heldout": "heldout", "": "trained-only", None: "neither"}
"""How a part of `protocol_parts` (None: a file it does not use) is printed."""


def moves(
    files: Iterable[str], before: Mapping[str, str], after: Mapping[str, str]
) -> dict[tuple[str, str], list[str]]:
    """(part before, part after) -> the `files` that moved so, in their order; parts named as
    `PART_NAMES` says."""
    moved: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in files:
        was, now = before.get(key), after.get(key)
        if was != now:
            moved[PART_NAMES[was], PART_NAMES[now]].append(key)
    return dict(moved)


def split_under(folders: list[Path], people: Path) -> tuple[list[str], dict[str, str]]:
    """The files of `folders`' protocol (their source keys, in discovery order) and each one's
    part, with `people` as the same-people table."""
    from deepfake_analyzer.training.extract import source_key

    protocol.SAME_PEOPLE_FILE = people
    for value in vars(protocol).values():  # the table's readings are cached
        if hasattr(value, "cache_clear"):
            value.cache_clear()
    items, part = protocol_parts(folders)
    return [source_key(i.path) for i in items], part


def main(args: list[str]) -> int:
    current = protocol.SAME_PEOPLE_FILE
    old = option(args, "--people")
    if not 1 <= len(args) <= 2:
        raise SystemExit(__doc__)
    listed = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("restore_gathered_data.py")), "--list"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    n = int(args[0])
    m = int(args[1]) if len(args) > 1 else len(listed)
    files, before = split_under([Path(f) for f in listed[:n]], Path(old) if old else current)
    _, after = split_under([Path(f) for f in listed[:m]], current)
    moved = moves(files, before, after)
    for (was, now), keys in moved.items():
        print(f"{was} -> {now}: {len(keys)}")
        for key in keys:
            print(f"    {key}")
    total = sum(len(keys) for keys in moved.values())
    print(f"{total} of {len(files)} files of the first {n} folders moved (against {m} folders)")
    return 1 if total else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
