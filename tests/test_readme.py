"""The README's Python examples run as written, from the checkout, on the bundled sample media."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from deepfake_analyzer.paths import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks() -> list[str]:
    return PYTHON_BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_python_examples() -> None:
    assert python_blocks(), "the README's API section shows Python code"


@pytest.mark.real_models
@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_python_block_runs(index: int) -> None:
    code = python_blocks()[index]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, f"README block {index} failed:\n{code}\n{result.stderr}"
    assert result.stdout.strip(), "the example prints its result"
    assert "XNNPACK" not in result.stderr and "INFO:" not in result.stderr, "native log spam"
