"""Labeled training sources: layout detectors (folders, FF++, DFDC, Celeb-DF, CSV) and splits.

`discover_labeled(root)` asks each registered layout, in order, whether it recognises `root`
and lists its media as `LabeledItem`s. `split_by_group` splits by identity or source video,
never by frame, so no person is on both sides of a split.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from deepfake_analyzer.errors import InputNotFoundError, UsageError
from deepfake_analyzer.media.types import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

ItemKind = Literal["video", "image"]
REAL, FAKE = 0, 1


@dataclass(frozen=True)
class LabeledItem:
    """One labeled media file: `label` 1 is fake, 0 real; `group` is the identity or source
    video that must not straddle a train/validation split."""

    path: Path
    label: int
    group: str
    dataset: str
    method: str
    kind: ItemKind

    def __post_init__(self) -> None:
        if self.label not in (REAL, FAKE):
            raise ValueError(f"label must be 0 (real) or 1 (fake), got {self.label!r}")
        if self.kind not in ("video", "image"):
            raise ValueError(f"kind must be 'video' or 'image', got {self.kind!r}")
        if not self.group:
            raise ValueError("group must be a non-empty identity or source id")


def media_kind(path: Path) -> ItemKind | None:
    """'video', 'image' or None from the file extension."""
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    return None


def _row_kind(row: Mapping[str, str], path: Path) -> ItemKind | None:
    """A CSV row's `kind` column ('video' or 'image'), else the kind its extension says."""
    kind = row.get("kind") or media_kind(path)
    if kind == "video":
        return "video"
    return "image" if kind == "image" else None


def _media_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and media_kind(p) is not None)


def _item(path: Path, label: int, group: str, dataset: str, method: str) -> LabeledItem:
    kind = media_kind(path)
    assert kind is not None  # callers only pass media files
    return LabeledItem(path, label, group, dataset, method, kind)


# --- layout detectors ---------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """A dataset layout: `detect(root)` says whether `root` has it, `discover(root)` lists it."""

    name: str
    detect: Callable[[Path], bool]
    discover: Callable[[Path], list[LabeledItem]]


LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    """Add a layout; earlier registrations are tried first."""
    LAYOUTS[layout.name] = layout
    return layout


def list_layouts() -> list[str]:
    return list(LAYOUTS)


# labels.csv ---------------------------------------------------------------------------------

_CELEB_MODEL = re.compile(r"\(celeb model ([^)]+)\)")
_DFDC_CLIP = re.compile(r"(?:^|_)([a-z]{10})_\d+(?:_\d+)?$")
_LABEL_WORDS = {"fake": FAKE, "1": FAKE, "real": REAL, "0": REAL}


def infer_group(stem: str, dataset: str) -> str:
    """Identity/source id when labels.csv has no `group` column.

    A dataset named `... (celeb model NAME)` (DeepFaceLive swaps) groups by NAME; a DFDC clip
    name `..._<10 letters>_<n>_<m>` by its 10-letter video id; anything else by file stem.
    """
    match = _CELEB_MODEL.search(dataset)
    if match:
        return "model:" + match.group(1)
    match = _DFDC_CLIP.search(stem)
    if match and "dfdc" in (stem + dataset).lower():
        return "dfdc:" + match.group(1)
    return stem


def _detect_labels_csv(root: Path) -> bool:
    return (root / "labels.csv").is_file()


def _discover_labels_csv(root: Path) -> list[LabeledItem]:
    """`labels.csv` with columns file,label[,kind][,dataset][,group][,method]."""
    items = []
    with open(root / "labels.csv", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"file", "label"} - set(reader.fieldnames or ())
        if missing:
            raise UsageError(f"labels.csv needs the columns file and label (missing {missing})")
        for line, row in enumerate(reader, start=2):
            label = _LABEL_WORDS.get(row["label"].strip().lower())
            if label is None:
                raise UsageError(
                    f"labels.csv line {line}: label must be real/fake or 0/1, got {row['label']!r}"
                )
            path = root / row["file"]
            kind = _row_kind(row, path)
            if kind is None:
                continue
            dataset = (row.get("dataset") or root.name).strip()
            base = _CELEB_MODEL.sub("", dataset).strip() or dataset
            group = (row.get("group") or "").strip() or infer_group(path.stem, dataset)
            method = (row.get("method") or "").strip() or (base if label else "real")
            items.append(LabeledItem(path, label, group, base, method, kind))
    return items


# manifest.csv with identity and generator columns (../shared/data/wild) -------------------


def _detect_identity_manifest(root: Path) -> bool:
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        return False
    with open(manifest, newline="") as handle:
        header = next(csv.reader(handle), [])
    return {"file", "label", "identity", "generator"} <= set(header)


def _discover_identity_manifest(root: Path) -> list[LabeledItem]:
    """`manifest.csv` with columns file,label,identity,generator[,kind]: group is the
    identity (the person shown), method the generator (`real` for reals)."""
    items = []
    with open(root / "manifest.csv", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            label = _LABEL_WORDS.get(row["label"].strip().lower())
            if label is None:
                raise UsageError(
                    f"manifest.csv line {line}: label must be real/fake or 0/1, "
                    f"got {row['label']!r}"
                )
            path = root / row["file"]
            kind = _row_kind(row, path)
            if kind is None:
                continue
            group = row["identity"].strip() or path.stem
            method = row["generator"].strip() or ("fake" if label else "real")
            items.append(LabeledItem(path, label, group, root.name, method, kind))
    return items


# FaceForensics++ ----------------------------------------------------------------------------


def _detect_ffpp(root: Path) -> bool:
    return (root / "original_sequences").is_dir() or (root / "manipulated_sequences").is_dir()


def _discover_ffpp(root: Path) -> list[LabeledItem]:
    """`original_sequences/<src>/<c>/videos/000.mp4` (real) and
    `manipulated_sequences/<Method>/<c>/videos/000_003.mp4` (fake: target 000, source 003).

    Group: the connected set of video ids linked by fakes (union-find over the pairs), so a
    fake and both of the real videos it was made from always share a split.
    """
    reals = [(p, REAL, "real") for p in _media_files(root / "original_sequences")]
    fakes = []
    manipulated = root / "manipulated_sequences"
    if manipulated.is_dir():
        for method_dir in sorted(p for p in manipulated.iterdir() if p.is_dir()):
            fakes += [(p, FAKE, method_dir.name) for p in _media_files(method_dir)]
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def ids(path: Path) -> list[str]:
        return re.findall(r"\d+", path.stem) or [path.stem]

    for path, _, _ in reals + fakes:
        first, *rest = ids(path)
        for other in rest:
            a, b = find(first), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [
        _item(path, label, "ffpp:" + find(ids(path)[0]), "FaceForensics++", method)
        for path, label, method in reals + fakes
    ]


# DFDC ---------------------------------------------------------------------------------------


def _dfdc_metadata_files(root: Path) -> list[Path]:
    return sorted(root.rglob("metadata.json"))


def _detect_dfdc(root: Path) -> bool:
    return bool(_dfdc_metadata_files(root))


def _discover_dfdc(root: Path) -> list[LabeledItem]:
    """Folders with `metadata.json`: {"x.mp4": {"label": "FAKE", "original": "y.mp4"}, ...}.
    Group: the original (real) video, so a fake sits with its source."""
    items = []
    for meta_path in _dfdc_metadata_files(root):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read DFDC metadata: {exc}") from None
        for name, entry in sorted(meta.items()):
            path = meta_path.parent / name
            if media_kind(path) is None:
                continue
            label = FAKE if str(entry.get("label", "")).upper() == "FAKE" else REAL
            original = entry.get("original") or name
            group = "dfdc:" + Path(original).stem
            items.append(_item(path, label, group, "DFDC", "dfdc" if label else "real"))
    return items


# Celeb-DF (v2) ------------------------------------------------------------------------------

_CELEB_FOLDERS = {"Celeb-real": REAL, "YouTube-real": REAL, "Celeb-synthesis": FAKE}


def _detect_celebdf(root: Path) -> bool:
    return (root / "List_of_testing_videos.txt").is_file() or (root / "Celeb-synthesis").is_dir()


def celebdf_test_list(root: Path) -> set[str]:
    """Relative paths (e.g. `Celeb-real/id0_0000.mp4`) of Celeb-DF's official test videos."""
    listing = root / "List_of_testing_videos.txt"
    if not listing.is_file():
        return set()
    names = set()
    for line in listing.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            names.add(parts[1])
    return names


def _discover_celebdf(root: Path) -> list[LabeledItem]:
    """`Celeb-real/id0_0000.mp4`, `YouTube-real/00000.mp4`, `Celeb-synthesis/id0_id1_0000.mp4`.

    Group: the celebrity ids (`id0`), so a person's real and swapped videos stay together.
    `dataset` is `Celeb-DF-v2-test` for files in the official test list, else `Celeb-DF-v2`.
    """
    test = celebdf_test_list(root)
    items = []
    for folder, label in _CELEB_FOLDERS.items():
        for path in _media_files(root / folder):
            ids = re.findall(r"id\d+", path.stem)
            group = "celebdf:" + (min(ids) if ids else path.stem)
            rel = f"{folder}/{path.name}"
            dataset = "Celeb-DF-v2-test" if rel in test else "Celeb-DF-v2"
            items.append(_item(path, label, group, dataset, "celeb-synthesis" if label else "real"))
    return items


# real/ + fake/ folders ----------------------------------------------------------------------


def _detect_real_fake(root: Path) -> bool:
    return (root / "real").is_dir() or (root / "fake").is_dir()


def _discover_real_fake(root: Path) -> list[LabeledItem]:
    """`real/` and `fake/` folders; a subfolder of `fake/` names the method. Group: file stem."""
    items = []
    for name, label in (("real", REAL), ("fake", FAKE)):
        folder = root / name
        for path in _media_files(folder):
            rel = path.relative_to(folder)
            method = rel.parts[0] if label and len(rel.parts) > 1 else ("fake" if label else "real")
            items.append(_item(path, label, f"{root.name}:{path.stem}", root.name, method))
    return items


register_layout(Layout("identity-manifest", _detect_identity_manifest, _discover_identity_manifest))
register_layout(Layout("labels-csv", _detect_labels_csv, _discover_labels_csv))
register_layout(Layout("faceforensics", _detect_ffpp, _discover_ffpp))
register_layout(Layout("dfdc", _detect_dfdc, _discover_dfdc))
register_layout(Layout("celeb-df", _detect_celebdf, _discover_celebdf))
register_layout(Layout("real-fake-folders", _detect_real_fake, _discover_real_fake))


def detect_layout(root: Path) -> Layout | None:
    """The first registered layout that recognises `root`, or None."""
    for layout in LAYOUTS.values():
        if layout.detect(root):
            return layout
    return None


def discover_labeled(root: Path | str) -> list[LabeledItem]:
    """Every labeled media file under `root`, in a stable order.

    Raises InputNotFoundError when `root` is missing, UsageError when no layout matches.
    """
    root = Path(root)
    if not root.exists():
        raise InputNotFoundError("no such folder", root)
    layout = detect_layout(root)
    if layout is None:
        raise UsageError(
            "no known dataset layout (expected labels.csv, real/ + fake/, FaceForensics++, "
            "DFDC metadata.json or Celeb-DF); pass folders of real faces as `real`",
            root,
            option="real",
        )
    return layout.discover(root)


def discover_real(root: Path | str, dataset: str | None = None) -> list[LabeledItem]:
    """Every media file under `root` as a real item (faces for self-blending).

    Group: `<folder>:<file stem>` (each file one identity); a video is one identity.
    """
    root = Path(root)
    if not root.exists():
        raise InputNotFoundError("no such folder", root)
    files = [root] if root.is_file() else _media_files(root)
    name = dataset or root.name
    return [_item(p, REAL, f"{name}:{p.stem}", name, "real") for p in files if media_kind(p)]


# --- splitting ------------------------------------------------------------------------------


def split_by_group(
    items: Iterable[LabeledItem], val_fraction: float, seed: int = 0
) -> tuple[list[LabeledItem], list[LabeledItem]]:
    """(train, val) with whole groups on one side, about `val_fraction` of each
    (dataset, label) stratum's groups in val, chosen by `seed`.

    A stratum with a single group goes to train unless `val_fraction >= 0.5`, then val
    gets it when the seeded coin says so.
    """
    if not 0.0 <= val_fraction <= 1.0:
        raise UsageError(f"validation fraction must be in [0, 1], got {val_fraction}")
    items = list(items)
    strata: dict[tuple[str, int], list[str]] = {}
    for item in items:
        groups = strata.setdefault((item.dataset, item.label), [])
        if item.group not in groups:
            groups.append(item.group)
    rng = random.Random(seed)
    val_groups: set[str] = set()
    for key in sorted(strata):
        groups = sorted(strata[key])
        rng.shuffle(groups)
        exact = len(groups) * val_fraction
        count = int(exact) + (1 if rng.random() < exact - int(exact) else 0)
        val_groups.update(groups[:count])
    train = [i for i in items if i.group not in val_groups]
    val = [i for i in items if i.group in val_groups]
    return train, val
