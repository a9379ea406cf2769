"""The README's Python examples run as written, from the checkout, on the bundled sample media."""

from __future__ import annotations

import argparse
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


@pytest.mark.slow
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


SHOWN_VALUE = re.compile(r"\[(--[a-z-]+) ([^\]\s|]+)\]")
"""`[--minutes 125]`: a flag shown with a literal value (placeholders like `DIR` are upper case)."""


def subparsers() -> dict[str, argparse.ArgumentParser]:
    from deepfake_analyzer.cli.main import build_parser

    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_readme_commands_show_the_real_defaults() -> None:
    """A value shown in brackets in a usage line is that flag's default (not one recipe's)."""
    commands = subparsers()
    checked = 0
    for line in README.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if len(words) < 2 or words[0] != "deepfake-analyzer" or words[1] not in commands:
            continue
        defaults = {
            flag: action.default
            for action in commands[words[1]]._actions
            for flag in action.option_strings
        }
        for flag, shown in SHOWN_VALUE.findall(line):
            if shown.isupper():
                continue
            assert flag in defaults, f"README shows {flag}, which {words[1]} lacks"
            assert str(defaults[flag]) == shown, f"{words[1]} {flag}: README {shown}"
            checked += 1
    assert checked, "the README shows some defaults"


def test_readme_names_each_commands_default_output_folder() -> None:
    from deepfake_analyzer.cli import analyze, batch

    text = README.read_text(encoding="utf-8")
    for folder in (analyze.DEFAULT_OUTPUT_DIR, batch.DEFAULT_OUTPUT_DIR):
        assert f"./{folder}" in text, folder
