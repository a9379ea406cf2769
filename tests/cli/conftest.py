"""CLI fixtures: run `deepfake-analyzer` in-process with fake models plugged into the loaders."""

from cli_fakes import run_cli

__all__ = ["run_cli"]  # the shared fixture (tests/cli_fakes.py)
