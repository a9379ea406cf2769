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
`suspicious`. Clips, reports and `summary.json` go in OUT_DIR; a rerun reuses what is there.
Measured for v12: models/deepfake_v12.md ("How much a face's size matters", 2026-12-05).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from deepfake_analyzer.media.ffmpeg_exe import ffmpeg_exe

TILE = (
    "scale=960:540:force_original_aspect_ratio=decrease,"
    "pad=960:540:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25"
)
CORNERS = ("0_0", "960_0", "0_540", "960_540")
ENCODE = ("-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p")


def held_out_reals(evaluation: Path) -> list[str]:
    data = json.loads(evaluation.read_text())
    reals = sorted(v["source"] for v in data["videos"] if v["kind"] == "video" and v["label"] == 0)
    random.Random(0).shuffle(reals)
    return reals


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-y", "-v", "error", *args], check=True)


def _seconds(path: Path) -> str:
    capture = cv2.VideoCapture(str(path))
    try:
        return f"{capture.get(cv2.CAP_PROP_FRAME_COUNT) / capture.get(cv2.CAP_PROP_FPS):.3f}"
    finally:
        capture.release()


def make_grid(name: str, clips: list[str], media: Path) -> list[dict[str, object]]:
    """The grid of four clips and each clip alone in its corner; their plan rows."""
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
        alone = media / f"{name}_tile{index}.mp4"
        if not alone.exists():
            x, y = corner.split("_")
            canvas = f"[0:v]{TILE}[t];color=black:s=1920x1080:r=25[bg];[bg][t]overlay={x}:{y}"
            _ffmpeg("-i", clip, "-filter_complex", f"{canvas}:shortest=1[v]", "-map", "[v]",
                    "-t", seconds, *ENCODE, str(alone))  # fmt: skip
        rows.append({"grid": name, "tile": index, "video": str(alone), "source": clip})
    return rows


def verdict(reports: Path, video: str) -> tuple[str, int]:
    report = json.loads((reports / f"{Path(video).stem}.report.json").read_text())
    return report["verdict"]["label"], len(report["tracks"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("evaluation", type=Path, help="an evaluate run's evaluation.json")
    parser.add_argument("out", type=Path)
    parser.add_argument("--grids", type=int, default=41, help="how many grids (4 clips each)")
    parser.add_argument("--model", help="a model spec (default: the shipped model)")
    args = parser.parse_args(argv)
    reals = held_out_reals(args.evaluation)
    if len(reals) < 4 * args.grids:
        parser.error(f"{len(reals)} held-out real videos make {len(reals) // 4} grids at most")
    media, reports = args.out / "media", args.out / "reports"
    media.mkdir(parents=True, exist_ok=True)
    plan = [row for g in range(args.grids)
            for row in make_grid(f"grid{g:02d}", reals[4 * g:4 * g + 4], media)]  # fmt: skip
    command = [sys.executable, "-m", "deepfake_analyzer", "analyze", str(media), "-o",
               str(reports), "--format", "json", "--quiet"]  # fmt: skip
    if args.model:
        command += ["--model", args.model]
    if any(not (reports / f"{Path(str(r['video'])).stem}.report.json").exists() for r in plan):
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    grids = [verdict(reports, str(r["video"])) for r in plan if r["tile"] is None]
    tiles = [verdict(reports, str(r["video"])) for r in plan if r["tile"] is not None]

    def share(rows: list[tuple[str, int]], labels: tuple[str, ...]) -> float:
        return float(np.mean([label in labels for label, _ in rows]))

    summary = {
        "grids": len(grids),
        "grid_tracks_mean": float(np.mean([tracks for _, tracks in grids])),
        "grids_at_fake": share(grids, ("fake",)),
        "grids_at_suspicious_or_fake": share(grids, ("suspicious", "fake")),
        "tiles_alone": len(tiles),
        "tiles_at_fake": share(tiles, ("fake",)),
        "tiles_at_suspicious_or_fake": share(tiles, ("suspicious", "fake")),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"{len(grids)} grids of 4 held-out real clips ({summary['grid_tracks_mean']:.1f} tracks "
        f"each on average): {summary['grids_at_fake']:.1%} at fake, "
        f"{summary['grids_at_suspicious_or_fake']:.1%} suspicious or fake; the same "
        f"{len(tiles)} clips alone: {summary['tiles_at_fake']:.1%} at fake, "
        f"{summary['tiles_at_suspicious_or_fake']:.1%} suspicious or fake"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
