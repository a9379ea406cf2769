"""Write reports and batch summaries to disk: never clobber unless asked, always atomically."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from deepfake_analyzer.errors import AnalyzerError, OutputExistsError, UsageError
from deepfake_analyzer.report.csv_report import csv_bytes, csv_writer, report_to_csv, safe_row
from deepfake_analyzer.report.formats import REPORT_FORMATS
from deepfake_analyzer.report.html_report import html_bytes, report_to_html
from deepfake_analyzer.report.json_report import report_to_json
from deepfake_analyzer.report.ownership import is_batch_summary, is_report_for
from deepfake_analyzer.report.types import Report

BATCH_SUMMARY_STEM = "batch-summary"
MAX_NAME_BYTES = 255
"""The longest file name (in bytes, UTF-8) that common file systems accept (ext4, APFS, NTFS)."""
REPORT_SUFFIX = ".report"
MAX_STEM_BYTES = MAX_NAME_BYTES - len(f"{REPORT_SUFFIX}.{max(REPORT_FORMATS, key=len)}")
"""A report stem longer than this is shortened (`fit_stem`) so `<stem>.report.html` fits."""
_TEMP_PREFIX = ".report-"
BATCH_COLUMNS: tuple[str, ...] = (
    "path",
    "verdict",
    "score",
    "tracks",
    "faces",
    "duration_s",
    "elapsed_s",
    "error",
)

_RENDERERS: dict[str, Callable[[Report], bytes]] = {
    "json": lambda r: report_to_json(r).encode("ascii"),
    "csv": lambda r: csv_bytes(report_to_csv(r)),
    "html": lambda r: html_bytes(report_to_html(r)),
}


class ReportWriteError(AnalyzerError):
    """A report could not be written (permissions, full disk): choose another `output_dir`."""


@dataclass(frozen=True)
class BatchRow:
    """One input of a batch: its verdict, or the error that stopped it (verdict "error")."""

    path: str
    verdict: str
    score: float | None = None
    tracks: int = 0
    faces: int = 0
    duration_s: float = 0.0
    elapsed_s: float | None = None
    error: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in ("real", "suspicious", "fake", "no-face", "error"):
            raise ValueError(f"unknown batch verdict {self.verdict!r}")
        if (self.verdict == "error") != bool(self.error):
            raise ValueError("a batch row has an error exactly when its verdict is 'error'")

    @classmethod
    def from_report(cls, report: Report) -> BatchRow:
        return cls(
            path=report.input.path,
            verdict=report.verdict.label,
            score=report.verdict.score,
            tracks=len(report.tracks),
            faces=sum(len(f.faces) for f in report.frames),
            duration_s=report.input.duration_s,
            elapsed_s=report.timings_s.get("total"),
        )

    @classmethod
    def from_error(cls, path: str, error: str) -> BatchRow:
        return cls(path=path, verdict="error", error=error or "failed")

    @classmethod
    def from_result(cls, path: str, report: Report | None, error: str | None) -> BatchRow:
        """A row from whichever of (report, error) the analysis produced."""
        if error or report is None:
            return cls.from_error(path, error or "no report")
        return cls.from_report(report)

    def to_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "verdict": self.verdict,
            "score": None if self.score is None else round(float(self.score), 4),
            "tracks": self.tracks,
            "faces": self.faces,
            "duration_s": round(float(self.duration_s), 3),
            "elapsed_s": None if self.elapsed_s is None else round(float(self.elapsed_s), 3),
            "error": self.error,
        }


def report_paths(
    input_path: str | Path,
    output_dir: str | Path,
    formats: Sequence[str] = REPORT_FORMATS,
    stem: str | None = None,
) -> list[Path]:
    """Where `write_reports` puts each format: `<dir>/<stem>.report.<format>`.

    The stem is shortened by `fit_stem` when the names would exceed `MAX_NAME_BYTES`.
    """
    _check_formats(formats)
    stem = fit_stem(stem or Path(input_path).stem or "input")
    return [Path(output_dir) / f"{stem}{REPORT_SUFFIX}.{fmt}" for fmt in formats]


def fit_stem(stem: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    """`stem` when it fits in `max_bytes` (as the file system encodes it), else a shortened one.

    A long stem keeps as many whole characters as fit, then `~` and 8 hex digits of a hash of
    the full stem, so two long names that share a beginning still get different reports.
    """
    if len(os.fsencode(stem)) <= max_bytes:
        return stem
    digest = hashlib.sha256(os.fsencode(stem)).hexdigest()[:8]
    budget = max_bytes - len(digest) - 1
    kept: list[str] = []
    used = 0
    for char in stem:
        size = len(os.fsencode(char))
        if used + size > budget:
            break
        kept.append(char)
        used += size
    return f"{''.join(kept)}~{digest}"


def unique_stems(paths: Sequence[str | Path], root: str | Path | None = None) -> list[str]:
    """Report stems for a batch: the file stem, unless two inputs share it.

    Clashing inputs (`a/clip.mp4`, `b/clip.mp4`, `clip.mov`; compared ignoring case, as some
    file systems do) get their path relative to `root` with `/` and `.` turned into `__` and
    `_` (`a__clip_mp4`), so no report overwrites another. Every stem fits the file name limit
    (`fit_stem`); any clash left after that gets `-2`, `-3`, ...
    """
    stems = [Path(p).stem or "input" for p in paths]
    counts: dict[str, int] = {}
    for s in stems:
        counts[s.casefold()] = counts.get(s.casefold(), 0) + 1
    out: list[str] = []
    taken: set[str] = set()
    for path, stem in zip(paths, stems, strict=True):
        if counts[stem.casefold()] > 1:
            p = Path(path)
            if root is not None and p.is_relative_to(root):
                p = p.relative_to(root)
            parts = (part for part in p.parts if part not in ("/", ""))
            stem = "__".join(parts).replace(".", "_")
        candidate = fit_stem(stem)
        number = 1
        while candidate.casefold() in taken:
            number += 1
            candidate = fit_stem(stem, MAX_STEM_BYTES - len(f"-{number}")) + f"-{number}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out


def write_reports(
    report: Report,
    output_dir: str | Path,
    formats: Sequence[str] = REPORT_FORMATS,
    overwrite: bool = False,
    stem: str | None = None,
) -> list[Path]:
    """Write `<stem>.report.{json,csv,html}` into `output_dir` (created if missing).

    A target that exists is replaced when it is a report this tool wrote for the same input
    (a rerun; `ownership.is_report_for`) or when `overwrite` is True; any other file there
    makes it refuse (OutputExistsError) before writing anything. Each file is written to a
    temporary file in the same folder and renamed.
    """
    targets = report_paths(report.input.path, output_dir, formats, stem)
    contents = {path: _RENDERERS[fmt](report) for path, fmt in zip(targets, formats, strict=True)}
    kinds = dict(zip(targets, formats, strict=True))
    _write_all(
        contents,
        Path(output_dir),
        overwrite,
        replaceable=lambda target: is_report_for(target, kinds[target], report.input.path),
    )
    return targets


def batch_summary_to_csv(rows: Iterable[BatchRow]) -> str:
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(BATCH_COLUMNS)
    for row in rows:
        data = row.to_dict()
        writer.writerow(safe_row("" if data[c] is None else data[c] for c in BATCH_COLUMNS))
    return buffer.getvalue()


def write_batch_summary(
    rows: Iterable[BatchRow],
    output_dir: str | Path,
    overwrite: bool = False,
    formats: Sequence[str] = ("csv",),
) -> list[Path]:
    """Write `batch-summary.csv` (and `.json` when asked) with one row per input; a summary
    this tool wrote before is replaced, any other file there is refused unless `overwrite`."""
    rows = list(rows)
    unknown = sorted(set(formats) - {"csv", "json"})
    if unknown or not formats:
        raise UsageError(f"batch summary formats are csv and json, not {', '.join(unknown)}")
    contents: dict[Path, bytes] = {}
    for fmt in formats:
        target = Path(output_dir) / f"{BATCH_SUMMARY_STEM}.{fmt}"
        if fmt == "csv":
            contents[target] = csv_bytes(batch_summary_to_csv(rows))
        else:
            text = json.dumps([r.to_dict() for r in rows], indent=2, allow_nan=False) + "\n"
            contents[target] = text.encode("ascii")
    _write_all(
        contents,
        Path(output_dir),
        overwrite,
        replaceable=lambda target: is_batch_summary(target, target.suffix[1:], BATCH_COLUMNS),
    )
    return list(contents)


def check_output_dir(output_dir: str | Path) -> None:
    """UsageError now, before any analysis, when reports could not be written to `output_dir`:
    it is not a folder, or neither it nor the first existing folder above it is writable."""
    path = Path(output_dir)
    existing = path
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        is_dir = existing.is_dir()
    except OSError as exc:
        raise UsageError(
            f"output {path} cannot be used ({exc.strerror}): choose another `output_dir`",
            option="output_dir",
        ) from None
    if not is_dir:
        what = "exists and is not a folder" if existing == path else f"is inside {existing}, a file"
        raise UsageError(f"output {path} {what}: choose another `output_dir`", option="output_dir")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(
            f"output {path}: cannot write in {existing}; choose another `output_dir`",
            option="output_dir",
        )


def _check_formats(formats: Sequence[str]) -> None:
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown or not formats:
        raise UsageError(
            f"report `formats` are {', '.join(REPORT_FORMATS)}, not {', '.join(unknown) or 'none'}",
            option="formats",
        )
    if len(set(formats)) != len(formats):
        raise UsageError("a report format is listed twice in `formats`", option="formats")


def _write_all(
    contents: dict[Path, bytes],
    output_dir: Path,
    overwrite: bool,
    replaceable: Callable[[Path], bool] = lambda target: False,
) -> None:
    """Write every file or none; an existing target is replaced only when `overwrite` or
    `replaceable(target)` (a file this tool wrote for the same input)."""
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(
            f"output {output_dir} exists and is not a folder: choose another `output_dir`",
            option="output_dir",
        )
    replace: set[Path] = set()
    for target in contents:
        if _exists(target):
            if not (overwrite or replaceable(target)):
                raise OutputExistsError(
                    "a file that is not this input's report is in the way; pass `overwrite` "
                    "to replace it, or choose another `output_dir`",
                    target,
                    option=("overwrite", "output_dir"),
                )
            replace.add(target)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(f"cannot create output folder: {exc.strerror}", output_dir) from None
    created: list[Path] = []
    try:
        for target, data in contents.items():
            existed = _exists(target)
            _atomic_write(target, data, overwrite or target in replace)
            if not existed:
                created.append(target)
    except BaseException:
        for path in created:  # leave no half-written set of new reports behind
            path.unlink(missing_ok=True)
        raise


def _exists(target: Path) -> bool:
    """Whether a file (or a dangling link) is at `target`; OS failures become ReportWriteError."""
    try:
        return target.exists() or target.is_symlink()
    except OSError as exc:
        raise ReportWriteError(f"cannot check the report's path: {exc.strerror}", target) from None


def _atomic_write(target: Path, data: bytes, overwrite: bool) -> None:
    """Temp file in the target's folder, fsync, then rename (or hard-link: no-clobber)."""
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=_TEMP_PREFIX, suffix=".tmp")
    except OSError as exc:
        raise ReportWriteError(f"cannot write report: {exc.strerror}", target) from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, target)
        else:
            _link_no_clobber(tmp, target)
    except FileExistsError:
        raise OutputExistsError(
            "report appeared while writing; pass `overwrite` to replace it",
            target,
            option="overwrite",
        ) from None
    except OSError as exc:
        raise ReportWriteError(f"cannot write report: {exc.strerror}", target) from None
    finally:
        tmp.unlink(missing_ok=True)


def _link_no_clobber(tmp: Path, target: Path) -> None:
    """Publish `tmp` as `target` only if `target` does not exist (atomic where links work)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # file system without hard links: check, then rename
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(tmp, target)
