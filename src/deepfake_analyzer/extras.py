"""The optional dependency groups (`pip install 'deepfake-analyzer[serve]'`) and the one-line
error that names the group when a command needs one that is not installed."""

from __future__ import annotations

import importlib.util

from deepfake_analyzer.errors import UsageError

EXTRAS: dict[str, tuple[str, ...]] = {
    "serve": ("fastapi", "uvicorn", "python_multipart", "psutil"),
    "train": ("matplotlib",),
}
"""Extra name -> the modules it installs (as imported), as `pyproject.toml` declares them."""


def missing_modules(extra: str) -> list[str]:
    """The modules of `extra` that cannot be imported here."""
    return [name for name in EXTRAS[extra] if importlib.util.find_spec(name) is None]


def require_extra(extra: str, command: str) -> None:
    """`UsageError` naming the extra to install when any of its modules is missing."""
    missing = missing_modules(extra)
    if missing:
        raise UsageError(
            f"`{command}` needs the optional '{extra}' dependencies ({', '.join(missing)} not "
            f"installed): pip install 'deepfake-analyzer[{extra}]'"
        )
