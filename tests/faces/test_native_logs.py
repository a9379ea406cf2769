"""quiet_native_stderr drops what is written to fd 2 inside the block, and only there."""

from __future__ import annotations

import os

from deepfake_analyzer.faces.native_logs import quiet_native_stderr


def test_native_writes_to_fd2_are_dropped_only_inside_the_block(capfd) -> None:
    os.write(2, b"before\n")
    with quiet_native_stderr():
        os.write(2, b"INFO: native noise\n")
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "before\nafter\n"


def test_fd2_is_restored_when_the_block_raises(capfd) -> None:
    try:
        with quiet_native_stderr():
            raise KeyError("boom")
    except KeyError:
        pass
    os.write(2, b"visible\n")
    assert capfd.readouterr().err == "visible\n"
