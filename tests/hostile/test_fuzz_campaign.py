"""A short, seeded run of the mutation fuzzer (`benchmarks/fuzz_media.py`): no crash, hang,
traceback or memory blow-up. Set DEEPFAKE_ANALYZER_FUZZ_SECONDS for a longer campaign."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FUZZER = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_media.py"
SECONDS = os.environ.get("DEEPFAKE_ANALYZER_FUZZ_SECONDS", "30")
SEED = os.environ.get("DEEPFAKE_ANALYZER_FUZZ_SEED", "7")


def test_mutated_media_never_crash_hang_or_blow_up(tmp_path: Path) -> None:
    findings = tmp_path / "findings"
    result = subprocess.run(
        [sys.executable, str(FUZZER), "--seconds", SECONDS, "--seed", SEED, "--out", str(findings)],
        capture_output=True, text=True, timeout=float(SECONDS) + 600, check=False,
    )  # fmt: skip
    summary = result.stdout.strip().splitlines()
    assert summary and " inputs in " in summary[-1], result.stdout + result.stderr[-3000:]
    notes = (
        "".join(p.read_text() for p in sorted(findings.glob("*.txt"))) if findings.exists() else ""
    )
    assert result.returncode == 0, f"{summary[-1]}\n{notes[-6000:]}"
