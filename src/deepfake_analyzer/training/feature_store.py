"""Features and scores of cached face crops, kept beside the crop cache so that a refit of
`train-texture` (another L2 grid, other shares, another blend) reads them instead of running the
networks again (on 2 cores the networks are 80 of its 90 minutes).

- A *set* is one function of a crop's pixels (one region's texture features, one classifier's
  probability), named by everything its values depend on (`set_name`): its kind, the weights'
  sha256, the region box, the input size and `FEATURE_VERSION`.
- A *key* names one crop's pixels (`crop_key`): the cached file's name, size and modification
  time, and what was done to it (self-blended, or which augmented copy by which recipe).
- Values are written in shards, one `.npz` per computed chunk (its keys and rows), written
  atomically: an interrupted run keeps every finished chunk, and a rerun computes only the
  crops whose keys no shard holds (a new data file costs its own crops).

Delete `<crop cache>/features` to reclaim its space; nothing else reads it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepfake_analyzer.training.extract import CropCache, CropRecord

FEATURES_FOLDER = "features"
"""The store's folder inside the crop cache's folder."""
FEATURE_VERSION = 1
"""Bump when code that changes a stored value for the same crop file changes (self-blending,
augmentation, feature pooling, crop resizing): every set name changes with it."""

Compute = Callable[[np.ndarray], np.ndarray]
"""(N, S, S, 3) uint8 crops to (N, ...) values."""


def set_name(kind: str, *identity: object) -> str:
    """`kind` and a short hash of `identity` (with `FEATURE_VERSION`): a folder name."""
    digest = hashlib.sha1(repr((FEATURE_VERSION, *identity)).encode()).hexdigest()[:16]
    return f"{kind}-{digest}"


def crop_key(cache: CropCache, record: CropRecord, variant: str = "") -> str:
    """What names a crop's pixels: its cached file (name, size, modification time) and the
    `variant` made of it (e.g. self-blended)."""
    stat = cache.path_of(record).stat()
    return f"{record.crop}:{stat.st_size}:{stat.st_mtime_ns}{variant}"


@dataclass
class FeatureStore:
    """Sets of per-crop values in `root` (`<crop cache>/features`), read once per set."""

    root: Path
    _loaded: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    def known(self, name: str) -> dict[str, np.ndarray]:
        """Every stored row of set `name`, by key."""
        if name not in self._loaded:
            rows: dict[str, np.ndarray] = {}
            for shard in sorted((self.root / name).glob("*.npz")):
                try:
                    with np.load(shard, allow_pickle=False) as data:
                        rows.update(zip(data["keys"].tolist(), data["values"], strict=True))
                except (OSError, ValueError, KeyError):
                    continue  # unreadable: its chunk is computed again
            self._loaded[name] = rows
        return self._loaded[name]

    def add(self, name: str, keys: Sequence[str], values: np.ndarray) -> None:
        """Store one shard of set `name`: `values[i]` is the row of `keys[i]`."""
        if len(keys) != len(values):
            raise ValueError(f"{len(keys)} keys for {len(values)} rows")
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        shard = hashlib.sha1("\n".join(keys).encode()).hexdigest()[:20]
        handle, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, keys=np.array(keys, dtype=str), values=values)
        os.replace(tmp, folder / f"{shard}.npz")
        self.known(name).update(zip(keys, values, strict=True))


@dataclass(frozen=True)
class Chunk:
    """Crops handled together: their keys, and how to make the pixels of some of them (those at
    the given positions of `keys`) when a set lacks their values."""

    keys: tuple[str, ...]
    images: Callable[[Sequence[int]], np.ndarray]


def cached_values(
    store: FeatureStore,
    computes: dict[str, tuple[str, Compute]],
    chunks: Sequence[Chunk],
    done: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Per name of `computes` ((set name, function)), the rows of every chunk's keys in order:
    from the store where it holds them, else computed from the crops' images (made once per
    chunk for every set that lacks them) and stored. `done(n)` after each chunk: n crops so
    far."""
    rows: dict[str, list[np.ndarray]] = {name: [] for name in computes}
    count = 0
    known = {name: store.known(set_id) for name, (set_id, _) in computes.items()}
    for chunk in chunks:
        keys = chunk.keys
        missing = {name: [j for j, k in enumerate(keys) if k not in known[name]] for name in known}
        needed = sorted({j for positions in missing.values() for j in positions})
        if needed:
            images = chunk.images(needed)
            at = {j: n for n, j in enumerate(needed)}
            for name, (set_id, compute) in computes.items():
                if missing[name]:
                    chosen = images[[at[j] for j in missing[name]]]
                    values = np.asarray(compute(chosen))
                    store.add(set_id, [keys[j] for j in missing[name]], values)
        for name in computes:
            rows[name].extend(known[name][k] for k in keys)
        count += len(keys)
        if done is not None:
            done(count)
    return {name: np.asarray(r) for name, r in rows.items()}
