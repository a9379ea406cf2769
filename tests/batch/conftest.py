"""Batch fixtures: a few tiny generated clips, and an analyzer factory with fake models."""

from __future__ import annotations

from pathlib import Path

import media_factory as mf
import pytest
from batch_fakes import FAST_OPTIONS, FakeAnalyzerFactory


@pytest.fixture
def fake_factory() -> FakeAnalyzerFactory:
    return FakeAnalyzerFactory(FAST_OPTIONS)


@pytest.fixture(scope="session")
def clip_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three 1 s 96x64 clips (two in a subfolder) and a text file that is not media."""
    root = tmp_path_factory.mktemp("clips")
    (root / "sub").mkdir()
    mf.make_video(root / "a.mp4", (96, 64), 1.0, 10)
    mf.make_video(root / "sub" / "b.mp4", (96, 64), 1.0, 10)
    mf.make_video(root / "sub" / "c.mp4", (96, 64), 1.0, 10)
    (root / "notes.md").write_text("not media\n")
    return root


@pytest.fixture(scope="session")
def broken_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MP4 with an intact index but no frame data: analysis fails with DecodeError."""
    return mf.make_undecodable_video(tmp_path_factory.mktemp("broken") / "broken.mp4")
