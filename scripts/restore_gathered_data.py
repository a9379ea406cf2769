"""Rebuild the gathered training media (`/work/extra-data*`) from the committed manifests.

    python scripts/restore_gathered_data.py --missing     # the repositories to fetch first
    python scripts/restore_gathered_data.py [--mirror /work/.mirror] [--root /work] [--jobs 2]

Machines are wiped between sessions; the media were never committed (they are not ours to
redistribute), but every row of `docs/data/extra-*.manifest.csv` names the repository, commit,
path and sha256 of its original and the processing applied. First bring each repository named
in the `source` column here with the search tool's `fetch` (it lands in
`/work/.mirror/owner+name/repo`); this script then reads every original from that git mirror
at the recorded commit, checks its sha256 (`orig_sha256=` in `processing`, else the row's
`sha256`), redoes the processing and writes `ROOT/<folder>/<file>` plus the folder's
`manifest.csv`. Unchanged originals come back byte-exact; re-encoded ones (ffmpeg clips, crops,
JPEG) come back as the same frames re-encoded the same way, not bit-for-bit. A row whose mirror,
commit or blob is missing, or whose original's sha256 differs, is skipped and reported, never
guessed. Each folder gets `restore-report.json`; the exit code is 1 when any row was skipped.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

DOCS = Path(__file__).resolve().parent.parent / "docs" / "data"

# manifest stem -> the folder it described (each manifest's .md says where its media lived)
FOLDERS = {
    "extra-2026-11-29": "extra-data",
    "extra-2026-11-30": "extra-data-2",
    "extra-2026-11-30b": "extra-data-3",
    "extra-2026-11-30c": "extra-data-4",
    "extra-2026-12-01": "extra-data-5",
    "extra-2026-12-02": "extra-data-6",
    "extra-2026-12-02b": "extra-data-7",
    "extra-2026-12-03": "extra-data-8",
    "extra-2026-12-03b": "extra-data-9",
    "extra-2026-12-03c": "extra-data-10",
    "extra-2026-12-06": "extra-data-11",
    "extra-2026-12-06b": "extra-data-12",
    "extra-2026-12-06c": "extra-data-13",
    "extra-2026-12-06d": "extra-data-14",
    "extra-2026-12-06e": "extra-data-15",
    "extra-2026-12-07": "extra-data-16",
    "extra-2026-12-07b": "extra-data-17",
    "extra-2026-12-07c": "extra-data-18",
    "extra-2026-12-07d": "extra-data-19",
    "extra-2026-12-07e": "extra-data-20",
    "extra-2026-12-07f": "extra-data-21",
    "extra-2026-12-07g": "extra-data-22",
    "extra-2026-12-07h": "extra-data-23",
    "extra-2026-12-07i": "extra-data-24",
    "extra-2026-12-07j": "extra-data-25",
    "extra-2026-12-07k": "extra-data-26",
    "extra-2026-12-07l": "extra-data-27",
    "extra-2026-12-07m": "extra-data-28",
    "extra-2026-12-07n": "extra-data-29",
    "extra-2026-12-08": "extra-data-30",
    "extra-2026-12-08b": "extra-data-31",
    "extra-2026-12-08c": "extra-data-32",
    "extra-2026-12-08d": "extra-data-33",
    "extra-2026-12-08e": "extra-data-34",
    "extra-2026-12-08f": "extra-data-35",
    "extra-2026-12-08g": "extra-data-36",
    "extra-2026-12-08h": "extra-data-37",
    "extra-2026-12-08i": "extra-data-38",
    "extra-2026-12-08j": "extra-data-39",
    "extra-2026-12-08k": "extra-data-40",
    "extra-2026-12-08l": "extra-data-41",
}

ORIG = re.compile(r"orig_sha256=([0-9a-f]{64})")
CLIP = re.compile(
    r"ffmpeg -ss (?P<ss>[\d.]+) -t (?P<t>[\d.]+)(?: crop=(?P<crop>\d+:\d+:\d+:\d+))?; "
    r"longer side<=(?P<side>\d+); libx264 crf (?P<crf>\d+) yuv420p; no audio$"
)
PANEL = re.compile(
    r"(?:frame (?P<frame>\d+); )?ffmpeg crop=(?P<crop>\d+:\d+:\d+:\d+) \(w:h:x:y\) of grid panel; "
    r"saved as (?:JPEG q=(?P<q>\d+) \(ffmpeg -q:v \d+\)|PNG)$"
)
FRAME = re.compile(r"frame (?P<frame>\d+); saved as PNG$")
BOX = re.compile(
    r"crop box \(l,t,r,b\)=\((?P<box>\d+, \d+, \d+, \d+)\) of \(\d+, \d+\); "
    r"re-encoded JPEG q(?P<q>\d+)$"
)
RESIZE = re.compile(r"resized longer side to (?P<side>\d+); re-encoded JPEG q(?P<q>\d+)$")
JPEG = re.compile(r"re-encoded JPEG q(?P<q>\d+)$")
KEPT = ("unchanged original bytes", "original bytes kept")


@dataclass(frozen=True)
class Outcome:
    file: str
    status: str  # "exact", "rebuilt", "present" or "skipped"
    reason: str = ""


def fetched(mirror: Path, source: str) -> Path:
    """Where `fetch github:SOURCE` puts the repository's snapshot."""
    return mirror / source.replace("/", "+") / "repo"


def read_blob(mirror: Path, source: str, commit: str, path: str) -> bytes:
    git_dir = fetched(mirror, source)
    if (git_dir / ".git").is_dir():  # some snapshots land with a work tree
        git_dir = git_dir / ".git"
    if not git_dir.is_dir():
        raise LookupError(f"no mirror of {source} (fetch github:{source})")
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "blob", f"{commit}:{path}"],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        raise LookupError(f"{source}@{commit[:10]}:{path} not in the mirror")
    return done.stdout


def even_scale(side: int) -> str:
    fit = f"min(1\\,{side}/max(iw\\,ih))"
    return f"scale=trunc(iw*{fit}/2)*2:trunc(ih*{fit}/2)*2"


def step_of(processing: str) -> str:
    """The processing step of a manifest row, without its `orig_sha256=` record."""
    return ORIG.sub("", processing).lstrip("; ").strip()


def known_step(processing: str) -> bool:
    """Whether `rebuild` knows how to redo this row's processing."""
    step = step_of(processing)
    forms = (CLIP, PANEL, FRAME, BOX, RESIZE, JPEG)
    return step in KEPT or step == "saved as PNG" or any(f.match(step) for f in forms)


def rebuild(original: bytes, suffix: str, processing: str, target: Path) -> bool:
    """Write `target` from `original`; True when the bytes are kept as they were."""
    step = step_of(processing)
    if step in KEPT:
        target.write_bytes(original)
        return True
    if step == "saved as PNG":
        Image.open(io.BytesIO(original)).save(target, format="PNG")
        return False
    if match := CLIP.match(step):
        filters = ([f"crop={match['crop']}"] if match["crop"] else []) + [
            even_scale(int(match["side"]))
        ]
        seek = ["-ss", match["ss"], "-t", match["t"]]
        encode = ["-an", "-c:v", "libx264", "-crf", match["crf"], "-pix_fmt", "yuv420p"]
        run_ffmpeg(original, suffix, seek, [*vf(filters), *encode], target)
        return False
    if match := PANEL.match(step) or FRAME.match(step):
        groups = match.groupdict()
        filters = [f"select=eq(n\\,{groups['frame']})"] if groups.get("frame") else []
        if groups.get("crop"):
            filters.append(f"crop={groups['crop']}")
        quality = ["-q:v", groups["q"]] if groups.get("q") else []
        run_ffmpeg(original, suffix, [], [*vf(filters), "-frames:v", "1", *quality], target)
        return False
    image = Image.open(io.BytesIO(original)).convert("RGB")
    if match := BOX.match(step):
        left, top, right, bottom = (int(v) for v in match["box"].split(", "))
        image = image.crop((left, top, right, bottom))
    elif match := RESIZE.match(step):
        side = int(match["side"])
        scale = side / max(image.size)
        if scale < 1:
            size = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size, Image.Resampling.LANCZOS)
    elif not (match := JPEG.match(step)):
        raise ValueError(f"unknown processing {processing!r}")
    image.save(target, format="JPEG", quality=int(match["q"]))
    return False


def vf(filters: list[str]) -> list[str]:
    return ["-vf", ",".join(filters)]


def run_ffmpeg(
    original: bytes, suffix: str, before: list[str], after: list[str], target: Path
) -> None:
    """ffmpeg [before] -i <original, as a temporary file> [after] target."""
    with tempfile.NamedTemporaryFile(suffix=suffix) as handle:
        handle.write(original)
        handle.flush()
        cmd = [ffmpeg_exe(), "-v", "error", "-y", *before, "-i", handle.name, *after, str(target)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not target.exists() or target.stat().st_size == 0:
        raise RuntimeError(f"ffmpeg failed: {done.stderr.strip()[-200:]}")


def restore_row(row: dict[str, str], mirror: Path, folder: Path) -> Outcome:
    target = folder / row["file"]
    if target.exists():
        return Outcome(row["file"], "present")
    processing = row["processing"]
    found = ORIG.search(processing)
    expected = found.group(1) if found else row["sha256"]
    try:
        original = read_blob(mirror, row["source"], row["commit_or_version"], row["source_path"])
    except LookupError as error:
        return Outcome(row["file"], "skipped", str(error))
    digest = hashlib.sha256(original).hexdigest()
    if digest != expected:
        return Outcome(row["file"], "skipped", f"original sha256 {digest[:12]} != {expected[:12]}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(".part-" + target.name)
    try:
        kept = rebuild(original, Path(row["source_path"]).suffix, processing, partial)
    except (RuntimeError, ValueError, OSError) as error:
        partial.unlink(missing_ok=True)
        return Outcome(row["file"], "skipped", str(error))
    partial.replace(target)
    return Outcome(row["file"], "exact" if kept else "rebuilt")


def tally(outcomes: list[Outcome]) -> dict[str, int]:
    return {
        s: sum(o.status == s for o in outcomes) for s in ("exact", "rebuilt", "present", "skipped")
    }


def restore(
    manifest: Path, folder: Path, mirror: Path, jobs: int
) -> tuple[list[Outcome], dict[str, int]]:
    """Each row's outcome, and how many of each status (also in the folder's report)."""
    with manifest.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest, folder / "manifest.csv")
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        outcomes = list(pool.map(lambda row: restore_row(row, mirror, folder), rows))
    report: dict[str, Any] = {
        "manifest": manifest.name,
        "counts": tally(outcomes),
        "skipped": [
            {"file": o.file, "reason": o.reason} for o in outcomes if o.status == "skipped"
        ],
    }
    (folder / "restore-report.json").write_text(json.dumps(report, indent=2) + "\n")
    return outcomes, report["counts"]


def sources(only: list[str]) -> list[str]:
    """The repositories the manifests (those of `only`, when given) read from, sorted."""
    names: set[str] = set()
    for stem in FOLDERS:
        if not only or stem in only:
            with (DOCS / f"{stem}.manifest.csv").open(newline="") as handle:
                names.update(row["source"] for row in csv.DictReader(handle))
    return sorted(names)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mirror", type=Path, default=Path("/work/.mirror"))
    parser.add_argument(
        "--root", type=Path, default=Path("/work"), help="where the extra-data* folders go"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--only", action="append", default=[], help="manifest stem(s), e.g. extra-2026-12-01"
    )
    parser.add_argument(
        "--list", action="store_true", help="only print the folders it writes, one per line"
    )
    parser.add_argument(
        "--missing",
        action="store_true",
        help="only print the repositories to fetch first (none of --mirror), one per line",
    )
    args = parser.parse_args()
    if args.list:
        print("\n".join(str(args.root / name) for name in FOLDERS.values()))
        return 0
    if args.missing:
        for source in sources(args.only):
            if not fetched(args.mirror, source).is_dir():
                print(source)
        return 0
    skipped = 0
    for stem, name in FOLDERS.items():
        if args.only and stem not in args.only:
            continue
        outcomes, counts = restore(
            DOCS / f"{stem}.manifest.csv", args.root / name, args.mirror, args.jobs
        )
        print(f"{name}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for outcome in outcomes:
            if outcome.status == "skipped":
                print(f"  skipped {outcome.file}: {outcome.reason}", file=sys.stderr)
        skipped += counts["skipped"]
    return 1 if skipped else 0


if __name__ == "__main__":
    raise SystemExit(main())
