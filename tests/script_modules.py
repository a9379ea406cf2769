"""Importing one of `scripts/` as a module, once per test session (tests)."""

from __future__ import annotations

import functools
import importlib.util
import sys
from types import ModuleType

from deepfake_analyzer.paths import PROJECT_ROOT


@functools.cache
def script_module(name: str) -> ModuleType:
    """`scripts/<name>.py`, imported as it runs: registered in sys.modules (its dataclasses
    look their module up there), with `scripts/` on the path (scripts import each other)."""
    folder = str(PROJECT_ROOT / "scripts")
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
