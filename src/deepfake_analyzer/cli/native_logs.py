"""Keeps native libraries' log spam (TensorFlow, MediaPipe, LiteRT) off the user's terminal.

Those libraries write straight to file descriptor 2 from C++, where Python cannot filter them.
`native_stderr_silenced` points fd 2 at /dev/null and gives Python's `sys.stderr` a private
copy of the real stderr, so our own messages and the dashboard still show. `--debug` skips it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced(enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "3")
    try:
        sys.stderr.flush()
        if sys.stderr.fileno() != 2:
            raise ValueError("stderr is redirected in Python: nothing to protect")
        saved_fd = os.dup(2)
    except (OSError, ValueError):  # captured (tests) or closed stderr
        yield
        return
    original_stderr = sys.stderr
    devnull = os.open(os.devnull, os.O_WRONLY)
    private = os.fdopen(saved_fd, "w", buffering=1, encoding="utf-8", errors="replace")
    try:
        os.dup2(devnull, 2)
        sys.stderr = private
        yield
    finally:
        private.flush()
        sys.stderr = original_stderr
        os.dup2(saved_fd, 2)
        os.close(devnull)
        private.close()
