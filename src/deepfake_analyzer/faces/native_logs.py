"""Silence native (C++) log lines that MediaPipe and LiteRT write straight to file descriptor 2.

Loading the BlazeFace models prints ~60 INFO/WARNING lines ("Creating LiteRT environment",
"Sparsity tensors may not yet be fully supported", ...) that no environment variable turns
off. `quiet_native_stderr()` points fd 2 at /dev/null for the duration of a model load only;
failures still surface as Python exceptions, which carry the native error message.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Discard what native code writes to fd 2 inside the block (no-op if fd 2 is unusable)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
        finally:
            os.close(devnull)
        yield
    finally:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
