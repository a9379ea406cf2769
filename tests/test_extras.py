"""Optional dependency groups: a missing one is a one-line usage error naming the extra."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from deepfake_analyzer import extras
from deepfake_analyzer.errors import UsageError

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_every_extra_is_declared_in_pyproject() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    assert set(extras.EXTRAS) <= set(declared)


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extras.EXTRAS, "serve", ("fastapi", "no_such_module_here"))
    with pytest.raises(UsageError, match=r"pip install 'deepfake-analyzer\[serve\]'") as info:
        extras.require_extra("serve", "serve")
    assert "no_such_module_here" in str(info.value) and "\n" not in str(info.value)


def test_an_installed_extra_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extras.EXTRAS, "train", ("json",))
    extras.require_extra("train", "evaluate")
