"""The ray engine on a local Ray (no cluster): same reports and summary as the local engine."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

ray = pytest.importorskip(
    "ray", reason="Ray is not installed: pip install 'deepfake-analyzer[ray]' to run this test"
)

import batch_fakes  # noqa: E402
from batch_fakes import FAST_OPTIONS, FakeAnalyzerFactory  # noqa: E402

from deepfake_analyzer.batch.engine import EngineOptions, create_engine  # noqa: E402
from deepfake_analyzer.batch.runner import run_batch  # noqa: E402
from deepfake_analyzer.errors import ModelError  # noqa: E402
from deepfake_analyzer.options import AnalyzeOptions  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    """A two-CPU Ray on this machine; the test fakes travel to the workers by value."""
    ray.cloudpickle.register_pickle_by_value(batch_fakes)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        object_store_memory=80 * 1024 * 1024,
    )
    yield ray
    ray.shutdown()


def test_ray_engine_matches_local_engine_and_resumes(
    local_ray, clip_folder: Path, broken_clip: Path, tmp_path: Path
) -> None:
    factory = FakeAnalyzerFactory(FAST_OPTIONS)
    local = run_batch(
        [clip_folder, broken_clip], tmp_path / "local", create_engine("local"), factory
    )
    engine = create_engine("ray", EngineOptions(workers=2))
    result = run_batch([clip_folder, broken_clip], tmp_path / "ray", engine, factory)
    assert (result.analyzed, result.failed) == (3, 1)
    assert [(r.path, r.verdict, r.score) for r in result.rows] == [
        (r.path, r.verdict, r.score) for r in local.rows
    ]
    assert len(engine.workers_info) == 2, "one model load per worker"
    assert len({info.name for info in engine.workers_info}) == 2
    with open(tmp_path / "ray" / "batch-summary.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[-1]["verdict"] == "error" and rows[-1]["error"]

    again = run_batch([clip_folder, broken_clip], tmp_path / "ray", engine, factory)
    assert (again.analyzed, again.resumed, again.failed) == (0, 3, 1)


def test_a_model_that_cannot_load_stops_the_batch_before_any_clip(
    local_ray, clip_folder: Path, tmp_path: Path
) -> None:
    from deepfake_analyzer.batch.jobs import AnalyzerFactory

    factory = AnalyzerFactory(AnalyzeOptions(model_path=str(tmp_path / "no-such.keras")))
    engine = create_engine("ray", EngineOptions(workers=1))
    with pytest.raises(ModelError, match="could not start.*not found"):
        run_batch([clip_folder], tmp_path / "out", engine, factory)
    assert not (tmp_path / "out" / "a.report.json").exists()
