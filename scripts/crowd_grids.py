"""How often do real videos of several people reach `fake`? (2x2 "video call" grids)

    python scripts/crowd_grids.py EVALUATION_JSON OUT_DIR [--grids 41] [--model SPEC]

The held-out real videos are nearly all one person (162 of 166 on v12's table), but users
bring interviews, panels and news clips. A video's verdict follows its most suspicious track,
so every extra face is another chance of a false alarm. This script takes the held-out real
videos of an `evaluate` run (its `evaluation.json`), shuffles them (seed 0) and builds, per
four of them, a 1920x1080 grid (each clip scaled into a 960x540 tile, 25 fps, as long as the
shortest; H.264 crf 18) and the four tiles alone on the same black canvas in the same place and
for the same time, so a tile alone has the grid's pixels and length. It analyzes all of them
with the analyzer's default options (`deepfake-analyzer analyze`, the model given or the
shipped one) and prints the share of grids and of lone tiles whose verdict reached `fake` and
`suspicious`, and how many faces found in a tile alone have no face in their grid's tile (the
detector missed them beside the others). Clips, reports and `summary.json` go in OUT_DIR; a rerun
reuses what is there.

Since a verdict over several faces reads raised thresholds (scoring/aggregate.py), each share
is also given as it would be at the model's own thresholds (the verdict's score against them:
`fake_at_model_thresholds`...), from the same reports. `--with-fakes` also builds, per grid,
a mixed grid: the same clips with one tile (grid g: tile g mod 4) replaced by a held-out fake
video (shuffled, seed 0), and that fake alone in its corner: what raising the thresholds costs
in fakes caught when one face of several is fake.
Measured for v12: models/deepfake_v12.md ("How much a face's size matters", and "Thresholds
raised for several faces", 2026-12-05).
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

TILE = (
    "scale=960:540:force_original_aspect_ratio=decrease,"
    "pad=960:540:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25"
)
CORNERS = ("0_0", "960_0", "0_540", "960_540")
ENCODE = ("-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p")


def held_out_videos(evaluation: Path, label: int) -> list[str]:
    data = json.loads(evaluation.read_text())
    videos = sorted(
        v["source"] for v in data["videos"] if v["kind"] == "video" and v["label"] == label
    )
    random.Random(0).shuffle(videos)
    return videos


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", *args], check=True)


def _seconds(path: Path) -> str:
    capture = cv2.VideoCapture(str(path))
    try:
        return f"{capture.get(cv2.CAP_PROP_FRAME_COUNT) / capture.get(cv2.CAP_PROP_FPS):.3f}"
    finally:
        capture.release()


def make_grid(
    name: str, clips: list[str], media: Path, alone: tuple[int, ...] = (0, 1, 2, 3)
) -> list[dict[str, object]]:
    """The grid of four clips and the clips of `alone` each alone in its corner; their plan
    rows."""
    grid = media / f"{name}_grid.mp4"
    if not grid.exists():
        inputs = [arg for clip in clips for arg in ("-i", clip)]
        tiles = ";".join(f"[{i}:v]{TILE}[t{i}]" for i in range(4))
        stack = f"[t0][t1][t2][t3]xstack=inputs=4:layout={'|'.join(CORNERS)}:shortest=1[v]"
        _ffmpeg(*inputs, "-filter_complex", f"{tiles};{stack}", "-map", "[v]", "-t", "10",
                *ENCODE, str(grid))  # fmt: skip
    rows: list[dict[str, object]] = [{"grid": name, "tile": None, "video": str(grid)}]
    seconds = _seconds(grid)
    for index, (clip, corner) in enumerate(zip(clips, CORNERS, strict=True)):
        if index not in alone:
            continue
        lone = media / f"{name}_tile{index}.mp4"
        if not lone.exists():
            x, y = corner.split("_")
            canvas = f"[0:v]{TILE}[t];color=black:s=1920x1080:r=25[bg];[bg][t]overlay={x}:{y}"
            _ffmpeg("-i", clip, "-filter_complex", f"{canvas}:shortest=1[v]", "-map", "[v]",
                    "-t", seconds, *ENCODE, str(lone))  # fmt: skip
        rows.append({"grid": name, "tile": index, "video": str(lone), "source": clip})
    return rows


@functools.cache
def read_report(reports: Path, video: str) -> dict[str, Any]:
    """`video`'s analysis report, read once."""
    return json.loads((reports / f"{Path(video).stem}.report.json").read_text())


def verdict(reports: Path, video: str) -> tuple[str, str, int]:
    """(the verdict's label, its label at the model's own thresholds, how many tracks)."""
    report = read_report(reports, video)
    score, model = report["verdict"]["score"], report["model"]["thresholds"]
    own = "real" if score is None or score < model["suspicious"] else "suspicious"
    own = "fake" if score is not None and score >= model["fake"] else own
    return report["verdict"]["label"], own, len(report["tracks"])


def corners_with_faces(reports: Path, video: str) -> set[int]:
    """Which tiles (`CORNERS` index) hold a face the analyzer found in `video` (a box's
    centre decides)."""
    report = read_report(reports, video)
    return {
        (face["box_xyxy"][0] + face["box_xyxy"][2] >= 1920)
        + 2 * (face["box_xyxy"][1] + face["box_xyxy"][3] >= 1080)
        for frame in report["frames"]
        for face in frame["faces"]
    }


def missed(reports: Path, rows: list[dict[str, object]]) -> tuple[int, int]:
    """(faces found in a tile alone, how many of them have no face in their grid's tile)."""
    grids = {r["grid"]: corners_with_faces(reports, str(r["video"])) for r in rows
             if r["tile"] is None}  # fmt: skip
    found = [
        r for r in rows if r["tile"] is not None and corners_with_faces(reports, str(r["video"]))
    ]
    return len(found), sum(int(str(r["tile"])) not in grids[r["grid"]] for r in found)


def shares(rows: list[tuple[str, str, int]], prefix: str) -> dict[str, float]:
    """Shares of `rows` at `fake` and at `suspicious` or `fake`, as read and at the model's
    own thresholds."""

    def share(at: int, labels: tuple[str, ...]) -> float:
        return float(np.mean([row[at] in labels for row in rows]))

    return {
        f"{prefix}_at_fake": share(0, ("fake",)),
        f"{prefix}_at_suspicious_or_fake": share(0, ("suspicious", "fake")),
        f"{prefix}_at_fake_at_model_thresholds": share(1, ("fake",)),
        f"{prefix}_at_suspicious_or_fake_at_model_thresholds": share(1, ("suspicious", "fake")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evaluation", type=Path, help="an evaluate run's evaluation.json")
    parser.add_argument("out", type=Path)
    parser.add_argument("--grids", type=int, default=41, help="how many grids (4 clips each)")
    parser.add_argument("--model", help="a model spec (default: the shipped model)")
    parser.add_argument(
        "--with-fakes", action="store_true", help="also grids with one held-out fake tile"
    )
    args = parser.parse_args(argv)
    reals = held_out_videos(args.evaluation, 0)
    fakes = held_out_videos(args.evaluation, 1)
    if len(reals) < 4 * args.grids:
        parser.error(f"{len(reals)} held-out real videos make {len(reals) // 4} grids at most")
    if args.with_fakes and len(fakes) < args.grids:
        parser.error(f"{len(fakes)} held-out fake videos make {len(fakes)} mixed grids at most")
    media, reports = args.out / "media", args.out / "reports"
    media.mkdir(parents=True, exist_ok=True)
    plan = [row for g in range(args.grids)
            for row in make_grid(f"grid{g:02d}", reals[4 * g:4 * g + 4], media)]  # fmt: skip
    mixed_plan: list[dict[str, object]] = []
    for g in range(args.grids if args.with_fakes else 0):
        clips = reals[4 * g : 4 * g + 4]
        clips[g % 4] = fakes[g]
        mixed_plan += make_grid(f"mixed{g:02d}", clips, media, alone=(g % 4,))
    command = [sys.executable, "-m", "deepfake_analyzer", "analyze", str(media), "-o",
               str(reports), "--format", "json", "--quiet"]  # fmt: skip
    if args.model:
        command += ["--model", args.model]
    wanted = [reports / f"{Path(str(r['video'])).stem}.report.json" for r in plan + mixed_plan]
    if not all(path.exists() for path in wanted):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    grids = [verdict(reports, str(r["video"])) for r in plan if r["tile"] is None]
    tiles = [verdict(reports, str(r["video"])) for r in plan if r["tile"] is not None]
    summary: dict[str, float] = {
        "grids": len(grids),
        "grid_tracks_mean": float(np.mean([tracks for *_, tracks in grids])),
        **shares(grids, "grids"),
        "tiles_alone": len(tiles),
        **shares(tiles, "tiles"),
    }
    found, lost = missed(reports, plan)
    summary |= {"real_faces_alone": found, "real_faces_missed_in_grid": lost}
    if mixed_plan:
        mixed = [verdict(reports, str(r["video"])) for r in mixed_plan if r["tile"] is None]
        lone = [verdict(reports, str(r["video"])) for r in mixed_plan if r["tile"] is not None]
        summary |= {"mixed_grids": len(mixed), **shares(mixed, "mixed_grids")}
        summary |= {"fake_tiles_alone": len(lone), **shares(lone, "fake_tiles")}
        found, lost = missed(reports, mixed_plan)
        summary |= {"fake_faces_alone": found, "fake_faces_missed_in_grid": lost}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    for what, name in (("grids", "real grids"), ("tiles", "their tiles alone"),
                       ("mixed_grids", "grids with one fake tile"),
                       ("fake_tiles", "the fake tiles alone")):  # fmt: skip
        if f"{what}_at_fake" in summary:
            print(
                f"{name}: {summary[f'{what}_at_fake']:.1%} at fake, "
                f"{summary[f'{what}_at_suspicious_or_fake']:.1%} suspicious or fake (at the "
                f"model's own thresholds {summary[f'{what}_at_fake_at_model_thresholds']:.1%}, "
                f"{summary[f'{what}_at_suspicious_or_fake_at_model_thresholds']:.1%})"
            )
    for kind in ("real", "fake"):
        if f"{kind}_faces_alone" in summary:
            print(f"{kind} faces found in a tile alone, missed in their grid: "
                  f"{summary[f'{kind}_faces_missed_in_grid']:.0f} of "
                  f"{summary[f'{kind}_faces_alone']:.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
