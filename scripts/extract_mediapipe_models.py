"""Re-extract the MediaPipe face models from the PyPI wheel, or check the committed ones.

    python scripts/extract_mediapipe_models.py --check    # offline: verify models/ hashes
    python scripts/extract_mediapipe_models.py            # pip download the wheel, extract, verify

The wheel is `mediapipe==0.10.21` for CPython 3.11, manylinux x86_64 (the last release that
bundled model files); it is downloaded with `pip download --no-deps` into a temporary folder
and never installed. A file whose sha256 differs from the table in
`deepfake_analyzer.faces.model_files` is not written. Exit code 0 when every file is good.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from deepfake_analyzer.faces.model_files import MEDIAPIPE_MODEL_FILES, MEDIAPIPE_WHEEL, sha256_of
from deepfake_analyzer.paths import MODELS_DIR

PIP_PLATFORM_ARGS = [
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
    "--platform",
    "manylinux_2_28_x86_64",
]


def check(models_dir: Path) -> list[str]:
    """Problems with the committed files (missing or wrong hash); empty when all are good."""
    problems = []
    for spec in MEDIAPIPE_MODEL_FILES.values():
        path = models_dir / spec.name
        if not path.is_file():
            problems.append(f"{path}: missing")
            continue
        digest = sha256_of(path)
        if digest != spec.sha256:
            problems.append(f"{path}: sha256 {digest} differs from the expected {spec.sha256}")
    return problems


def download_wheel(dest: Path) -> Path:
    """`pip download` the wheel into `dest`; returns its path."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        MEDIAPIPE_WHEEL,
        "--no-deps",
        *PIP_PLATFORM_ARGS,
        "--dest",
        str(dest),
    ]
    subprocess.run(cmd, check=True)
    wheels = sorted(dest.glob("mediapipe-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download produced no mediapipe wheel in {dest}")
    return wheels[0]


def extract(wheel: Path, models_dir: Path) -> list[str]:
    """Write each model whose bytes in the wheel match the expected hash; returns problems."""
    problems = []
    models_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for spec in MEDIAPIPE_MODEL_FILES.values():
            try:
                data = archive.read(spec.wheel_path)
            except KeyError:
                problems.append(f"{wheel.name}: has no {spec.wheel_path}")
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != spec.sha256:
                problems.append(f"{spec.wheel_path}: sha256 {digest} != expected {spec.sha256}")
                continue
            (models_dir / spec.name).write_bytes(data)
            print(f"wrote {models_dir / spec.name} ({len(data)} bytes, sha256 ok)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="only verify the files' hashes (offline)"
    )
    parser.add_argument("--models-dir", type=Path, default=MODELS_DIR, help="default: models/")
    parser.add_argument(
        "--wheel", type=Path, default=None, help="use this downloaded wheel instead of pip"
    )
    args = parser.parse_args(argv)

    if args.check:
        problems = check(args.models_dir)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            wheel = args.wheel or download_wheel(Path(tmp))
            problems = extract(wheel, args.models_dir)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(
            f"all {len(MEDIAPIPE_MODEL_FILES)} MediaPipe model files in {args.models_dir} are good"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
