"""The training-data list: every file a model trained on, with its hash, label and provenance.

`write_training_list(items, path)` writes one CSV row per file: the path relative to the
data root, sha256, label, medium, generator, family, identity group, and, where the file's
folder (or a parent) has a `manifest.csv` with a `file` column, the source repository, commit,
path in that repository and how the label is known. Cells are neutralised against formula
injection like every CSV the project writes. It is committed beside the model card, so
anyone can tell which sources a shipped model has seen.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from deepfake_analyzer.models.spec import sha256_of
from deepfake_analyzer.report.csv_report import safe_row
from deepfake_analyzer.training.protocol import canonical_generator, family_of
from deepfake_analyzer.training.sources import LabeledItem

COLUMNS = (
    "file", "sha256", "label", "kind", "generator", "family", "group",
    "source", "commit", "source_path", "how_label_known",
)  # fmt: skip
_PROVENANCE = {
    "source": "source",
    "commit": "commit_or_version",
    "source_path": "source_path",
    "how_label_known": "how_label_known",
}
MANIFEST = "manifest.csv"
_MAX_PARENTS = 4


@lru_cache(maxsize=64)
def _manifest_rows(manifest: Path) -> dict[str, dict[str, str]]:
    with open(manifest, newline="") as handle:
        reader = csv.DictReader(handle)
        if "file" not in (reader.fieldnames or ()):
            return {}
        return {row["file"]: row for row in reader}


def provenance(path: Path) -> tuple[Path | None, dict[str, str]]:
    """(the manifest's folder, its row) for `path`, from the nearest `manifest.csv` listing it."""
    path = path.resolve()
    folder = path.parent
    for _ in range(_MAX_PARENTS):
        manifest = folder / MANIFEST
        if manifest.is_file():
            row = _manifest_rows(manifest).get(path.relative_to(folder).as_posix())
            if row is not None:
                return folder, row
        if folder.parent == folder:
            break
        folder = folder.parent
    return None, {}


def write_training_list(items: Iterable[LabeledItem], path: Path) -> int:
    """Write the list (atomically) and return the number of rows."""
    rows = []
    for item in sorted(items, key=lambda i: str(i.path)):
        root, row = provenance(Path(item.path))
        shown = Path(item.path).resolve()
        name = shown.relative_to(root.parent).as_posix() if root else shown.name
        rows.append(
            {
                "file": name,
                "sha256": sha256_of(Path(item.path)),
                "label": "fake" if item.label else "real",
                "kind": item.kind,
                "generator": canonical_generator(item.method),
                "family": family_of(item.method),
                "group": item.group,
                **{k: row.get(v, "") for k, v in _PROVENANCE.items()},
            }
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(safe_row(row[c] for c in COLUMNS) for row in rows)
    os.replace(tmp, path)
    return len(rows)
