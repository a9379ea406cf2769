"""Turn SOURCE / PATH arguments (folders, media files, list files) into the inputs to analyze."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepfake_analyzer.errors import AnalyzerError, UsageError

LIST_FILE_SUFFIXES = (".txt", ".lst", ".list")
"""A SOURCE with one of these suffixes is a list file: one path per line."""


@dataclass(frozen=True)
class SourceEntry:
    """One clip to analyze, or a source that could not be read (`error` set)."""

    path: Path
    error: str = ""


def read_list_file(path: Path) -> list[Path]:
    """Paths in a list file: one per line; blank lines and `#` comments skipped; relative
    paths are relative to the list file's folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read the list file: {exc.strerror}", path) from None
    except UnicodeDecodeError:
        raise UsageError("the list file is not UTF-8 text: one path per line", path) from None
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = Path(line).expanduser()
        entries.append(entry if entry.is_absolute() else path.parent / entry)
    return entries


def collect_clips(
    sources: Sequence[str | Path], strict: bool = False, unique: bool = True
) -> list[SourceEntry]:
    """Folders are walked for media (recursively), list files are read, files are kept: the
    one input collection of `analyze`, `batch` and the runner.

    A missing path or an empty folder becomes an entry with an error (recorded as a failed
    clip, so one typo does not stop a batch of thousands); `strict` raises that error instead
    (`analyze` with one input). With `unique` (batch) a file given twice is kept once, first
    position wins; without (`analyze`) each mention is an input of its own. Raises
    UsageError when there is nothing to analyze at all.
    """
    from deepfake_analyzer.media.open import discover_media

    expanded: list[Path] = []
    for source in sources:
        path = Path(source).expanduser()
        if path.is_file() and path.suffix.lower() in LIST_FILE_SUFFIXES:
            expanded.extend(read_list_file(path))
        else:
            expanded.append(path)
    entries: list[SourceEntry] = []
    seen: set[Path] = set()
    for path in expanded:
        try:
            found = discover_media(path)
        except AnalyzerError as exc:
            if strict:
                raise
            found_entries = [SourceEntry(path, exc.message)]
        else:
            found_entries = [SourceEntry(p) for p in found]
        for entry in found_entries:
            key = entry.path.resolve() if entry.path.exists() else entry.path
            if not unique or key not in seen:
                seen.add(key)
                entries.append(entry)
    if not entries:
        raise UsageError("no clips to analyze: give folders, media files or a list file (.txt)")
    return entries
