"""The batch runner on the local engine: reports, summary, failures per clip, resuming."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from batch_fakes import FAST_OPTIONS, FakeAnalyzerFactory

from deepfake_analyzer.batch.engine import EngineOptions, create_engine
from deepfake_analyzer.batch.jobs import ClipJob, ClipWorker
from deepfake_analyzer.batch.runner import run_batch
from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import Event, FileFinished


def _summary(output: Path) -> list[dict[str, str]]:
    with open(output / "batch-summary.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_batch_writes_reports_and_a_summary_with_failures_per_clip(
    clip_folder: Path, broken_clip: Path, tmp_path: Path, fake_factory: FakeAnalyzerFactory
) -> None:
    output = tmp_path / "out"
    events: list[Event] = []
    result = run_batch(
        [clip_folder, broken_clip, tmp_path / "missing.mp4"],
        output,
        create_engine("local"),
        fake_factory,
        formats=("json", "html"),
        progress=events.append,
    )
    assert (result.analyzed, result.resumed, result.failed) == (3, 0, 2)
    for stem in ("a", "b", "c"):
        assert (output / f"{stem}.report.json").is_file()
        assert (output / f"{stem}.report.html").is_file()
    assert not (output / "broken.report.json").exists()
    rows = _summary(output)
    assert [Path(r["path"]).name for r in rows] == [
        "a.mp4",
        "b.mp4",
        "c.mp4",
        "broken.mp4",
        "missing.mp4",
    ]
    assert [r["verdict"] for r in rows[:3]] != ["error"] * 3
    assert all(r["error"] == "" for r in rows[:3])
    assert rows[3]["verdict"] == "error" and rows[3]["error"]
    assert rows[4]["verdict"] == "error" and "does not exist" in rows[4]["error"]
    assert json.loads((output / "batch-summary.json").read_text())[0]["path"] == rows[0]["path"]
    finished = [e for e in events if isinstance(e, FileFinished)]
    assert [e.done for e in finished] == [1, 2, 3, 4, 5]
    assert {e.total for e in finished} == {5}


@pytest.mark.slow
def test_second_run_skips_clips_with_valid_reports_and_retries_the_rest(
    clip_folder: Path, tmp_path: Path, fake_factory: FakeAnalyzerFactory
) -> None:
    output = tmp_path / "out"
    engine = create_engine("local")
    first = run_batch([clip_folder], output, engine, fake_factory, formats=("json",))
    assert first.analyzed == 3

    second = run_batch([clip_folder], output, engine, fake_factory, formats=("json",))
    assert (second.analyzed, second.resumed) == (0, 3)
    assert [r.verdict for r in second.rows] == [r.verdict for r in first.rows]

    (output / "b.report.json").write_text('{"truncated": ')  # a half-written report
    third = run_batch([clip_folder], output, engine, fake_factory, formats=("json",))
    assert (third.analyzed, third.resumed) == (1, 2)
    assert json.loads((output / "b.report.json").read_text())["input"]["path"].endswith("b.mp4")

    other = FakeAnalyzerFactory(FAST_OPTIONS.__class__(fps=1.0, max_frames=4))
    fourth = run_batch([clip_folder], output, engine, other, formats=("json",))
    assert (fourth.analyzed, fourth.resumed) == (3, 0), "other options: analyze again"


@pytest.mark.slow
def test_a_report_format_missing_on_disk_means_analyze_again(
    clip_folder: Path, tmp_path: Path, fake_factory: FakeAnalyzerFactory
) -> None:
    output = tmp_path / "out"
    run_batch([clip_folder], output, create_engine("local"), fake_factory, formats=("json",))
    again = run_batch(
        [clip_folder], output, create_engine("local"), fake_factory, formats=("json", "csv")
    )
    assert again.analyzed == 3


def test_worker_records_unexpected_exceptions_instead_of_raising(
    clip_folder: Path, fake_factory: FakeAnalyzerFactory
) -> None:
    class Exploding:
        def analyze(self, path: str) -> None:
            raise RuntimeError("boom")

        def close(self) -> None:
            pass

    worker = ClipWorker(lambda: Exploding())
    outcome = worker.run(ClipJob(str(clip_folder / "a.mp4"), "a"))
    assert not outcome.ok
    assert "unexpected RuntimeError" in outcome.error and "boom" in outcome.error


def test_engine_registry_and_local_limits() -> None:
    with pytest.raises(UsageError, match="did you mean 'ray'"):
        create_engine("rey")
    with pytest.raises(UsageError, match="engine ray"):
        create_engine("local", EngineOptions(workers=2))
    with pytest.raises(UsageError, match="address is for engine ray"):
        create_engine("local", EngineOptions(address="auto"))
    with pytest.raises(UsageError):
        EngineOptions(workers=0)


@pytest.mark.slow
def test_an_interrupted_batch_still_writes_the_summary_of_what_is_done(
    clip_folder: Path, tmp_path: Path, fake_factory: FakeAnalyzerFactory
) -> None:
    from deepfake_analyzer.batch.local import LocalEngine

    class InterruptedAfterOne(LocalEngine):
        def run(self, jobs, factory):  # type: ignore[no-untyped-def]
            for count, outcome in enumerate(super().run(jobs, factory)):
                if count == 1:
                    raise KeyboardInterrupt
                yield outcome

    output = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_batch([clip_folder], output, InterruptedAfterOne(), fake_factory, formats=("json",))
    assert [Path(r["path"]).name for r in _summary(output)] == ["a.mp4"]
    resumed = run_batch([clip_folder], output, create_engine("local"), fake_factory, ("json",))
    assert (resumed.analyzed, resumed.resumed) == (2, 1)
